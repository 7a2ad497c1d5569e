"""The authorizer over a caller's limits (on moto): a Deny whose context carries the answer's message
and seconds to wait (API Gateway's ACCESS_DENIED, 429 in template.yaml); and a usage store that
fails lets the request through instead of failing it."""

import copy

import pytest
from moto.dynamodb.models import DynamoDBBackend

from tests.conftest import KEYS, TABLES, Context, load_event
from tests.integration.test_store_unavailable import Throttled
from todo_api import wiring


@pytest.fixture
def limited(aws, monkeypatch):
    monkeypatch.setenv("USAGE_TABLE_NAME", TABLES["UsageTable"])
    monkeypatch.setenv("TENANT_RATE_LIMIT", "1")
    monkeypatch.setenv("TENANT_BURST_LIMIT", "2")
    wiring.reset()
    yield aws
    monkeypatch.undo()
    wiring.reset()


def authorize(functions, key):
    event = copy.deepcopy(load_event("authorizer"))
    event["headers"]["x-api-key"] = key
    return functions["AuthorizerFunction"].lambda_handler(event, Context())


def effect(result):
    [statement] = result["policyDocument"]["Statement"]
    return statement["Effect"]


def test_over_the_burst_the_policy_denies_with_the_message_and_the_wait(limited, functions):
    results = [authorize(functions, KEYS["acme"]) for _ in range(3)]
    assert [effect(r) for r in results] == ["Allow", "Allow", "Deny"]
    assert results[0]["context"] == {"tenant": "acme"}
    assert results[2]["context"] == {"tenant": "acme", "error": "Too many requests", "retryAfter": "1"}
    assert effect(authorize(functions, KEYS["globex"])) == "Allow"  # another tenant: its own budget


def test_a_failing_usage_store_lets_requests_through(limited, functions, monkeypatch):
    def throttled(self, *args, **kwargs):
        raise Throttled()

    monkeypatch.setattr(DynamoDBBackend, "update_item", throttled)
    results = [authorize(functions, KEYS["acme"]) for _ in range(3)]
    assert [effect(r) for r in results] == ["Allow"] * 3
