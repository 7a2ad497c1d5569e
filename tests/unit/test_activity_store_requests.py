"""The activity store's requests to DynamoDB, written out by hand (the data model of
todo_api.adapters.activity_store) and checked by botocore's Stubber against the service model."""

import json
import logging

import pytest

from tests.streams import completed_event, completed_event_json
from todo_api.adapters import activity_store
from todo_api.adapters.activity_store import DynamoDBActivityStore

TODO_ID = "01JD7Z6ZQ4N8Y3T5V2W9X0ABCD"
EVENT_ID = f"20261127T101600456Z-{TODO_ID}-0000000002"


def item_of(event, **extra):
    body = completed_event_json(event.todo.created_at)
    return {
        **extra,
        "PK": {"S": "ACTIVITY#acme"},
        "SK": {"S": f"EVENT#{EVENT_ID}"},
        "entity": {"S": "activity"},
        "tenant": {"S": "acme"},
        "id": {"S": EVENT_ID},
        "type": {"S": "todo.completed"},
        "todo_id": {"S": TODO_ID},
        "at": {"S": "2026-11-27T10:16:00.456Z"},
        "event": {"S": json.dumps(body, separators=(",", ":"))},
    }


@pytest.fixture
def ddb(stubbed):
    return stubbed("dynamodb")


def test_an_event_is_put_once_with_its_keys_and_compact_body(ddb, caplog):
    client, stubber = ddb
    event = completed_event()
    put = {"TableName": "t", "Item": item_of(event), "ConditionExpression": "attribute_not_exists(PK)"}
    stubber.add_response("put_item", {}, put)
    stubber.add_client_error("put_item", "ConditionalCheckFailedException", expected_params=put)
    store = DynamoDBActivityStore(client, "t")
    assert store.add("acme", event) is True
    with caplog.at_level(logging.INFO, logger=activity_store.logger.name):
        assert store.add("acme", event) is False  # a redelivery: already in the feed
    [logged] = [r for r in caplog.records if r.getMessage() == "event already in the feed"]
    assert (logged.levelno, logged.event_id) == (logging.INFO, EVENT_ID)


def test_with_a_retention_the_event_expires_that_many_days_after_it_happened(ddb):
    client, stubber = ddb
    event = completed_event()
    # 2026-11-27T10:16:00.456Z is 1795774560 s after the epoch; 90 days are 7776000 s.
    item = item_of(event, expires_at={"N": str(1795774560 + 7776000)})
    stubber.add_response(
        "put_item", {}, {"TableName": "t", "Item": item, "ConditionExpression": "attribute_not_exists(PK)"}
    )
    assert DynamoDBActivityStore(client, "t", retention_days=90).add("acme", event) is True


def query(**extra):
    return {
        "TableName": "t",
        "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
        "ExpressionAttributeValues": {":pk": {"S": "ACTIVITY#acme"}, ":prefix": {"S": "EVENT#"}},
        "ScanIndexForward": False,
        "Limit": 2,
        "ConsistentRead": True,
        **extra,
    }


def test_a_page_is_one_query_newest_first_reading_one_more_than_it_returns(ddb):
    client, stubber = ddb
    event = completed_event()
    stubber.add_response("query", {"Items": [item_of(event), item_of(event)]}, query())
    start = {"ExclusiveStartKey": {"PK": {"S": "ACTIVITY#acme"}, "SK": {"S": f"EVENT#{EVENT_ID}"}}}
    stubber.add_response("query", {}, query(**start))
    store = DynamoDBActivityStore(client, "t")
    assert store.list("acme", 1, None) == ([event], EVENT_ID)
    assert store.list("acme", 1, EVENT_ID) == ([], None)  # an answer without Items is an empty page
