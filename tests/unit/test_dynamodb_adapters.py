"""The DynamoDB codec, error mapping and key store, with botocore's Stubber checking each request
against the service model (the table's own behaviour is the integration tests' part)."""

import hashlib

import boto3
import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError
from botocore.stub import ANY, Stubber

from todo_api.adapters import dynamodb
from todo_api.adapters.key_store import DynamoDBKeyStore
from todo_api.domain.errors import StoreUnavailable
from todo_api.domain.keys import KeyRecord, UsageKey
from todo_api.domain.models import Todo

TODO = Todo(
    id="01JD7Z6ZQ4N8Y3T5V2W9X0ABCD",
    title="Read",
    completed=True,
    created_at="2026-11-27T10:15:00.123Z",
    updated_at="2026-11-27T10:16:00.000Z",
    version=4,
)
ITEM = {
    "PK": {"S": "TENANT#acme"},
    "SK": {"S": "TODO#01JD7Z6ZQ4N8Y3T5V2W9X0ABCD"},
    "LSI1SK": {"S": "C#1#01JD7Z6ZQ4N8Y3T5V2W9X0ABCD"},
    "entity": {"S": "todo"},
    "tenant": {"S": "acme"},
    "id": {"S": "01JD7Z6ZQ4N8Y3T5V2W9X0ABCD"},
    "title": {"S": "Read"},
    "completed": {"BOOL": True},
    "created_at": {"S": "2026-11-27T10:15:00.123Z"},
    "updated_at": {"S": "2026-11-27T10:16:00.000Z"},
    "version": {"N": "4"},
}


def test_a_todo_is_stored_as_the_data_model_says_and_read_back():
    assert dynamodb.to_item("acme", TODO) == ITEM
    assert dynamodb.from_item(ITEM) == TODO
    assert dynamodb.todo_key("acme", TODO.id) == {"PK": ITEM["PK"], "SK": ITEM["SK"]}
    assert dynamodb.completed_sk(False, "X") == "C#0#X"
    assert dynamodb.string(ITEM, "title") == "Read"


def client_error(code: str, status: int = 400, **extra) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}, **extra}, "Op"
    )


def test_the_condition_failure_and_its_item():
    failed = client_error("ConditionalCheckFailedException", Item=ITEM)
    assert dynamodb.is_condition_failure(failed)
    assert dynamodb.failure_item(failed) == ITEM
    assert not dynamodb.is_condition_failure(client_error("ValidationException"))
    assert dynamodb.failure_item(client_error("ConditionalCheckFailedException")) is None
    assert dynamodb.failure_item(client_error("ConditionalCheckFailedException", Item={})) is None
    assert not dynamodb.is_condition_failure(ClientError({}, "Op"))


@pytest.mark.parametrize(
    "error",
    [
        *(client_error(code) for code in sorted(dynamodb._UNAVAILABLE)),
        client_error("SomethingNew", 500),
        client_error("SomethingNew", 503),
        EndpointConnectionError(endpoint_url="http://db"),
        ConnectTimeoutError(endpoint_url="http://db"),
        ReadTimeoutError(endpoint_url="http://db"),
    ],
)
def test_throttling_outages_and_connection_errors_become_store_unavailable(error):
    with pytest.raises(StoreUnavailable) as raised, dynamodb.STORE_ERRORS:
        raise error
    assert raised.value.__cause__ is error


def test_the_unavailable_codes_are_dynamodbs_throttling_and_server_errors():
    assert {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "LimitExceededException",
    } == dynamodb._UNAVAILABLE


@pytest.mark.parametrize(
    "error",
    [
        client_error("ValidationException"),
        client_error("ConditionalCheckFailedException"),
        ClientError({}, "Op"),
        KeyError("x"),
    ],
)
def test_other_errors_pass_unchanged(error):
    with pytest.raises(type(error)) as raised, dynamodb.STORE_ERRORS:
        raise error
    assert raised.value is error


def test_no_error_no_change():
    with dynamodb.STORE_ERRORS as entered:
        value = 1
    assert (entered, value) == (None, 1)


@pytest.fixture
def ddb():
    client = boto3.client("dynamodb", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


KEY = "todo_secret"
KEY_ITEM_KEY = {"PK": {"S": "APIKEY#" + hashlib.sha256(KEY.encode()).hexdigest()}, "SK": {"S": "APIKEY"}}


def test_a_key_is_found_by_its_hash_with_its_usage_key(ddb):
    client, stubber = ddb
    item = {**KEY_ITEM_KEY, "tenant": {"S": "acme"}, "usage_key": {"S": "value-1"}, "usage_key_id": {"S": "id-1"}}
    stubber.add_response("get_item", {"Item": item}, {"TableName": "t", "Key": KEY_ITEM_KEY, "ConsistentRead": False})
    stubber.add_response(
        "get_item",
        {"Item": {**KEY_ITEM_KEY, "tenant": {"S": "acme"}}},
        {"TableName": "t", "Key": KEY_ITEM_KEY, "ConsistentRead": False},
    )
    stubber.add_response("get_item", {}, {"TableName": "t", "Key": KEY_ITEM_KEY, "ConsistentRead": False})
    store = DynamoDBKeyStore(client, "t")
    assert store.find(KEY) == KeyRecord("acme", UsageKey(id="id-1", value="value-1"))
    assert store.find(KEY) == KeyRecord("acme", None)
    assert store.find(KEY) is None


def test_a_key_is_added_with_its_tenant_id_and_usage_key(ddb):
    client, stubber = ddb
    key_id = hashlib.sha256(KEY.encode()).hexdigest()[:12]
    base = {
        **KEY_ITEM_KEY,
        "entity": {"S": "apikey"},
        "tenant": {"S": "acme"},
        "key_id": {"S": key_id},
        "created_at": ANY,
    }
    with_usage = {**base, "usage_key": {"S": "value-1"}, "usage_key_id": {"S": "id-1"}}
    stubber.add_response("put_item", {}, {"TableName": "t", "Item": with_usage})
    stubber.add_response("put_item", {}, {"TableName": "t", "Item": base})
    store = DynamoDBKeyStore(client, "t")
    store.add("acme", KEY, UsageKey(id="id-1", value="value-1"))
    store.add("acme", KEY)
    with pytest.raises(ValueError, match="tenant must match"):
        store.add("Not a tenant", KEY)


def test_revoking_answers_the_former_record(ddb):
    client, stubber = ddb
    params = {"TableName": "t", "Key": KEY_ITEM_KEY, "ReturnValues": "ALL_OLD"}
    stubber.add_response("delete_item", {"Attributes": {**KEY_ITEM_KEY, "tenant": {"S": "acme"}}}, params)
    stubber.add_response("delete_item", {}, params)
    store = DynamoDBKeyStore(client, "t")
    assert store.revoke(KEY) == KeyRecord("acme", None)
    assert store.revoke(KEY) is None


@pytest.mark.parametrize("operation", ["find", "add", "revoke"])
def test_a_throttled_key_store_is_unavailable(ddb, operation):
    client, stubber = ddb
    name = {"find": "get_item", "add": "put_item", "revoke": "delete_item"}[operation]
    stubber.add_client_error(name, "ProvisionedThroughputExceededException", http_status_code=400)
    store = DynamoDBKeyStore(client, "t")
    with pytest.raises(StoreUnavailable):
        getattr(store, operation)(*(("acme", KEY) if operation == "add" else (KEY,)))
