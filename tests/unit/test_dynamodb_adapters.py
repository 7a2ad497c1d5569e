"""The DynamoDB codec, error mapping and key store, with botocore's Stubber checking each request
against the service model (the table's own behaviour is the integration tests' part)."""

import hashlib

import botocore.session
import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError
from botocore.retries.standard import RetryContext, ThrottledRetryableChecker
from botocore.stub import ANY

from todo_api.adapters import dynamodb
from todo_api.adapters.key_store import DynamoDBKeyStore
from todo_api.domain.errors import StoreUnavailable
from todo_api.domain.keys import KeyRecord
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


KEY = "todo_secret"
KEY_ITEM_KEY = {"PK": {"S": "APIKEY#" + hashlib.sha256(KEY.encode()).hexdigest()}, "SK": {"S": "APIKEY"}}


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


# DynamoDB's answers when it is busy, as it sends them (HTTP 400), and its server errors.
THROTTLING = [
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "LimitExceededException",
    "TransactionInProgressException",  # a transaction with the same ClientRequestToken is still running
]
SERVER_ERRORS = {"InternalServerError": 500, "ServiceUnavailable": 503}


def test_the_throttling_codes_are_dynamodbs_and_botocore_retries_them_as_throttling():
    """The list above is DynamoDB's (its service model) and one botocore's standard retry mode backs
    off on: such an error reaches an adapter only once botocore's attempts are spent."""
    model = botocore.session.get_session().get_service_model("dynamodb")
    throttled = ThrottledRetryableChecker()
    for code in THROTTLING:
        assert code in {shape.name for shape in model.error_shapes}
        assert throttled.is_retryable(RetryContext(attempt_number=1, parsed_response={"Error": {"Code": code}}))


@pytest.mark.parametrize(
    ("code", "status"),
    [*((code, 400) for code in THROTTLING), *SERVER_ERRORS.items(), ("SomethingNew", 500), ("SomethingNew", 503)],
)
def test_a_throttled_or_failing_table_is_unavailable(stubbed, code, status):
    client, stubber = stubbed("dynamodb")
    stubber.add_client_error("get_item", code, http_status_code=status)
    with pytest.raises(StoreUnavailable) as raised:
        DynamoDBKeyStore(client, "t").find(KEY)
    assert isinstance(raised.value.__cause__, ClientError)
    assert raised.value.__cause__.response["Error"]["Code"] == code


@pytest.mark.parametrize(
    "error",
    [
        *(ClientError({"Error": {"Code": code, "Message": "m"}}, "Op") for code in [*THROTTLING, *SERVER_ERRORS]),
        EndpointConnectionError(endpoint_url="http://db"),
        ConnectTimeoutError(endpoint_url="http://db"),
        ReadTimeoutError(endpoint_url="http://db"),
    ],
)
def test_the_code_alone_or_a_connection_error_makes_the_store_unavailable(error):
    with pytest.raises(StoreUnavailable) as raised, dynamodb.STORE_ERRORS:
        raise error
    assert raised.value.__cause__ is error


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
def ddb(stubbed):
    return stubbed("dynamodb")


def test_a_key_is_found_by_its_hash_and_a_former_usage_key_is_ignored(ddb):
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
    assert store.find(KEY) == KeyRecord("acme")  # made while keys had API Gateway usage keys
    assert store.find(KEY) == KeyRecord("acme")
    assert store.find(KEY) is None


def test_a_key_is_added_with_its_tenant_and_id_only(ddb):
    client, stubber = ddb
    key_id = hashlib.sha256(KEY.encode()).hexdigest()[:12]
    base = {
        **KEY_ITEM_KEY,
        "entity": {"S": "apikey"},
        "tenant": {"S": "acme"},
        "key_id": {"S": key_id},
        "created_at": ANY,
    }
    stubber.add_response("put_item", {}, {"TableName": "t", "Item": base})
    store = DynamoDBKeyStore(client, "t")
    store.add("acme", KEY)
    with pytest.raises(ValueError, match="tenant must match"):
        store.add("Not a tenant", KEY)


def test_revoking_answers_the_former_record(ddb):
    client, stubber = ddb
    params = {"TableName": "t", "Key": KEY_ITEM_KEY, "ReturnValues": "ALL_OLD"}
    stubber.add_response("delete_item", {"Attributes": {**KEY_ITEM_KEY, "tenant": {"S": "acme"}}}, params)
    stubber.add_response("delete_item", {}, params)
    store = DynamoDBKeyStore(client, "t")
    assert store.revoke(KEY) == KeyRecord("acme")
    assert store.revoke(KEY) is None


@pytest.mark.parametrize("operation", ["find", "add", "revoke"])
def test_a_throttled_key_store_is_unavailable(ddb, operation):
    client, stubber = ddb
    name = {"find": "get_item", "add": "put_item", "revoke": "delete_item"}[operation]
    stubber.add_client_error(name, "ProvisionedThroughputExceededException", http_status_code=400)
    store = DynamoDBKeyStore(client, "t")
    with pytest.raises(StoreUnavailable):
        getattr(store, operation)(*(("acme", KEY) if operation == "add" else (KEY,)))
