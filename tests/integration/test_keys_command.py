"""The key command against a deployed-style table (TABLE_NAME set; moto stands in for AWS)."""

from devtools import keys
from tests.conftest import TABLES
from todo_api.keys import key_hash


def test_create_prints_key_once_and_stores_only_its_hash(aws, monkeypatch, capsys):
    monkeypatch.setenv("TABLE_NAME", TABLES["TodoTable"])
    assert keys.main(["create", "--tenant", "initech"]) == 0
    key = capsys.readouterr().out.strip().splitlines()[-1]
    assert key.startswith("todo_")
    item = aws.get_item(
        TableName=TABLES["TodoTable"], Key={"PK": {"S": f"APIKEY#{key_hash(key)}"}, "SK": {"S": "APIKEY"}}
    )
    assert item["Item"]["tenant"]["S"] == "initech"
    assert key not in str(item)


def test_revoke_and_revoke_again(aws, monkeypatch, capsys):
    monkeypatch.setenv("TABLE_NAME", TABLES["TodoTable"])
    assert keys.main(["create", "--tenant", "initech", "--key", "demo-key-123"]) == 0
    assert keys.main(["revoke", "--key", "demo-key-123"]) == 0
    assert keys.main(["revoke", "--key", "demo-key-123"]) == 1
    assert "demo-key-123" not in capsys.readouterr().err


def test_bad_tenant_is_refused(aws, monkeypatch):
    monkeypatch.setenv("TABLE_NAME", TABLES["TodoTable"])
    assert keys.main(["create", "--tenant", "Bad Tenant!"]) == 2
