"""The REQUEST authorizer maps a key to its tenant by hash; unknown, missing and revoked keys are 401."""

import copy

import pytest

from tests.conftest import KEYS, TABLES, Context, load_event
from todo_api.clients import dynamodb
from todo_api.keys import KeyStore, key_hash
from todo_api.repository import Table


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


@pytest.mark.parametrize("key", [None, "", "unknown-key", "acme-key-1 "])
def test_unknown_or_missing_key_is_unauthorized(aws, functions, key):
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize(functions, key)


def test_revoked_key_is_unauthorized(aws, functions):
    assert KeyStore(Table(dynamodb(), TABLES["TodoTable"])).revoke(KEYS["acme"]) is True
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize(functions, KEYS["acme"])


def test_keys_are_stored_only_as_hashes(aws):
    items = aws.scan(TableName=TABLES["TodoTable"])["Items"]
    dump = str(items)
    for key in KEYS.values():
        assert key not in dump
        assert f"APIKEY#{key_hash(key)}" in dump


def test_key_is_not_logged(aws, functions, capsys):
    with pytest.raises(Exception, match="Unauthorized"):
        authorize(functions, "secret-never-logged")
    authorize(functions, KEYS["acme"])
    out = capsys.readouterr()
    assert "secret-never-logged" not in out.out + out.err
    assert KEYS["acme"] not in out.out + out.err
