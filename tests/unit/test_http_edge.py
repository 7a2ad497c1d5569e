"""The HTTP edge in-process: a resolver made by `create_app()` and wrapped by `entry`, called with
REST proxy events built here (no function module, no AWS). Each test builds its own app, so what
`create_app` and `entry` set up is part of what the test checks."""

import json
from typing import Any

import pytest
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.metrics import MetricUnit

from devtools.emulator.context import LambdaContext as Context
from todo_api.domain.errors import StoreUnavailable, TodoNotFound, VersionConflict
from todo_api.domain.models import Todo
from todo_api.http import PageLimit, authorized_tenant, check_not_modified, create_app, entry, logger, metrics

SECURITY = {  # written out: todo_api.http.headers must say the same
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Strict-Transport-Security": "max-age=31536000",
}
CORS = {"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "ETag, Location, Retry-After"}
TODO = Todo(id="01JD7Z6ZQ4N8Y3T5V2W9X0ABCD", title="t", completed=False, version=3, created_at="x", updated_at="x")


def event(
    method: str = "GET",
    resource: str = "/things/{thing_id}",
    parameters: dict[str, str] | None = None,
    *,
    client_path: str | None = None,
    headers: dict[str, str] | None = None,
    body: str | None = None,
    tenant: Any = "acme",
) -> dict[str, Any]:
    parameters = {"thing_id": "abc"} if parameters is None and "{" in resource else parameters
    path = resource.replace("{thing_id}", (parameters or {}).get("thing_id", ""))
    client = client_path or path
    return {
        "resource": resource,
        "path": client,  # under a base path mapping, API Gateway's `path` starts with the base
        "httpMethod": method,
        "headers": dict(headers or {}),
        "multiValueHeaders": {name: [value] for name, value in (headers or {}).items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": parameters,
        "body": body,
        "isBase64Encoded": False,
        "requestContext": {
            "requestId": "request-7",
            "path": client,
            "stage": "dev",
            "httpMethod": method,
            "resourcePath": resource,
            "authorizer": {} if tenant is None else {"tenant": tenant},
        },
    }


def build() -> Any:
    app = create_app()

    @app.get("/things/<thing_id>")
    def get_thing(thing_id: str) -> Response[str]:
        if thing_id == "gone":
            raise TodoNotFound()
        if thing_id == "stale":
            raise VersionConflict()
        if thing_id == "busy":
            raise StoreUnavailable()
        if thing_id == "current":
            check_not_modified(app.current_event.headers.get("If-None-Match"), TODO)
        body = json.dumps({"thing": thing_id, "tenant": authorized_tenant(app), "path": app.current_event.path})
        return Response(200, content_types.APPLICATION_JSON, body, headers={"ETag": '"3"'})

    @app.post("/things")
    def post_thing() -> Response[str]:
        metrics.add_metric(name="ThingsMade", unit=MetricUnit.Count, value=1)
        return Response(201, content_types.APPLICATION_JSON, json.dumps(app.current_event.json_body))

    @app.get("/pages")
    def pages(limit: PageLimit = 50) -> dict[str, Any]:
        return {"limit": limit}

    @app.get("/bare")
    def bare() -> dict[str, Any]:
        return {"ok": True}

    @entry(app)
    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return app.resolve(event, context)

    return lambda_handler


def call(request: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
    """Status, headers (the resolver puts its own in `multiValueHeaders`) and JSON body."""
    result = build()(request, Context())
    headers = {name: ", ".join(values) for name, values in (result.get("multiValueHeaders") or {}).items()}
    headers.update(result["headers"])
    body = result["body"]
    return result["statusCode"], headers, json.loads(body) if body else None


def test_a_route_answers_with_its_own_headers_and_cors_beside_them():
    status, headers, body = call(event())
    assert status == 200
    assert body == {"thing": "abc", "tenant": "acme", "path": "/things/abc"}
    assert headers["ETag"] == '"3"'
    assert headers["Content-Type"] == "application/json"
    assert {k: headers[k] for k in CORS} == CORS
    assert headers["Vary"] == "Origin"


def test_cors_headers_reach_a_response_without_headers_of_its_own():
    result = build()(event(resource="/bare", parameters=None), Context())
    assert result["statusCode"] == 200
    assert {k: result["headers"][k] for k in CORS} == CORS


def test_under_a_base_path_the_route_is_found_by_the_apis_own_path():
    status, _, body = call(event(client_path="/v1/things/abc"))
    assert status == 200
    assert body["path"] == "/things/abc"


def test_the_correlation_id_is_the_request_id():
    build()(event(), Context())
    assert logger.get_correlation_id() == "request-7"


@pytest.mark.parametrize(
    ("thing", "status", "message"),
    [
        ("gone", 404, "Todo not found"),
        ("stale", 412, "Version mismatch: the todo was changed by another request"),
        ("busy", 503, "Storage is busy or unavailable, retry later"),
    ],
)
def test_domain_errors_become_their_status_with_cors(thing, status, message):
    answered, headers, body = call(event(parameters={"thing_id": thing}))
    assert (answered, body) == (status, {"error": message})
    assert {k: headers[k] for k in CORS} == CORS
    assert ("Retry-After" in headers) is (status == 503)


def test_an_unknown_route_is_a_json_404():
    status, headers, body = call(event(resource="/nowhere", parameters=None))
    assert (status, body) == (404, {"error": "Not found"})
    assert headers["Content-Type"] == "application/json"


def query(limit: str) -> dict[str, Any]:
    request = event(resource="/pages", parameters=None)
    request["queryStringParameters"], request["multiValueQueryStringParameters"] = {"limit": limit}, {"limit": [limit]}
    return request


def test_query_parameters_are_validated_and_converted():
    assert call(query("7"))[::2] == (200, {"limit": 7})
    status, _, body = call(query("0"))
    assert status == 400
    assert body["error"] == "Invalid request"
    assert [detail["loc"] for detail in body["details"]] == [["query", "limit"]]


def test_a_body_that_is_no_object_is_400():
    status, _, body = call(event("POST", "/things", headers={"Content-Type": "application/json"}, body="[]"))
    assert status == 400
    assert body == {"error": "Body must be a JSON object"}


def test_if_none_match_on_the_current_version_is_304_without_a_body():
    status, headers, body = call(event(parameters={"thing_id": "current"}, headers={"If-None-Match": '"3"'}))
    assert (status, body) == (304, None)
    assert headers["ETag"] == '"3"'
    assert {k: headers[k] for k in CORS} == CORS


@pytest.mark.parametrize("tenant", [None, "", 7])
def test_no_tenant_in_the_request_context_is_401(tenant):
    status, _, body = call(event(tenant=tenant))
    assert (status, body) == (401, {"error": "Missing or invalid API key"})


def test_a_body_refused_before_routing_is_a_proxy_result_with_cors():
    result = build()(event("POST", "/things", headers={"Content-Type": "text/plain"}, body="{}"), Context())
    assert result["statusCode"] == 415
    assert result["isBase64Encoded"] is False
    assert result["headers"] == {"Content-Type": "application/json", **CORS, "Vary": "Origin", **SECURITY}
    assert json.loads(result["body"]) == {"error": "Content-Type must be application/json, in UTF-8"}


def test_an_oversized_body_is_413():
    request = event(
        "POST", "/things", headers={"Content-Type": "application/json"}, body='{"a": "' + "x" * 70000 + '"}'
    )
    status, _, body = call(request)
    assert (status, body) == (413, {"error": "Request body too large (limit 65536 bytes)"})


def test_a_write_flushes_its_metric_and_leaves_none_behind(capsys):
    status, _, body = call(event("POST", "/things", headers={"Content-Type": "application/json"}, body='{"a": 1}'))
    assert (status, body) == (201, {"a": 1})
    assert metrics.metric_set == {}
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert any(line.get("ThingsMade") == [1.0] or line.get("ThingsMade") == 1.0 for line in printed)


def test_the_resolver_builds_each_header_map_once_per_request():
    """`TodoResolver` overrides Powertools' private `_to_proxy_event` (and passes it the private
    `_json_body_deserializer`) so that the event caches its header maps: fails on an upgrade
    that stops calling it, or that builds the maps anew on each access."""
    app = create_app()
    seen: dict[str, Any] = {}

    @app.get("/things/<thing_id>")
    def get_thing(thing_id: str) -> dict[str, Any]:
        current = app.current_event
        seen["same_headers"] = current.headers is current.headers
        seen["same_multi"] = current.multi_value_headers is current.multi_value_headers
        seen["header"] = current.headers.get("x-custom")
        seen["body"] = current.json_body
        return {"id": thing_id}

    request = event(headers={"X-Custom": "yes", "Content-Type": "application/json"}, body='{"a": 1}')
    answer = entry(app)(lambda e, c: app.resolve(e, c))(request, Context())
    assert answer["statusCode"] == 200, answer
    assert seen == {"same_headers": True, "same_multi": True, "header": "yes", "body": {"a": 1}}


def test_the_cached_header_maps_equal_powertools_own():
    """The resolver fills Powertools' CaseInsensitiveDict itself (faster than its constructor):
    the same class, keys and values as Powertools builds, found in any case."""
    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

    from todo_api.http.resolver import _RestEvent

    request = event(headers={"If-None-Match": '"3"', "X-Forwarded-For": "1.2.3.4", "cookie": "a=b"})
    ours, theirs = _RestEvent(request), APIGatewayProxyEvent(request)
    for mine, powertools in [(ours.headers, theirs.headers), (ours.multi_value_headers, theirs.multi_value_headers)]:
        assert type(mine) is type(powertools)
        assert mine == powertools
        assert mine.get("if-none-match") == mine.get("IF-NONE-MATCH") == powertools.get("If-None-Match")
    assert _RestEvent({**request, "headers": None, "multiValueHeaders": None}).headers == {}
