"""Faults injected into moto's DynamoDB backend, below boto3, so that botocore's real retries run
(as in tests/integration/test_store_unavailable.py).

- transient throttling or 500s: the request succeeds after retries, with exactly one change;
- persistent faults: 503 with Retry-After, and nothing written (every route);
- an ambiguous timeout on create (the write landed, its response was lost, the retry meets its
  own `attribute_not_exists` condition): 201 with the todo and exactly one item, with and without
  an Idempotency-Key (then the write is one transaction of the todo and the key's claim);
- a crash matrix for the Idempotency-Key: whatever step fails, a retry answers the first todo and
  exactly one exists.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.retries.standard import ExponentialBackoff
from moto.dynamodb.exceptions import DynamodbException
from moto.dynamodb.models import DynamoDBBackend

from tests.conftest import TABLES

ATTEMPTS = 3  # clients.BOTO_CONFIG: standard retry mode, three attempts in all


class Throttled(DynamodbException):
    def __init__(self) -> None:
        super().__init__("ProvisionedThroughputExceededException", "Rate of requests exceeds the allowed throughput")


class ServerError(DynamodbException):
    code = 500

    def __init__(self) -> None:
        super().__init__("InternalServerError", "Internal server error")


FAULTS: dict[str, Callable[[], DynamodbException]] = {"throttling": Throttled, "500": ServerError}


class Faults:
    """Patches one operation of moto's backend on one table (other tables pass through)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self._monkeypatch = monkeypatch
        self.calls = 0
        self.faults = 0

    def install(
        self,
        operation: str,
        fault: Callable[[], Exception],
        *,
        failing: int | None = None,
        table: str = TABLES["TodoTable"],
        after_write: bool = False,
    ) -> Faults:
        """The first `failing` calls (None: all) fail; `after_write`: they fail after the write landed."""
        original = getattr(DynamoDBBackend, operation)

        def faulty(backend: Any, *args: Any, **kwargs: Any) -> Any:
            # A transaction spans tables and has no table argument: it is always the one faulted.
            if operation != "transact_write_items" and args[0] != table:
                return original(backend, *args, **kwargs)
            self.calls += 1
            if failing is None or self.calls <= failing:
                self.faults += 1
                if after_write:
                    original(backend, *args, **kwargs)
                raise fault()
            return original(backend, *args, **kwargs)

        self._monkeypatch.setattr(DynamoDBBackend, operation, faulty)
        return self


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """botocore decides every retry as usual; only its backoff sleeps are cut to zero (they are random)."""
    delays: list[float] = []
    original = ExponentialBackoff.delay_amount

    def instant(self: ExponentialBackoff, context: Any) -> float:
        delays.append(original(self, context))
        return 0.0

    monkeypatch.setattr(ExponentialBackoff, "delay_amount", instant)
    return delays


@pytest.fixture
def faults(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Faults]:
    return lambda *args, **kwargs: Faults(monkeypatch).install(*args, **kwargs)


def todo_items(aws: Any) -> list[dict[str, Any]]:
    return [i for i in aws.scan(TableName=TABLES["TodoTable"])["Items"] if i["entity"]["S"] == "todo"]


def snapshot(aws: Any) -> list[str]:
    return sorted(
        json.dumps(item, sort_keys=True) for table in TABLES.values() for item in aws.scan(TableName=table)["Items"]
    )


# Each route: (method, path template, body, moto operation it needs, success status).
ROUTES = {
    "create": ("POST", "/todos", {"title": "new"}, "transact_write_items", 201),  # the todo and its count
    "get": ("GET", "/todos/{id}", None, "get_item", 200),
    "list": ("GET", "/todos", None, "query", 200),
    "update": ("PATCH", "/todos/{id}", {"completed": True}, "update_item", 200),
    "put": ("PUT", "/todos/{id}", {"title": "renamed"}, "update_item", 200),
    "delete": ("DELETE", "/todos/{id}", None, "transact_write_items", 200),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
@pytest.mark.parametrize("route", sorted(ROUTES))
def test_transient_fault_succeeds_after_retries_with_one_change(
    api, aws, faults, no_backoff, figures, route, fault
) -> None:
    existing = api("POST", "/todos", {"title": "existing"}).body
    method, path, body, operation, status = ROUTES[route]
    injected = faults(operation, FAULTS[fault], failing=ATTEMPTS - 1)
    reply = api(method, path.format(id=existing["id"]), body)
    assert reply.status == status, reply.body
    assert injected.calls == ATTEMPTS  # two faults, then the success, all inside one request
    assert len(no_backoff) == ATTEMPTS - 1  # botocore itself decided both retries
    items = todo_items(aws)
    if route == "create":
        assert len(items) == 2
        assert reply.body["version"] == 1
    elif route == "delete":
        assert items == []
    else:
        assert len(items) == 1
        assert int(items[0]["version"]["N"]) == (1 if method == "GET" else 2)  # one change, not two
    figures(f"{route} after {ATTEMPTS - 1} {fault} faults", f"{reply.status}, {len(items)} todo items")


@pytest.mark.parametrize("fault", sorted(FAULTS))
@pytest.mark.parametrize("route", sorted(ROUTES))
def test_persistent_fault_is_503_and_writes_nothing(api, aws, faults, figures, route, fault) -> None:
    existing = api("POST", "/todos", {"title": "existing"}).body
    method, path, body, operation, _ = ROUTES[route]
    before = snapshot(aws)
    injected = faults(operation, FAULTS[fault])
    reply = api(method, path.format(id=existing["id"]), body)
    assert reply.status == 503, reply.body
    assert reply.headers["Retry-After"] == "1"
    assert isinstance(reply.body["error"], str)
    assert injected.calls == ATTEMPTS
    written = len(set(snapshot(aws)) ^ set(before))
    figures(f"{route} under persistent {fault}", f"{reply.status}, items written: {written}")
    assert written == 0


def test_persistent_fault_on_create_with_idempotency_key_writes_nothing(api, aws, faults, figures) -> None:
    before = snapshot(aws)
    injected = faults("transact_write_items", ServerError)
    reply = api("POST", "/todos", {"title": "x"}, headers={"Idempotency-Key": "k-503"})
    assert reply.status == 503, reply.body
    assert reply.headers["Retry-After"] == "1"
    assert injected.calls == ATTEMPTS
    written = len(set(snapshot(aws)) ^ set(before))
    figures("create with Idempotency-Key under persistent 500", f"{reply.status}, items written: {written}")
    assert written == 0


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_ambiguous_timeout_on_create_is_201_with_one_item(api, aws, faults, figures, fault) -> None:
    injected = faults("transact_write_items", FAULTS[fault], failing=1, after_write=True)
    reply = api("POST", "/todos", {"title": "landed once"})
    assert reply.status == 201, reply.body
    assert injected.calls == 2  # the write that landed, then the retry that met its own item
    items = todo_items(aws)
    assert len(items) == 1
    assert items[0]["id"]["S"] == reply.body["id"]
    assert reply.body["title"] == "landed once"
    assert reply.headers["Location"] == f"/dev/todos/{reply.body['id']}"  # the sample event is a stage URL
    figures(f"ambiguous {fault} on create", f"{reply.status}, {len(items)} todo item")


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_ambiguous_timeout_on_the_transaction_is_201_with_one_todo(api, aws, faults, figures, fault) -> None:
    """The todo and its claim landed, the answer was lost; botocore's retry meets the claim of its
    own first attempt (same fingerprint) and answers its todo."""
    injected = faults("transact_write_items", FAULTS[fault], failing=1, after_write=True)
    reply = api("POST", "/todos", {"title": "landed once"}, headers={"Idempotency-Key": "k-record"})
    assert injected.faults == 1
    assert reply.status == 201, reply.body
    assert [i["id"]["S"] for i in todo_items(aws)] == [reply.body["id"]]
    again = api("POST", "/todos", {"title": "landed once"}, headers={"Idempotency-Key": "k-record"})
    assert (again.status, again.body) == (201, reply.body)
    assert len(todo_items(aws)) == 1
    figures(f"ambiguous {fault} on the create transaction", f"{reply.status}, replay {again.status}, 1 todo item")


class Crash(Exception):
    """The function's process dies here (nothing after this point runs, no answer is sent)."""


# Each step of a create with an Idempotency-Key, and where the fault strikes (botocore's events).
CRASH_STEPS = {
    "before the transaction is sent": "before-send.dynamodb.TransactWriteItems",
    "after it committed, before the function answers": "after-call.dynamodb.TransactWriteItems",
}


@pytest.mark.parametrize("step", sorted(CRASH_STEPS))
def test_crash_at_each_step_then_retry_leaves_exactly_one_todo(api, aws, step, figures) -> None:
    from todo_api import wiring

    events = wiring.dynamodb().meta.events

    def crash(**_: Any) -> None:
        raise Crash(step)

    events.register(CRASH_STEPS[step], crash, unique_id="crash")
    with pytest.raises(Crash):
        api("POST", "/todos", {"title": "once"}, headers={"Idempotency-Key": "k-crash"})
    events.unregister(CRASH_STEPS[step], unique_id="crash")
    landed = [i["id"]["S"] for i in todo_items(aws)]
    assert len(landed) == (0 if step.startswith("before") else 1)
    retry = api("POST", "/todos", {"title": "once"}, headers={"Idempotency-Key": "k-crash"})
    assert retry.status == 201, retry.body
    assert [i["id"]["S"] for i in todo_items(aws)] == (landed or [retry.body["id"]])
    again = api("POST", "/todos", {"title": "once"}, headers={"Idempotency-Key": "k-crash"})
    assert (again.status, again.body) == (201, retry.body)
    figures(f"crash {step}", f"retry {retry.status}, {len(todo_items(aws))} todo item")


def test_idempotency_key_replays_after_transient_faults(api, aws, faults, figures) -> None:
    faults("transact_write_items", Throttled, failing=ATTEMPTS - 1)
    first = api("POST", "/todos", {"title": "once"}, headers={"Idempotency-Key": "k-retry"})
    second = api("POST", "/todos", {"title": "once"}, headers={"Idempotency-Key": "k-retry"})
    other = api("POST", "/todos", {"title": "another"}, headers={"Idempotency-Key": "k-retry"})
    assert first.status == 201
    assert second.status == 201
    assert second.body == first.body
    assert other.status == 422
    assert isinstance(other.body["error"], str)
    assert [i["id"]["S"] for i in todo_items(aws)] == [first.body["id"]]
    figures("Idempotency-Key after throttling", f"{first.status}/{second.status}/{other.status}, 1 todo item")


def test_ambiguous_timeout_on_update_changes_once(api, aws, faults, figures) -> None:
    """The update landed, its answer was lost; botocore's retry meets the item holding its own
    request token and answers it, instead of applying the change twice."""
    todo = api("POST", "/todos", {"title": "v1"}).body
    injected = faults("update_item", ServerError, failing=1, after_write=True)
    reply = api("PATCH", f"/todos/{todo['id']}", {"title": "v2"})
    assert injected.faults == 1
    assert reply.status == 200, reply.body
    assert (reply.body["title"], reply.body["version"]) == ("v2", 2)
    [item] = todo_items(aws)
    assert int(item["version"]["N"]) == 2
    figures("ambiguous 500 on update", f"{reply.status}, version {item['version']['N']}")


def test_ambiguous_timeout_on_delete_is_200(api, aws, faults, figures) -> None:
    """The delete transaction landed, its answer was lost; botocore's retry carries the same
    ClientRequestToken, which DynamoDB answers as the first attempt (not as a 404)."""
    todo = api("POST", "/todos", {"title": "gone"}).body
    injected = faults("transact_write_items", ServerError, failing=1, after_write=True)
    reply = api("DELETE", f"/todos/{todo['id']}")
    assert injected.faults == 1
    assert reply.status == 200, reply.body
    assert todo_items(aws) == []
    figures("ambiguous 500 on delete", f"{reply.status}, 0 todo items")
