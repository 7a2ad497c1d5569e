"""The todo store's requests to DynamoDB for an idempotent create and a tombstone's look-up, written
out by hand and checked by botocore's Stubber against the service model; and its answers to the
cancelled transactions DynamoDB sends back."""

import hashlib
from types import SimpleNamespace

import pytest
from botocore.exceptions import ClientError

from todo_api.adapters import todo_store
from todo_api.adapters.todo_store import DynamoDBTodoStore
from todo_api.domain.errors import (
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    StoreUnavailable,
    TodoCapReached,
    TodoNotFound,
    VersionConflict,
)
from todo_api.domain.models import Todo

TODO_ID = "01JD7Z6ZQ4N8Y3T5V2W9X0ABCD"
TODO = Todo(
    id=TODO_ID,
    title="Read",
    completed=False,
    created_at="2026-11-27T10:15:00.123Z",
    updated_at="2026-11-27T10:15:00.123Z",
    version=1,
)
TODO_JSON = (
    '{"id":"01JD7Z6ZQ4N8Y3T5V2W9X0ABCD","title":"Read","completed":false,'
    '"created_at":"2026-11-27T10:15:00.123Z","updated_at":"2026-11-27T10:15:00.123Z","version":1}'
)
CLAIM_ID = "acme#" + hashlib.sha256(b"key-1").hexdigest()
NOW = 1_800_000_000


@pytest.fixture
def ddb(stubbed, monkeypatch):
    monkeypatch.setattr(todo_store, "time", SimpleNamespace(time=lambda: NOW + 0.75))
    client, stubber = stubbed("dynamodb")
    return DynamoDBTodoStore(client, "todos", "claims", 3600, CAP), stubber


CAP = 5
COUNTER_KEY = {"PK": {"S": "TENANT#acme"}, "SK": {"S": "COUNTER#todos"}}


def count(step, cap=None):
    """The transaction's item that counts the tenant's todos (`cap`: a create's condition)."""
    update = {
        "TableName": "todos",
        "Key": COUNTER_KEY,
        "UpdateExpression": "SET #e = :e, #t = :t ADD #n :step",
        "ExpressionAttributeNames": {"#e": "entity", "#t": "tenant", "#n": "todos"},
        "ExpressionAttributeValues": {":e": {"S": "counter"}, ":t": {"S": "acme"}, ":step": {"N": str(step)}},
    }
    if cap is not None:
        update["ConditionExpression"] = "attribute_not_exists(#n) OR #n < :cap"
        update["ExpressionAttributeValues"][":cap"] = {"N": str(cap)}
    return {"Update": update}


def test_an_idempotent_create_puts_the_todo_and_the_keys_claim_in_one_transaction(ddb):
    store, stubber = ddb
    todo_item = {
        "PK": {"S": "TENANT#acme"},
        "SK": {"S": f"TODO#{TODO_ID}"},
        "LSI1SK": {"S": f"C#0#{TODO_ID}"},
        "entity": {"S": "todo"},
        "tenant": {"S": "acme"},
        "id": {"S": TODO_ID},
        "title": {"S": "Read"},
        "completed": {"BOOL": False},
        "created_at": {"S": "2026-11-27T10:15:00.123Z"},
        "updated_at": {"S": "2026-11-27T10:15:00.123Z"},
        "version": {"N": "1"},
    }
    claim = {
        "id": {"S": CLAIM_ID},
        "tenant": {"S": "acme"},
        "todo_id": {"S": TODO_ID},
        "fingerprint": {"S": "fp-1"},
        "response": {"S": TODO_JSON},
        "expiration": {"N": "1800003600"},
    }
    request = {
        "TransactItems": [
            {"Put": {"TableName": "todos", "Item": todo_item, "ConditionExpression": "attribute_not_exists(PK)"}},
            {
                "Put": {
                    "TableName": "claims",
                    "Item": claim,
                    "ConditionExpression": "attribute_not_exists(id) OR expiration < :now",
                    "ExpressionAttributeValues": {":now": {"N": "1800000000"}},
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            count(+1, CAP),
        ]
    }
    stubber.add_response("transact_write_items", {}, request)
    assert store.create_once("acme", TODO, "key-1", "fp-1") == TODO


def test_without_an_idempotency_table_a_keyed_create_fails_naming_the_setting(stubbed):
    client, _ = stubbed("dynamodb")
    with pytest.raises(RuntimeError) as raised:
        DynamoDBTodoStore(client, "todos").create_once("acme", TODO, "key-1", "fp-1")
    assert str(raised.value) == "IDEMPOTENCY_TABLE_NAME is not set"


def cancelled(stubber, *reasons):
    stubber.add_client_error(
        "transact_write_items",
        "TransactionCanceledException",
        "Transaction cancelled",
        modeled_fields={"CancellationReasons": list(reasons)},
    )


CLAIM_GET = {"TableName": "claims", "Key": {"id": {"S": CLAIM_ID}}, "ConsistentRead": True}


@pytest.mark.parametrize(("fingerprint", "outcome"), [("fp-1", TODO), ("fp-2", IdempotencyKeyReused)])
def test_a_claim_that_failed_without_its_item_is_read_again(ddb, fingerprint, outcome):
    store, stubber = ddb
    cancelled(stubber, {"Code": "None"}, {"Code": "ConditionalCheckFailed"}, {"Code": "None"})
    earlier = {"id": {"S": CLAIM_ID}, "fingerprint": {"S": "fp-1"}, "response": {"S": TODO_JSON}}
    stubber.add_response("get_item", {"Item": earlier}, CLAIM_GET)
    if outcome is TODO:
        assert store.create_once("acme", TODO, "key-1", fingerprint) == TODO
    else:
        with pytest.raises(IdempotencyKeyReused):
            store.create_once("acme", TODO, "key-1", fingerprint)


def test_a_claim_that_expired_and_vanished_meanwhile_is_in_use(ddb):
    store, stubber = ddb
    cancelled(stubber, {"Code": "None"}, {"Code": "ConditionalCheckFailed"}, {"Code": "None"})
    stubber.add_response("get_item", {}, CLAIM_GET)
    with pytest.raises(IdempotencyKeyInUse):
        store.create_once("acme", TODO, "key-1", "fp-1")


def test_a_claim_written_by_a_concurrent_transaction_is_in_use(ddb):
    store, stubber = ddb
    cancelled(stubber, {"Code": "None"}, {"Code": "TransactionConflict"}, {"Code": "None"})
    with pytest.raises(IdempotencyKeyInUse):
        store.create_once("acme", TODO, "key-1", "fp-1")


def test_a_todo_id_taken_with_a_free_claim_is_the_tables_error(ddb):
    store, stubber = ddb
    cancelled(stubber, {"Code": "ConditionalCheckFailed"}, {"Code": "None"}, {"Code": "None"})
    with pytest.raises(ClientError) as raised:
        store.create_once("acme", TODO, "key-1", "fp-1")
    assert raised.value.response["Error"]["Code"] == "TransactionCanceledException"


TOMBSTONE_GET = {
    "TableName": "todos",
    "Key": {"PK": {"S": "TENANT#acme"}, "SK": {"S": f"DELETED#{TODO_ID}"}},
    "ConsistentRead": True,
}


def test_when_a_todo_was_deleted_is_read_from_its_tombstone(ddb):
    store, stubber = ddb
    tombstone = {**TOMBSTONE_GET["Key"], "deleted_at": {"S": "2026-11-27T10:17:00.789Z"}}
    stubber.add_response("get_item", {"Item": tombstone}, TOMBSTONE_GET)
    stubber.add_response("get_item", {}, TOMBSTONE_GET)
    assert store.deleted_at("acme", TODO_ID) == "2026-11-27T10:17:00.789Z"
    assert store.deleted_at("acme", TODO_ID) is None


def test_a_failed_claim_answers_with_its_item_and_needs_no_read(ddb):
    store, stubber = ddb
    earlier = {"id": {"S": CLAIM_ID}, "fingerprint": {"S": "fp-1"}, "response": {"S": TODO_JSON}}
    cancelled(stubber, {"Code": "None"}, {"Code": "ConditionalCheckFailed", "Item": earlier}, {"Code": "None"})
    assert store.create_once("acme", TODO, "key-1", "fp-1") == TODO  # the Stubber queued no get_item


KEY = {"PK": {"S": "TENANT#acme"}, "SK": {"S": f"TODO#{TODO_ID}"}}


@pytest.fixture
def token(monkeypatch):
    monkeypatch.setattr(todo_store, "uuid", SimpleNamespace(uuid4=lambda: SimpleNamespace(hex="token-1")))
    return "token-1"


def test_a_todo_is_read_consistently_by_its_key(ddb):
    store, stubber = ddb
    stubber.add_response("get_item", {}, {"TableName": "todos", "Key": KEY, "ConsistentRead": True})
    with pytest.raises(TodoNotFound):
        store.get("acme", TODO_ID)


def test_a_page_of_completed_todos_is_one_consistent_query_of_the_index(ddb):
    store, stubber = ddb
    request = {
        "TableName": "todos",
        "Limit": 3,
        "ConsistentRead": True,
        "IndexName": "ByCompleted",
        "KeyConditionExpression": "PK = :pk AND begins_with(LSI1SK, :prefix)",
        "ExpressionAttributeValues": {":pk": {"S": "TENANT#acme"}, ":prefix": {"S": "C#1#"}},
        "ExclusiveStartKey": {**KEY, "LSI1SK": {"S": f"C#1#{TODO_ID}"}},
    }
    stubber.add_response("query", {}, request)
    assert store.list("acme", 2, TODO_ID, True) == ([], None)  # an answer without Items is an empty page


def test_an_update_is_one_conditional_call_carrying_its_request_token(ddb, token):
    store, stubber = ddb
    updated = {
        **KEY,
        "id": {"S": TODO_ID},
        "title": {"S": "Read"},
        "completed": {"BOOL": True},
        "created_at": {"S": "2026-11-27T10:15:00.123Z"},
        "updated_at": {"S": "2026-11-27T10:16:00.456Z"},
        "version": {"N": "2"},
    }
    request = {
        "TableName": "todos",
        "Key": KEY,
        "UpdateExpression": "SET #u = :u, #v = #v + :one, #r = :r, #c = :c, LSI1SK = :lsi",
        "ConditionExpression": "attribute_exists(PK) AND (attribute_not_exists(#r) OR #r <> :r) AND #v IN (:e0)",
        "ExpressionAttributeNames": {"#v": "version", "#u": "updated_at", "#r": "request", "#c": "completed"},
        "ExpressionAttributeValues": {
            ":one": {"N": "1"},
            ":u": {"S": "2026-11-27T10:16:00.456Z"},
            ":r": {"S": token},
            ":c": {"BOOL": True},
            ":lsi": {"S": f"C#1#{TODO_ID}"},
            ":e0": {"N": "1"},
        },
        "ReturnValues": "ALL_NEW",
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    stubber.add_response("update_item", {"Attributes": updated}, request)
    new = store.update("acme", TODO_ID, {"completed": True}, "2026-11-27T10:16:00.456Z", frozenset({1}))
    assert (new.completed, new.version) == (True, 2)


def delete_request(token):
    tombstone = {
        "request": {"S": token},
        "PK": {"S": "TENANT#acme"},
        "SK": {"S": f"DELETED#{TODO_ID}"},
        "entity": {"S": "tombstone"},
        "deleted_at": {"S": "2026-11-27T10:17:00.789Z"},
        "expires_at": {"N": str(NOW + 2 * 86400)},  # two days: longer than the stream keeps a record
    }
    return {
        "TransactItems": [
            {
                "Delete": {
                    "TableName": "todos",
                    "Key": KEY,
                    "ConditionExpression": "attribute_exists(PK)",
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            {
                "Put": {
                    "TableName": "todos",
                    "Item": tombstone,
                    "ConditionExpression": "attribute_not_exists(PK) OR #r <> :r",
                    "ExpressionAttributeNames": {"#r": "request"},
                    "ExpressionAttributeValues": {":r": {"S": token}},
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            count(-1),
        ]
    }


def test_a_delete_is_one_transaction_with_its_tombstone(ddb, token):
    store, stubber = ddb
    stubber.add_response("transact_write_items", {}, delete_request(token))
    assert store.delete("acme", TODO_ID, None, "2026-11-27T10:17:00.789Z") is None


@pytest.mark.parametrize(
    ("reasons", "outcome"),
    [
        # botocore's retry of a delete whose first attempt landed: the tombstone holds this call's token
        (
            [
                {"Code": "ConditionalCheckFailed"},
                {"Code": "ConditionalCheckFailed", "Item": {"request": {"S": "token-1"}}},
                {"Code": "None"},
            ],
            None,
        ),
        # another call's tombstone: the todo is gone
        (
            [
                {"Code": "ConditionalCheckFailed"},
                {"Code": "ConditionalCheckFailed", "Item": {"request": {"S": "other"}}},
                {"Code": "None"},
            ],
            TodoNotFound,
        ),
        ([{"Code": "None"}, {"Code": "TransactionConflict"}, {"Code": "None"}], StoreUnavailable),
        ([{"Code": "ThrottlingError"}, {"Code": "None"}, {"Code": "None"}], StoreUnavailable),
        ([{"Code": "ConditionalCheckFailed", "Item": KEY}, {"Code": "None"}, {"Code": "None"}], VersionConflict),
        ([{"Code": "ConditionalCheckFailed"}, {"Code": "None"}, {"Code": "None"}], TodoNotFound),
        ([{"Code": "ValidationError"}, {"Code": "None"}, {"Code": "None"}], ClientError),
    ],
)
def test_a_cancelled_delete_answers_by_its_reasons(ddb, token, reasons, outcome):
    store, stubber = ddb
    cancelled(stubber, *reasons)
    if outcome is None:
        assert store.delete("acme", TODO_ID, None, "2026-11-27T10:17:00.789Z") is None
    else:
        with pytest.raises(outcome):
            store.delete("acme", TODO_ID, None, "2026-11-27T10:17:00.789Z")


def create_request():
    todo_item = {
        "PK": {"S": "TENANT#acme"},
        "SK": {"S": f"TODO#{TODO_ID}"},
        "LSI1SK": {"S": f"C#0#{TODO_ID}"},
        "entity": {"S": "todo"},
        "tenant": {"S": "acme"},
        "id": {"S": TODO_ID},
        "title": {"S": "Read"},
        "completed": {"BOOL": False},
        "created_at": {"S": "2026-11-27T10:15:00.123Z"},
        "updated_at": {"S": "2026-11-27T10:15:00.123Z"},
        "version": {"N": "1"},
    }
    put = {"Put": {"TableName": "todos", "Item": todo_item, "ConditionExpression": "attribute_not_exists(PK)"}}
    return {"TransactItems": [put, count(+1, CAP)]}


def test_a_create_is_one_transaction_with_its_tenants_count_under_the_cap(ddb):
    store, stubber = ddb
    stubber.add_response("transact_write_items", {}, create_request())
    assert store.create("acme", TODO) == TODO


def test_a_create_at_the_cap_writes_nothing_and_names_the_cap(ddb):
    store, stubber = ddb
    cancelled(stubber, {"Code": "None"}, {"Code": "ConditionalCheckFailed"})
    with pytest.raises(TodoCapReached) as raised:
        store.create("acme", TODO)
    assert raised.value.cap == CAP
    assert "5 stored todos" in raised.value.message


def test_an_idempotent_create_at_the_cap_is_the_cap_error(ddb):
    store, stubber = ddb
    cancelled(stubber, {"Code": "None"}, {"Code": "None"}, {"Code": "ConditionalCheckFailed"})
    with pytest.raises(TodoCapReached):
        store.create_once("acme", TODO, "key-1", "fp-1")


def test_a_create_meeting_another_on_the_counter_is_tried_again(ddb, monkeypatch):
    store, stubber = ddb
    monkeypatch.setattr(todo_store.time, "sleep", lambda _seconds: None, raising=False)
    cancelled(stubber, {"Code": "None"}, {"Code": "TransactionConflict"})
    stubber.add_response("transact_write_items", {}, create_request())
    assert store.create("acme", TODO) == TODO


def test_a_create_meeting_others_on_the_counter_every_time_is_busy(ddb, monkeypatch):
    store, stubber = ddb
    monkeypatch.setattr(todo_store.time, "sleep", lambda _seconds: None, raising=False)
    for _ in range(todo_store.COUNTER_ATTEMPTS):
        cancelled(stubber, {"Code": "None"}, {"Code": "TransactionConflict"})
    with pytest.raises(StoreUnavailable):
        store.create("acme", TODO)
