"""Real clients behind any base path and in browsers: `Location` and the served document follow the
path the client called (`requestContext.path`), and every response carries the CORS headers, the
template's gateway responses and preflights included."""

import json

import pytest

from devtools.expand_template import expand
from tests.conftest import Context, load_event
from todo_api.settings import get_settings

EXPOSED = "ETag, Location, Retry-After"

# (the client's path as API Gateway reports it, the event's `path`, the base the client sees)
BASES = {
    "stage URL": ("/dev/todos", "/todos", "/dev"),
    "custom domain, base path mapping": ("/v1/todos", "/v1/todos", "/v1"),
    "custom domain, nested base path": ("/api/v2/todos", "/api/v2/todos", "/api/v2"),
    "custom domain root, make start": ("/todos", "/todos", ""),
}


def _create_event(client_path: str, path: str) -> dict:
    event = load_event("create_todo")
    event.update(path=path, resource="/todos", httpMethod="POST", body=json.dumps({"title": "behind a base"}))
    event["requestContext"].update(path=client_path, resourcePath="/todos", httpMethod="POST")
    event["requestContext"]["authorizer"] = {"principalId": "test", "tenant": "acme"}
    for name in ("Idempotency-Key", "If-Match"):
        event["headers"].pop(name, None)
        event["multiValueHeaders"].pop(name, None)
    return event


def _headers(result: dict) -> dict:
    headers = dict(result.get("headers") or {})
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.setdefault(name, values[-1])
    return headers


@pytest.mark.parametrize(("client_path", "path", "base"), BASES.values(), ids=BASES.keys())
def test_location_is_below_the_clients_base_path(aws, functions, client_path, path, base):
    result = functions["CreateTodoFunction"].lambda_handler(_create_event(client_path, path), Context())
    assert result["statusCode"] == 201, result["body"]
    todo = json.loads(result["body"])
    assert _headers(result)["Location"] == f"{base}/todos/{todo['id']}"


@pytest.mark.parametrize(("client_path", "path", "base"), BASES.values(), ids=BASES.keys())
def test_an_item_route_is_found_behind_any_base_path(api, aws, functions, client_path, path, base):
    todo = api("POST", "/todos", {"title": "one"}).body
    event = load_event("get_todo")
    event.update(path=path + f"/{todo['id']}", resource="/todos/{todo_id}", pathParameters={"todo_id": todo["id"]})
    event["requestContext"].update(path=client_path + f"/{todo['id']}", resourcePath="/todos/{todo_id}")
    event["requestContext"]["authorizer"] = {"principalId": "test", "tenant": "acme"}
    event["headers"].pop("If-None-Match", None)
    event["multiValueHeaders"].pop("If-None-Match", None)
    result = functions["GetTodoFunction"].lambda_handler(event, Context())
    assert result["statusCode"] == 200, result["body"]
    assert json.loads(result["body"])["id"] == todo["id"]


@pytest.mark.parametrize(("client_path", "path", "base"), BASES.values(), ids=BASES.keys())
def test_the_served_document_and_swagger_ui_point_at_the_base_path(aws, functions, client_path, path, base):
    prefix = client_path.removesuffix("/todos")
    for route in ("/openapi.json", "/docs"):
        event = load_event("docs")
        event.update(path=path.removesuffix("/todos") + route, resource=route, httpMethod="GET", pathParameters=None)
        event["requestContext"].update(path=prefix + route, resourcePath=route, httpMethod="GET")
        result = functions["DocsFunction"].lambda_handler(event, Context())
        assert result["statusCode"] == 200, (route, result["body"][:300])
        if route == "/openapi.json":
            assert json.loads(result["body"])["servers"] == [{"url": base or "/"}]
        else:
            assert f'"url": "{base or "/"}"' in result["body"]


def _every_kind_of_response(api) -> list:
    todo = api("POST", "/todos", {"title": "cors"})
    return [
        todo,
        api("GET", f"/todos/{todo.body['id']}"),
        api("GET", "/todos"),
        api("GET", "/todos/01JD7Z6ZQ4N8Y3T5V2W9X0ABCD"),  # 404 from the function
        api("POST", "/todos", raw_body="{}"),  # 400 from validation
        api("POST", "/todos", raw_body="[]"),  # 400 from the body guard, before routing
        api("POST", "/todos", raw_body='{"title": "x"}', headers={"Content-Type": "text/plain"}),  # 415
        api("PATCH", f"/todos/{todo.body['id']}", {"completed": True}, headers={"If-Match": '"9"'}),  # 412
        api("GET", "/activity"),
        api("GET", "/openapi.json", tenant=None),
        api("GET", "/", tenant=None),
    ]


def test_every_function_response_allows_any_origin_by_default(api, aws):
    replies = _every_kind_of_response(api)
    assert {reply.status for reply in replies} >= {200, 201, 400, 404, 412, 415}
    for reply in replies:
        assert reply.headers["Access-Control-Allow-Origin"] == "*", (reply.status, reply.headers)
        assert reply.headers["Access-Control-Expose-Headers"] == EXPOSED
        assert reply.headers["Vary"] == "Origin"


def test_one_allowed_origin_is_named_with_vary(api, aws, monkeypatch):
    monkeypatch.setenv("CORS_ALLOW_ORIGIN", "https://app.example.com")
    get_settings.cache_clear()
    try:
        for reply in _every_kind_of_response(api):
            assert reply.headers["Access-Control-Allow-Origin"] == "https://app.example.com", reply.status
            assert reply.headers["Vary"] == "Origin"
            assert reply.headers["Access-Control-Expose-Headers"] == EXPOSED
    finally:
        monkeypatch.delenv("CORS_ALLOW_ORIGIN")
        get_settings.cache_clear()


@pytest.fixture(scope="module")
def expanded_api():
    # CloudFormation's AWS::LanguageExtensions resolves the parameter before the SAM transform runs.
    return expand({"CorsAllowOrigin": "https://app.example.com"})["Resources"]["TodoApi"]["Properties"]["Body"]


def test_the_gateway_answers_every_preflight_without_authorizer_or_key(expanded_api):
    for path, operations in expanded_api["paths"].items():
        preflight = operations["options"]
        assert "security" not in preflight, path
        integration = preflight["x-amazon-apigateway-integration"]
        assert integration["type"] == "mock", path
        headers = integration["responses"]["default"]["responseParameters"]
        assert headers["method.response.header.Access-Control-Allow-Origin"] == "'https://app.example.com'"
        allowed = headers["method.response.header.Access-Control-Allow-Headers"].strip("'").split(",")
        assert {h.lower() for h in allowed} >= {
            "x-api-key",
            "authorization",
            "content-type",
            "if-match",
            "if-none-match",
            "idempotency-key",
        }
        methods = set(headers["method.response.header.Access-Control-Allow-Methods"].strip("'").split(","))
        assert methods >= {"GET", "POST", "PUT", "PATCH", "DELETE"}


@pytest.mark.parametrize(
    "response_type",
    [
        "UNAUTHORIZED",
        "ACCESS_DENIED",
        "MISSING_AUTHENTICATION_TOKEN",
        "RESOURCE_NOT_FOUND",
        "REQUEST_TOO_LARGE",
        "THROTTLED",
        "AUTHORIZER_FAILURE",
        "DEFAULT_4XX",
        "DEFAULT_5XX",
    ],
)
def test_every_gateway_response_carries_cors_headers(expanded_api, response_type):
    parameters = expanded_api["x-amazon-apigateway-gateway-responses"][response_type]["responseParameters"]
    assert parameters["gatewayresponse.header.Access-Control-Allow-Origin"] == "'https://app.example.com'"
    assert parameters["gatewayresponse.header.Access-Control-Expose-Headers"] == f"'{EXPOSED}'"
    assert parameters["gatewayresponse.header.Vary"] == "'Origin'"
