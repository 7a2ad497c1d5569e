"""Throttling or an unavailable store answers 503 with Retry-After, after botocore's own retries."""

import pytest
from moto.dynamodb.exceptions import DynamodbException
from moto.dynamodb.models import DynamoDBBackend

from tests.conftest import TABLES


class Throttled(DynamodbException):
    def __init__(self) -> None:
        super().__init__("ProvisionedThroughputExceededException", "Rate of requests exceeds the allowed throughput")


@pytest.fixture
def throttle(monkeypatch):
    """Make moto's backend throttle the first `n` calls of an operation (n=None: all of them)."""
    attempts = {"count": 0}

    def install(operation, n=None):
        original = getattr(DynamoDBBackend, operation)

        def flaky(self, *args, **kwargs):
            attempts["count"] += 1
            if n is None or attempts["count"] <= n:
                raise Throttled()
            return original(self, *args, **kwargs)

        monkeypatch.setattr(DynamoDBBackend, operation, flaky)
        return attempts

    return install


@pytest.mark.parametrize(
    ("method", "operation", "body"),
    [("POST", "transact_write_items", {"title": "x"}), ("GET", "get_item", None), ("GET", "query", None)],
)
def test_persistent_throttling_is_503_with_retry_after(api, aws, throttle, method, operation, body):
    path = "/todos" if operation != "get_item" else "/todos/01JD7Z6ZQ4N8Y3T5V2W9X0ABCD"
    attempts = throttle(operation)
    reply = api(method, path, body)
    assert reply.status == 503
    assert reply.headers["Retry-After"] == "1"
    assert "error" in reply.body
    assert attempts["count"] == 3  # three attempts: botocore retried twice
    throttle_free = [i for i in aws.scan(TableName=TABLES["TodoTable"])["Items"] if i["entity"]["S"] == "todo"]
    assert throttle_free == []


def test_transient_throttling_succeeds_with_one_item(api, aws, throttle):
    attempts = throttle("transact_write_items", n=2)
    reply = api("POST", "/todos", {"title": "x"})
    assert reply.status == 201
    assert attempts["count"] == 3
    todos = [i for i in aws.scan(TableName=TABLES["TodoTable"])["Items"] if i["entity"]["S"] == "todo"]
    assert len(todos) == 1
