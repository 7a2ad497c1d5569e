"""The REQUEST authorizer maps a key to its tenant by hash; unknown, missing and revoked keys are 401.

No caller is ever given an API Gateway usage key (`usageIdentifierKey`), not even a key stored
while keys had one: the API has no API Gateway keys, so no ceiling of 10,000 of them."""

import copy
import io

import pytest

from tests.conftest import KEYS, TABLES, Context, load_event
from todo_api.domain.keys import key_hash
from todo_api.wiring import key_store


def authorize(functions, key):
    event = copy.deepcopy(load_event("authorizer"))
    event["headers"].pop("x-api-key")
    if key is not None:
        event["headers"]["X-Api-Key"] = key
    return functions["AuthorizerFunction"].lambda_handler(event, Context())


def test_valid_key_allows_every_route_with_tenant_in_context(aws, functions):
    result = authorize(functions, KEYS["globex"])
    assert result["context"] == {"tenant": "globex"}
    [statement] = result["policyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Resource"] == ["arn:aws:execute-api:us-east-1:123456789012:abcdef123/dev/*/*"]
    assert KEYS["globex"] not in str(result)
    assert "usageIdentifierKey" not in result


def _put_key_with_a_former_usage_key(aws, tenant, key):
    """A key's item as `make key` stored it while keys had API Gateway usage keys."""
    item = {
        "PK": {"S": f"APIKEY#{key_hash(key)}"},
        "SK": {"S": "APIKEY"},
        "entity": {"S": "apikey"},
        "tenant": {"S": tenant},
        "usage_key": {"S": "usage-" * 8},
        "usage_key_id": {"S": "a1b2c3d4e5"},
    }
    aws.put_item(TableName=TABLES["TodoTable"], Item=item)


def test_a_key_stored_with_a_former_usage_key_is_given_none(aws, functions, monkeypatch):
    monkeypatch.setenv("USERS_USAGE_KEY", "todo-users-stack-123")  # as the stack once set it
    _put_key_with_a_former_usage_key(aws, "initech", "initech-key-1")
    result = authorize(functions, "initech-key-1")
    assert "usageIdentifierKey" not in result
    assert result["context"] == {"tenant": "initech"}
    assert result["principalId"] != "initech-key-1"


@pytest.mark.parametrize("key", [None, "", "unknown-key", "acme-key-1 "])
def test_unknown_or_missing_key_is_unauthorized(aws, functions, key):
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize(functions, key)


def test_revoked_key_is_unauthorized(aws, functions):
    assert key_store().revoke(KEYS["acme"]) is not None
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize(functions, KEYS["acme"])


def test_keys_are_stored_only_as_hashes(aws):
    items = aws.scan(TableName=TABLES["TodoTable"])["Items"]
    dump = str(items)
    for key in KEYS.values():
        assert key not in dump
        assert f"APIKEY#{key_hash(key)}" in dump


def test_key_and_usage_key_are_not_logged(aws, functions):
    _put_key_with_a_former_usage_key(aws, "initech", "initech-key-1")
    logger = functions["AuthorizerFunction"].logger
    level, logs = logger.log_level, io.StringIO()
    # Swapped without setStream(), which would flush the old stream: a capture an earlier pytest
    # session in this process has closed.
    handler = logger.registered_handler
    stream, handler.stream = handler.stream, logs
    logger.setLevel("DEBUG")
    try:
        with pytest.raises(Exception, match="Unauthorized"):
            authorize(functions, "secret-never-logged")
        authorize(functions, KEYS["acme"])
        authorize(functions, "initech-key-1")
    finally:
        logger.setLevel(level)
        handler.stream = stream
    assert "access denied" in logs.getvalue()
    for secret in ("secret-never-logged", KEYS["acme"], "initech-key-1", "usage-" * 8):
        assert secret not in logs.getvalue()
