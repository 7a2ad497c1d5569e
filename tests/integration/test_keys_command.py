"""The key command against a deployed-style table (TABLE_NAME set; moto stands in for AWS).

A key is one item of the table and nothing else: no API Gateway API key is made or deleted, so
the number of keys and tenants meets no ceiling (API Gateway allows 10,000 API keys per account
and Region), and the authorizer names no usage key for it.
"""

import copy

import boto3
import pytest

from devtools import keys
from tests.conftest import TABLES, Context, load_event
from todo_api.domain.keys import key_hash


def stored(aws, key):
    item_key = {"PK": {"S": f"APIKEY#{key_hash(key)}"}, "SK": {"S": "APIKEY"}}
    return aws.get_item(TableName=TABLES["TodoTable"], Key=item_key).get("Item")


@pytest.fixture
def deployed(aws, monkeypatch):
    """The table of a deployed stack, and the account's API Gateway (moto) to see nothing is made there."""
    monkeypatch.setenv("TABLE_NAME", TABLES["TodoTable"])
    # Set as the stack's former UsagePlanId output was: the command must ignore it.
    monkeypatch.setenv("USAGE_PLAN_ID", "abc123")
    return boto3.client("apigateway")


def created_key(capsys):
    out = capsys.readouterr().out
    return out.strip().splitlines()[-1], out


def test_create_prints_key_once_and_stores_only_its_hash(deployed, aws, capsys):
    assert keys.main(["create", "--tenant", "initech"]) == 0
    key, _ = created_key(capsys)
    assert key.startswith("todo_")
    item = stored(aws, key)
    assert item["tenant"]["S"] == "initech"
    assert key not in str(item)


def test_create_and_revoke_make_no_api_gateway_key(deployed, aws, capsys):
    assert keys.main(["create", "--tenant", "initech", "--key", "demo-key-123"]) == 0
    assert deployed.get_api_keys()["items"] == []
    item = stored(aws, "demo-key-123")
    assert set(item) == {"PK", "SK", "entity", "tenant", "key_id", "created_at"}
    assert keys.main(["revoke", "--key", "demo-key-123"]) == 0
    assert deployed.get_api_keys()["items"] == []


def test_the_authorizer_names_no_usage_key_for_a_created_key(deployed, capsys, functions):
    assert keys.main(["create", "--tenant", "initech"]) == 0
    key, _ = created_key(capsys)
    event = copy.deepcopy(load_event("authorizer"))
    event["headers"]["x-api-key"] = key
    result = functions["AuthorizerFunction"].lambda_handler(event, Context())
    assert "usageIdentifierKey" not in result
    assert result["context"] == {"tenant": "initech"}


def test_revoke_deletes_the_key_and_revoke_again_fails(deployed, aws, capsys):
    assert keys.main(["create", "--tenant", "initech", "--key", "demo-key-123"]) == 0
    assert keys.main(["revoke", "--key", "demo-key-123"]) == 0
    assert stored(aws, "demo-key-123") is None
    assert keys.main(["revoke", "--key", "demo-key-123"]) == 1
    assert "demo-key-123" not in capsys.readouterr().err


def test_bad_tenant_is_refused_and_nothing_is_stored(deployed, aws, capsys):
    assert keys.main(["create", "--tenant", "Bad Tenant!", "--key", "demo-key-123"]) == 2
    assert "tenant must match" in capsys.readouterr().err
    assert stored(aws, "demo-key-123") is None
