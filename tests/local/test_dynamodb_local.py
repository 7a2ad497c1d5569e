"""DynamoDB Local: tables from template.yaml, persistence across restarts, clean stop, and the
`make start` process end to end."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from devtools.emulator import dynamodb
from devtools.emulator.environment import function_environment
from devtools.emulator.template import LocalServerError
from devtools.local.keys import configured_keys, parse_keys
from tests.local.conftest import ROOT, TEMPLATE
from tests.processes import processes_mentioning


def test_tables_match_the_template(ddb: dynamodb.DynamoDBLocal) -> None:
    client = dynamodb.client(ddb.endpoint)
    assert dynamodb.ensure_tables(ddb.endpoint, TEMPLATE) == {
        "TodoTable": "todo-local-TodoTable",
        "IdempotencyTable": "todo-local-IdempotencyTable",
        "UsageTable": "todo-local-UsageTable",
    }  # the second call finds them and changes nothing
    todo = client.describe_table(TableName="todo-local-TodoTable")["Table"]
    assert todo["KeySchema"] == [
        {"AttributeName": "PK", "KeyType": "HASH"},
        {"AttributeName": "SK", "KeyType": "RANGE"},
    ]
    assert [index["IndexName"] for index in todo["LocalSecondaryIndexes"]] == ["ByCompleted"]
    assert todo["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    ttl = client.describe_time_to_live(TableName="todo-local-IdempotencyTable")["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expiration")


def test_cloudformation_only_properties_are_dropped_and_unknown_ones_refused() -> None:
    request, ttl = dynamodb.create_table_request(
        "T",
        {
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            "SSESpecification": {"SSEEnabled": True},
            "DeletionProtectionEnabled": {"Fn::If": ["IsProd", True, False]},
            "Tags": [{"Key": "a", "Value": "b"}],
        },
    )
    assert set(request) == {"TableName", "KeySchema", "AttributeDefinitions", "BillingMode"}
    assert (request["TableName"], request["BillingMode"], ttl) == ("todo-local-T", "PAY_PER_REQUEST", None)
    with pytest.raises(dynamodb.DynamoDBLocalError, match="SomethingNew"):
        dynamodb.create_table_request("T", {"SomethingNew": 1})
    with pytest.raises(dynamodb.DynamoDBLocalError, match="Ref"):
        dynamodb.create_table_request("T", {"KeySchema": [{"AttributeName": {"Ref": "X"}}]})


def test_missing_java_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("devtools.emulator.dynamodb.install.shutil.which", lambda _name: None)
    with pytest.raises(dynamodb.DynamoDBLocalError, match="openjdk-17-jre-headless"):
        dynamodb.ensure_installed()


def test_stop_kills_the_process_group(tmp_path: Path) -> None:
    local = dynamodb.DynamoDBLocal(tmp_path).start()
    assert local.process is not None
    pgid = local.process.pid
    local.stop()
    with pytest.raises(ProcessLookupError):
        os.killpg(pgid, 0)
    assert processes_mentioning(str(tmp_path)) == []


def test_a_killed_parent_leaves_no_dynamodb_local(tmp_path: Path) -> None:
    code = (
        "import sys, time; from devtools.emulator import dynamodb as d; "
        "d.DynamoDBLocal(sys.argv[1]).start(); print('up', flush=True); time.sleep(60)"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        assert parent.stdout is not None
        assert parent.stdout.readline() == "up\n"
        assert processes_mentioning(str(tmp_path)) != []
    finally:
        parent.kill()  # SIGKILL: no handler, no cleanup in the parent
        parent.wait()
    deadline = time.monotonic() + 10
    while processes_mentioning(str(tmp_path)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert processes_mentioning(str(tmp_path)) == []


def fake_function(name: str, **variables: Any) -> Any:
    return SimpleNamespace(name=name, environment={"Variables": variables})


def test_one_environment_for_all_functions_or_a_loud_error() -> None:
    tables = {"TodoTable": "todo-local-TodoTable"}
    env = function_environment(
        [fake_function("A", TABLE_NAME="TodoTable", X=1), fake_function("B", TABLE_NAME="TodoTable", FLAG=True)],
        tables,
        "http://127.0.0.1:1",
    )
    assert (env["TABLE_NAME"], env["X"], env["FLAG"]) == ("todo-local-TodoTable", "1", "true")
    assert env["AWS_ENDPOINT_URL_DYNAMODB"] == "http://127.0.0.1:1"
    with pytest.raises(LocalServerError, match="LOG_LEVEL differs between A"):
        function_environment([fake_function("A", LOG_LEVEL="INFO"), fake_function("B", LOG_LEVEL="DEBUG")], {}, "x")


def test_parse_keys() -> None:
    assert parse_keys("demo:local-dev-key, acme:k2,") == [("demo", "local-dev-key"), ("acme", "k2")]
    assert parse_keys(" demo : k1 ,acme:k2") == [("demo", "k1"), ("acme", "k2")]
    with pytest.raises(LocalServerError):
        parse_keys("nokey")


def test_without_keys_configured_the_key_is_the_one_of_the_events_and_the_docs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TODO_LOCAL_API_KEYS", raising=False)
    assert configured_keys() == [("demo", "local-dev-key")]  # events/*.json's, the docs' and sam_local's


def test_make_start_serves_keeps_data_and_stops_everything_on_sigterm(tmp_path: Path) -> None:
    port = dynamodb.free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "DYNAMODB_LOCAL_DIR": str(tmp_path),
        "TODO_LOCAL_API_KEYS": "demo:start-test-key",
        "PYTHONPATH": f"{ROOT / 'layers/shared'}{os.pathsep}{ROOT}",
    }
    title = f"kept across restarts {uuid.uuid4()}"
    errors = (tmp_path / "stderr.txt").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "devtools.local"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=errors,
        text=True,
        start_new_session=True,
    )
    try:
        assert server.stdout is not None
        banner = server.stdout.readline()
        assert f"http://127.0.0.1:{port}" in banner, (tmp_path / "stderr.txt").read_text()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/todos",
            data=json.dumps({"title": title}).encode(),
            headers={"x-api-key": "start-test-key", "content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 201
            todo_id = json.loads(response.read())["id"]
        activity = urllib.request.Request(f"http://127.0.0.1:{port}/activity", headers={"x-api-key": "start-test-key"})
        deadline, types = time.monotonic() + 5, list[str]()
        while time.monotonic() < deadline and not types:
            with urllib.request.urlopen(activity, timeout=30) as response:
                types = [e["type"] for e in json.loads(response.read())["items"] if e["todo_id"] == todo_id]
            time.sleep(0.2)
        assert types == ["todo.created"]  # the stream consumer runs under `make start`
        assert todo_id in (tmp_path / "events.jsonl").read_text(encoding="utf-8")  # and publishes locally
        server.send_signal(signal.SIGTERM)
        assert server.wait(30) == 0
        assert not (tmp_path / "endpoint").exists()
        assert processes_mentioning(str(tmp_path)) == []  # DynamoDB Local stopped with the server
    finally:
        errors.close()
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)  # the DynamoDB Local watchdog still stops the JVM
                server.wait()
    with dynamodb.DynamoDBLocal(tmp_path) as again:  # the same data folder, a new process
        items = dynamodb.client(again.endpoint).scan(TableName="todo-local-TodoTable")["Items"]
    assert any(value == {"S": title} for item in items for value in item.values())
