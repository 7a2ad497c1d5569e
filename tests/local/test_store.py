"""One local store for `make start`, `make key`, `make revoke-key` and `make invoke`, wherever
DYNAMODB_LOCAL_DIR puts it: a key made by one command is the key the others see."""

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from devtools.local.serve import served
from tests.local.conftest import ROOT


def command(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A devtools command as the Makefile runs it, on the store in `data_dir` (no deployed table)."""
    env = {k: v for k, v in os.environ.items() if k not in ("TABLE_NAME", "USAGE_PLAN_ID")}
    env.update(DYNAMODB_LOCAL_DIR=str(data_dir), PYTHONPATH=f"{ROOT / 'layers/shared'}:{ROOT}")
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def new_key(data_dir: Path, tenant: str) -> str:
    result = command(data_dir, "devtools.keys", "create", "--tenant", tenant)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def status(url: str, key: str) -> int:
    request = urllib.request.Request(f"{url}/todos", headers={"x-api-key": key})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_keys_made_before_and_while_the_server_runs_are_its_keys(tmp_path: Path) -> None:
    before = new_key(tmp_path, "acme")  # no server: a short-lived DynamoDB Local on DYNAMODB_LOCAL_DIR
    with served({"demo": "demo-key-store-test"}, data_dir=tmp_path) as server:
        assert status(server.url, before) == 200
        during = new_key(tmp_path, "globex")  # the server's own DynamoDB Local
        assert status(server.url, during) == 200
        revoked = new_key(tmp_path, "initech")
        assert command(tmp_path, "devtools.keys", "revoke", "--key", revoked).returncode == 0
        assert status(server.url, revoked) == 401
        event = tmp_path / "create.json"
        sample = json.loads((ROOT / "events" / "create_todo.json").read_text(encoding="utf-8"))
        sample["requestContext"]["authorizer"] = {"principalId": "acme", "tenant": "acme"}
        sample["body"] = json.dumps({"title": "made by make invoke"})
        event.write_text(json.dumps(sample), encoding="utf-8")
        invoked = command(tmp_path, "devtools.invoke", "CreateTodoFunction", str(event))
        assert invoked.returncode == 0, invoked.stderr
        request = urllib.request.Request(f"{server.url}/todos", headers={"x-api-key": before})
        with urllib.request.urlopen(request, timeout=30) as response:
            titles = [item["title"] for item in json.loads(response.read())["items"]]
        assert titles == ["made by make invoke"]
    requests = (tmp_path / "requests.log").read_text(encoding="utf-8").splitlines()
    assert any(
        line.startswith("GET /todos 200 ListTodosFunction ") and line.endswith(" tenant=acme") for line in requests
    )
    banner = server.log.read_text(encoding="utf-8")
    assert "tenants: demo" in banner
    assert "demo-key-store-test" not in banner  # a key of TODO_LOCAL_API_KEYS is never printed
