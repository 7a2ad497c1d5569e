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
    TenantStorageFull,
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
    # The clock of an update made again: earlier than the stored times of the tests below.
    store = DynamoDBTodoStore(client, "todos", "claims", 3600, clock=lambda: "2026-11-27T10:16:00.000Z", todo_cap=CAP)
    return store, stubber


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


# TODO as the store writes it, spelled out (not built by the code under test).
TODO_ITEM = {
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


def test_an_idempotent_create_puts_the_todo_and_the_keys_claim_in_one_transaction(ddb):
    store, stubber = ddb
    todo_item = TODO_ITEM
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
        "ConditionExpression": (
            "attribute_exists(PK) AND (attribute_not_exists(#r) OR #r <> :r) AND #u <= :u AND #v IN (:e0)"
        ),
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


def update_request(token, updated_at, expected=None):
    request = {
        "TableName": "todos",
        "Key": KEY,
        "UpdateExpression": "SET #u = :u, #v = #v + :one, #r = :r, #t = :t",
        "ConditionExpression": "attribute_exists(PK) AND (attribute_not_exists(#r) OR #r <> :r) AND #u <= :u",
        "ExpressionAttributeNames": {"#v": "version", "#u": "updated_at", "#r": "request", "#t": "title"},
        "ExpressionAttributeValues": {
            ":one": {"N": "1"},
            ":u": {"S": updated_at},
            ":r": {"S": token},
            ":t": {"S": "Write"},
        },
        "ReturnValues": "ALL_NEW",
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    if expected is not None:
        request["ConditionExpression"] += " AND #v IN (:e0)"
        request["ExpressionAttributeValues"][":e0"] = {"N": str(expected)}
    return request


def stored(updated_at, version, request="another-call"):
    return {
        **KEY,
        "id": {"S": TODO_ID},
        "title": {"S": "Read"},
        "completed": {"BOOL": False},
        "created_at": {"S": "2026-11-27T10:15:00.123Z"},
        "updated_at": {"S": updated_at},
        "version": {"N": str(version)},
        "request": {"S": request},
    }


def condition_failed(stubber, item, request=None):
    stubber.add_client_error(
        "update_item",
        "ConditionalCheckFailedException",
        http_status_code=400,
        modeled_fields={"Item": item},
        expected_params=request,
    )


@pytest.mark.parametrize("expected", [None, 3])
def test_an_update_stamped_before_the_stored_change_is_made_again_at_the_stored_time(ddb, token, expected):
    """Its writer took the time before another update committed (or its clock is behind): the todo's
    updated_at never goes backward, so its changes sort in version order in the activity feed."""
    store, stubber = ddb
    first = update_request(token, "2026-11-27T10:16:00.400Z", expected)
    condition_failed(stubber, stored("2026-11-27T10:16:00.500Z", 3), first)
    later = {**stored("2026-11-27T10:16:00.500Z", 4, token), "title": {"S": "Write"}}
    stubber.add_response(
        "update_item", {"Attributes": later}, update_request(token, "2026-11-27T10:16:00.500Z", expected)
    )
    versions = None if expected is None else frozenset({expected})
    new = store.update("acme", TODO_ID, {"title": "Write"}, "2026-11-27T10:16:00.400Z", versions)
    assert (new.title, new.version, new.updated_at) == ("Write", 4, "2026-11-27T10:16:00.500Z")
    stubber.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("item", "expected", "outcome"),
    [
        (None, None, TodoNotFound),
        (stored("2026-11-27T10:16:00.500Z", 4), frozenset({3}), VersionConflict),  # a version, not the time
        (stored("2026-11-27T10:16:00.300Z", 3), frozenset({3}), VersionConflict),  # not the time either
    ],
)
def test_an_update_failing_on_anything_but_the_time_is_not_made_again(ddb, token, item, expected, outcome):
    store, stubber = ddb
    condition_failed(stubber, item or {})
    with pytest.raises(outcome):
        store.update("acme", TODO_ID, {"title": "Write"}, "2026-11-27T10:16:00.400Z", expected)
    stubber.assert_no_pending_responses()


def test_an_update_made_again_takes_the_writers_clock_when_it_is_later_than_the_stored_time(stubbed, token):
    """Under contention: what committed meanwhile took its time before now, so now goes after it."""
    client, stubber = stubbed("dynamodb")
    store = DynamoDBTodoStore(client, "todos", "claims", 3600, clock=lambda: "2026-11-27T10:16:00.900Z")
    first = update_request(token, "2026-11-27T10:16:00.400Z")
    condition_failed(stubber, stored("2026-11-27T10:16:00.500Z", 3), first)
    later = {**stored("2026-11-27T10:16:00.900Z", 4, token), "title": {"S": "Write"}}
    stubber.add_response("update_item", {"Attributes": later}, update_request(token, "2026-11-27T10:16:00.900Z"))
    new = store.update("acme", TODO_ID, {"title": "Write"}, "2026-11-27T10:16:00.400Z", None)
    assert (new.version, new.updated_at) == (4, "2026-11-27T10:16:00.900Z")
    stubber.assert_no_pending_responses()


def test_an_update_that_keeps_meeting_later_changes_gives_up_as_busy(ddb, token, monkeypatch):
    store, stubber = ddb
    monkeypatch.setattr(todo_store, "CLOCK_ATTEMPTS", 3)
    for attempt in range(3):
        condition_failed(stubber, stored(f"2026-11-27T10:16:00.50{attempt}Z", 3 + attempt))
    with pytest.raises(StoreUnavailable):
        store.update("acme", TODO_ID, {"title": "Write"}, "2026-11-27T10:16:00.400Z", None)
    stubber.assert_no_pending_responses()


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


# A tenant's todos share one partition key; with the table's local secondary index its items may
# take 10 GB (the item collection), and DynamoDB refuses a write that would grow it further.
def test_a_tenant_whose_item_collection_is_full_gets_storage_full_on_a_create_or_an_update(ddb):
    store, stubber = ddb
    message = "Item collection size limit exceeded"
    cancelled(stubber, {"Code": "ItemCollectionSizeLimitExceeded"}, {"Code": "None"})
    with pytest.raises(TenantStorageFull):
        store.create("acme", TODO)
    stubber.add_client_error("update_item", "ItemCollectionSizeLimitExceededException", message, 400)
    with pytest.raises(TenantStorageFull):
        store.update("acme", TODO_ID, {"title": "Longer"}, "2026-11-27T10:16:00.000Z", None)


def test_a_transaction_cancelled_for_a_full_item_collection_is_storage_full(ddb, token):
    store, stubber = ddb
    cancelled(stubber, {"Code": "ItemCollectionSizeLimitExceeded"}, {"Code": "None"})
    with pytest.raises(TenantStorageFull):
        store.create_once("acme", TODO, "key-1", "fp-1")
    cancelled(stubber, {"Code": "None"}, {"Code": "ItemCollectionSizeLimitExceeded"})
    with pytest.raises(TenantStorageFull):
        store.delete("acme", TODO_ID, None, "2026-11-27T10:17:00.789Z")


def create_request():
    todo_item = TODO_ITEM
    put = {
        "Put": {
            "TableName": "todos",
            "Item": todo_item,
            "ConditionExpression": "attribute_not_exists(PK)",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }
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
