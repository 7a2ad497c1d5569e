"""The key command against a deployed-style table (TABLE_NAME set; moto stands in for AWS).

With USAGE_PLAN_ID, each key gets an API Gateway API key in that usage plan, which the authorizer
then names as `usageIdentifierKey`; revoking the key deletes it.
"""

import copy

import boto3
import pytest

from devtools import keys
from tests.conftest import TABLES, Context, load_event
from todo_api.domain.keys import key_hash, key_id


def stored(aws, key):
    item_key = {"PK": {"S": f"APIKEY#{key_hash(key)}"}, "SK": {"S": "APIKEY"}}
    return aws.get_item(TableName=TABLES["TodoTable"], Key=item_key).get("Item")


@pytest.fixture
def deployed(aws, monkeypatch):
    monkeypatch.setenv("TABLE_NAME", TABLES["TodoTable"])
    monkeypatch.delenv("USAGE_PLAN_ID", raising=False)


@pytest.fixture
def usage_plan(deployed, monkeypatch):
    """A REST API with a `dev` stage and a usage plan on it, as the stack has (its UsagePlanId output)."""
    client = boto3.client("apigateway")
    api = client.create_rest_api(name="todo-api-dev")["id"]
    root = client.get_resources(restApiId=api)["items"][0]["id"]
    client.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="NONE")
    client.put_integration(restApiId=api, resourceId=root, httpMethod="GET", type="MOCK")
    client.create_deployment(restApiId=api, stageName="dev")
    plan = client.create_usage_plan(
        name="todo-api-dev",
        apiStages=[{"apiId": api, "stage": "dev"}],
        throttle={"rateLimit": 10, "burstLimit": 20},
        quota={"limit": 10000, "period": "DAY"},
    )["id"]
    monkeypatch.setenv("USAGE_PLAN_ID", plan)
    return client, plan


def created_key(capsys):
    out = capsys.readouterr().out
    return out.strip().splitlines()[-1], out


def test_create_prints_key_once_and_stores_only_its_hash(usage_plan, aws, capsys):
    assert keys.main(["create", "--tenant", "initech"]) == 0
    key, _ = created_key(capsys)
    assert key.startswith("todo_")
    item = stored(aws, key)
    assert item["tenant"]["S"] == "initech"
    assert key not in str(item)


def test_create_adds_an_api_gateway_key_to_the_usage_plan(usage_plan, aws, capsys):
    client, plan = usage_plan
    assert keys.main(["create", "--tenant", "initech"]) == 0
    key, out = created_key(capsys)
    [api_key] = client.get_api_keys(includeValues=True)["items"]
    assert api_key["name"] == f"todo-initech-{key_id(key)}"
    assert api_key["enabled"] is True
    assert len(api_key["value"]) >= 40
    assert api_key["value"] != key
    assert [k["id"] for k in client.get_usage_plan_keys(usagePlanId=plan)["items"]] == [api_key["id"]]
    item = stored(aws, key)
    assert item["usage_key"]["S"] == api_key["value"]
    assert item["usage_key_id"]["S"] == api_key["id"]
    assert api_key["value"] not in out  # an identifier, yet never shown


def test_authorizer_names_the_created_usage_key(usage_plan, capsys, functions):
    client, _ = usage_plan
    assert keys.main(["create", "--tenant", "initech"]) == 0
    key, _ = created_key(capsys)
    event = copy.deepcopy(load_event("authorizer"))
    event["headers"]["x-api-key"] = key
    result = functions["AuthorizerFunction"].lambda_handler(event, Context())
    [api_key] = client.get_api_keys(includeValues=True)["items"]
    assert result["usageIdentifierKey"] == api_key["value"]
    assert result["context"] == {"tenant": "initech"}


def test_revoke_deletes_the_api_gateway_key_and_revoke_again_fails(usage_plan, aws, capsys):
    client, _ = usage_plan
    assert keys.main(["create", "--tenant", "initech", "--key", "demo-key-123"]) == 0
    assert keys.main(["revoke", "--key", "demo-key-123"]) == 0
    assert stored(aws, "demo-key-123") is None
    assert client.get_api_keys()["items"] == []
    assert keys.main(["revoke", "--key", "demo-key-123"]) == 1
    assert "demo-key-123" not in capsys.readouterr().err


def test_create_without_usage_plan_id_is_refused(deployed, aws, capsys):
    assert keys.main(["create", "--tenant", "initech", "--key", "demo-key-123"]) == 2
    assert "USAGE_PLAN_ID" in capsys.readouterr().err
    assert stored(aws, "demo-key-123") is None


def test_create_with_no_usage_plan_stores_a_key_without_usage_key(deployed, aws):
    assert keys.main(["create", "--tenant", "initech", "--key", "demo-key-123", "--no-usage-plan"]) == 0
    item = stored(aws, "demo-key-123")
    assert item["tenant"]["S"] == "initech"
    assert "usage_key" not in item
    assert keys.main(["revoke", "--key", "demo-key-123"]) == 0


def test_bad_tenant_is_refused_before_any_api_gateway_key(usage_plan):
    client, _ = usage_plan
    assert keys.main(["create", "--tenant", "Bad Tenant!"]) == 2
    assert client.get_api_keys()["items"] == []


def test_api_gateway_key_is_deleted_when_the_key_cannot_be_stored(usage_plan, monkeypatch):
    client, _ = usage_plan
    monkeypatch.setenv("TABLE_NAME", "no-such-table")
    with pytest.raises(Exception, match="ResourceNotFoundException"):
        keys.main(["create", "--tenant", "initech"])
    assert client.get_api_keys()["items"] == []
