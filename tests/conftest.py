"""Shared fixtures: moto in-process, tables built from template.yaml, events from events/."""

import copy
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import settings

from devtools.limits import unlimited
from tests.cursors import TEST_SECRET

# Hypothesis fails an example that takes over 200 ms by default: a wall-clock assertion, which a
# loaded machine (or mutation testing's parallel runs) trips without any bug. No deadline.
settings.register_profile("no-deadline", deadline=None)
settings.load_profile("no-deadline")

UNLIMITED_PARAMETERS = unlimited()

# Dummy credentials and the functions' environment, before any boto3 client exists.
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SESSION_TOKEN="testing",
    AWS_DEFAULT_REGION="us-east-1",
    TABLE_NAME="todo-test",
    IDEMPOTENCY_TABLE_NAME="todo-idempotency-test",
    ACTIVITY_RETENTION_DAYS="90",
    POWERTOOLS_SERVICE_NAME="todo-api",
    POWERTOOLS_METRICS_NAMESPACE="TodoApi",
    POWERTOOLS_LOG_LEVEL="WARNING",
    AWS_LAMBDA_FUNCTION_NAME="todo-test",
    CURSOR_SECRET=TEST_SECRET,
)
# The local server's limits (template parameters, as `make start` reads them) out of the way of the
# tests of everything else: one key's requests here come faster than any tenant's rate. The tests of
# the limits themselves pass their own.
os.environ.setdefault("TEMPLATE_PARAMETERS", UNLIMITED_PARAMETERS)
for variable in [v for v in os.environ if v.startswith("AWS_ENDPOINT_URL")]:
    del os.environ[variable]

from devtools.emulator import dynamodb  # noqa: E402
from devtools.emulator.context import LambdaContext  # noqa: E402
from devtools.loader import load_module  # noqa: E402
from devtools.moto_harness import api_handlers, moto_tables  # noqa: E402
from todo_api import wiring  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"
TABLES = {"TodoTable": "todo-test", "IdempotencyTable": "todo-idempotency-test", "UsageTable": "todo-usage-test"}
KEYS = {"acme": "acme-key-1", "globex": "globex-key-1"}


def load_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text(encoding="utf-8"))
    return event


@pytest.fixture
def aws() -> Iterator[Any]:
    with moto_tables(TABLES) as client:
        store = wiring.key_store()
        for tenant, key in KEYS.items():
            store.add(tenant, key)
        yield client


@pytest.fixture(scope="session")
def ddb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dynamodb.DynamoDBLocal]:
    """DynamoDB Local (AWS's jar) in a temporary folder, with the template's tables, once per run."""
    with dynamodb.running(tmp_path_factory.mktemp("dynamodb")) as local:
        yield local


@pytest.fixture(scope="session")
def functions() -> dict[str, ModuleType]:
    loaded = api_handlers("functions_")
    loaded["AuthorizerFunction"] = load_module(ROOT / "functions/authorizer", "app.lambda_handler", "fn_authorizer")
    return loaded


Context = LambdaContext  # the one Lambda context stand-in, as the tests call it


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: Any


ROUTES = {
    ("POST", "/todos"): ("CreateTodoFunction", "create_todo"),
    ("GET", "/todos"): ("ListTodosFunction", "list_todos"),
    ("GET", "/todos/{todo_id}"): ("GetTodoFunction", "get_todo"),
    ("PUT", "/todos/{todo_id}"): ("UpdateTodoFunction", "update_todo"),
    ("PATCH", "/todos/{todo_id}"): ("UpdateTodoFunction", "update_todo"),
    ("DELETE", "/todos/{todo_id}"): ("DeleteTodoFunction", "delete_todo"),
    ("GET", "/activity"): ("ListActivityFunction", "list_activity"),
    ("GET", "/"): ("DocsFunction", "docs"),
    ("GET", "/openapi.json"): ("DocsFunction", "docs"),
    ("GET", "/docs"): ("DocsFunction", "docs"),
}


Api = Callable[..., Reply]


@pytest.fixture
def api(aws: Any, functions: dict[str, ModuleType]) -> Api:
    """Call a route's function on moto with its events/ sample, changed as asked, as the gateway would."""
    return gateway_caller(functions)


def gateway_caller(functions: dict[str, ModuleType]) -> Api:
    """Call a route's function with its events/ sample, changed as asked, as the gateway would
    (on whatever DynamoDB the environment points the functions at)."""

    def call(
        method: str,
        path: str,
        body: Any = None,
        *,
        tenant: str | None = "acme",
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
        raw_body: str | None = None,
        base64: bool = False,
    ) -> Reply:
        segments = path.strip("/").split("/")
        resource = "/todos/{todo_id}" if len(segments) == 2 and segments[0] == "todos" else path
        function, sample = ROUTES[(method, resource)]
        event = copy.deepcopy(load_event(sample))
        event.update(httpMethod=method, path=path, resource=resource)
        event["requestContext"].update(httpMethod=method, resourcePath=resource, path=f"/dev{path}")
        event["pathParameters"] = {"todo_id": segments[1]} if resource.endswith("{todo_id}") else None
        event["queryStringParameters"] = query
        event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()} if query else None
        if raw_body is not None:
            event["body"] = raw_body
        else:
            event["body"] = None if body is None else json.dumps(body)
        event["isBase64Encoded"] = base64
        for name in ("If-Match", "Idempotency-Key"):
            event["headers"].pop(name, None)
            event["multiValueHeaders"].pop(name, None)
        event["headers"].update(headers or {})
        event["multiValueHeaders"].update({k: [v] for k, v in (headers or {}).items()})
        if tenant is None:
            event["requestContext"].pop("authorizer", None)
        else:
            event["requestContext"]["authorizer"] = {"principalId": "test", "tenant": tenant}
        result = functions[function].lambda_handler(event, Context())
        headers_out = dict(result.get("headers") or {})
        for name, values in (result.get("multiValueHeaders") or {}).items():
            headers_out.setdefault(name, values[-1])
        text = result.get("body") or ""
        is_json = headers_out.get("Content-Type", "").startswith("application/json")
        return Reply(result["statusCode"], headers_out, json.loads(text) if text and is_json else text)

    return call
