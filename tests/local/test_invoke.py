"""`make invoke`: one function on an events/ file, in process, against DynamoDB Local."""

import json
from typing import Any

import pytest

from devtools.emulator import dynamodb
from devtools.emulator.bus import LocalEventBus
from devtools.emulator.runner import FunctionError
from devtools.emulator.template import LocalServerError
from devtools.invoke import invoke
from tests.local.conftest import ROOT, TEMPLATE, isolated_process


def event(name: str) -> Any:
    return json.loads((ROOT / "events" / f"{name}.json").read_text(encoding="utf-8"))


def test_invoke_runs_a_function_on_an_event_file(ddb: dynamodb.DynamoDBLocal) -> None:
    with isolated_process():
        created = invoke("CreateTodoFunction", event("create_todo"), ddb.endpoint, TEMPLATE)
        assert created["statusCode"] == 201
        allowed = invoke("AuthorizerFunction", event("authorizer"), ddb.endpoint, TEMPLATE)  # its key is provisioned
        assert allowed["policyDocument"]["Statement"][0]["Effect"] == "Allow"


def test_invoke_runs_the_stream_consumer_on_a_batch(ddb: dynamodb.DynamoDBLocal) -> None:
    with isolated_process(), LocalEventBus(path=None) as bus:
        result = invoke("StreamConsumerFunction", event("stream_batch"), ddb.endpoint, TEMPLATE, bus.endpoint)
    assert result == {"batchItemFailures": []}
    assert [e["detail-type"] for e in bus.events] == ["todo.created", "todo.completed", "todo.deleted"]


def test_invoke_reports_function_errors_and_unknown_functions(ddb: dynamodb.DynamoDBLocal) -> None:
    unknown_key = event("authorizer")
    unknown_key["headers"]["x-api-key"] = "no-such-key"
    with isolated_process():
        with pytest.raises(FunctionError) as raised:
            invoke("AuthorizerFunction", unknown_key, ddb.endpoint, TEMPLATE)
        assert (raised.value.function, raised.value.message) == ("AuthorizerFunction", "Unauthorized")
        with pytest.raises(LocalServerError, match="no function 'Nope'"):
            invoke("Nope", {}, ddb.endpoint, TEMPLATE)


def test_env_json_names_the_local_tables_of_every_variable_that_refs_a_table() -> None:
    from devtools.emulator.template import LocalTemplate

    overrides = json.loads((ROOT / "env.json").read_text(encoding="utf-8"))["Parameters"]
    tables = dynamodb.table_names(TEMPLATE)
    for function in LocalTemplate.load(TEMPLATE).all_functions():
        for name, value in (function.environment or {}).get("Variables", {}).items():
            if value in tables:  # SAM CLI resolves `!Ref <Table>` to the table's logical id
                assert overrides.get(name) == tables[value], (function.name, name)
    assert overrides["AWS_ENDPOINT_URL_DYNAMODB"] == "http://host.docker.internal:8000"
