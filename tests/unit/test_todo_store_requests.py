"""The todo store's requests to DynamoDB for an idempotent create and a tombstone's look-up, written
out by hand and checked by botocore's Stubber against the service model; and its answers to the
cancelled transactions DynamoDB sends back."""

import hashlib
from types import SimpleNamespace

import pytest
from botocore.exceptions import ClientError

from todo_api.adapters import todo_store
from todo_api.adapters.todo_store import DynamoDBTodoStore
from todo_api.domain.errors import IdempotencyKeyInUse, IdempotencyKeyReused
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
    return DynamoDBTodoStore(client, "todos", "claims", 3600), stubber


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
    cancelled(stubber, {"Code": "None"}, {"Code": "ConditionalCheckFailed"})
    earlier = {"id": {"S": CLAIM_ID}, "fingerprint": {"S": "fp-1"}, "response": {"S": TODO_JSON}}
    stubber.add_response("get_item", {"Item": earlier}, CLAIM_GET)
    if outcome is TODO:
        assert store.create_once("acme", TODO, "key-1", fingerprint) == TODO
    else:
        with pytest.raises(IdempotencyKeyReused):
            store.create_once("acme", TODO, "key-1", fingerprint)


def test_a_claim_that_expired_and_vanished_meanwhile_is_in_use(ddb):
    store, stubber = ddb
    cancelled(stubber, {"Code": "None"}, {"Code": "ConditionalCheckFailed"})
    stubber.add_response("get_item", {}, CLAIM_GET)
    with pytest.raises(IdempotencyKeyInUse):
        store.create_once("acme", TODO, "key-1", "fp-1")


def test_a_claim_written_by_a_concurrent_transaction_is_in_use(ddb):
    store, stubber = ddb
    cancelled(stubber, {"Code": "None"}, {"Code": "TransactionConflict"})
    with pytest.raises(IdempotencyKeyInUse):
        store.create_once("acme", TODO, "key-1", "fp-1")


def test_a_todo_id_taken_with_a_free_claim_is_the_tables_error(ddb):
    store, stubber = ddb
    cancelled(stubber, {"Code": "ConditionalCheckFailed"}, {"Code": "None"})
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
    cancelled(stubber, {"Code": "None"}, {"Code": "ConditionalCheckFailed", "Item": earlier})
    assert store.create_once("acme", TODO, "key-1", "fp-1") == TODO  # the Stubber queued no get_item
