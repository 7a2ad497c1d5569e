"""The security headers of every answer (todo_api.http.headers): the functions', the template's
gateway responses and the local gateway's own, over real HTTP on `make start`'s server."""

import pytest
import requests

from devtools.emulator.template import document
from devtools.local.serve import served

# Written out, not imported: the test must not take the code under test as its oracle.
EXPECTED = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Strict-Transport-Security": "max-age=31536000",
}


def test_every_gateway_response_of_the_template_carries_them():
    responses = document()["Resources"]["TodoApi"]["Properties"]["GatewayResponses"]
    # The answers API Gateway gives itself: a key refused, a caller over its limits, the stage's
    # throttle, a throttled function, a too large body, and the defaults of every other.
    assert set(responses) >= {
        "UNAUTHORIZED",
        "ACCESS_DENIED",
        "THROTTLED",
        "INTEGRATION_FAILURE",
        "REQUEST_TOO_LARGE",
        "DEFAULT_4XX",
        "DEFAULT_5XX",
    }
    for response_type, response in responses.items():
        headers = response["ResponseParameters"]["Headers"]
        # a static value is in single quotes, a quote inside it doubled
        values = {name: value[1:-1].replace("''", "'") for name, value in headers.items() if isinstance(value, str)}
        assert {name: values.get(name) for name in EXPECTED} == EXPECTED, response_type


@pytest.fixture(scope="module")
def server():
    with served({"headers": "headers-key-1"}) as running:
        yield running.url


KEY = {"x-api-key": "headers-key-1"}


@pytest.mark.parametrize(
    ("method", "path", "headers", "status"),
    [
        ("GET", "/", {}, 200),  # the docs function
        ("GET", "/openapi.json", {}, 200),
        ("GET", "/todos", KEY, 200),  # a list function
        ("POST", "/todos", {**KEY, "Content-Type": "application/json"}, 400),  # an error of a function
        ("GET", "/todos?cursor=forged", KEY, 400),
        ("GET", "/todos/01JD7Z6ZQ4N8Y3T5V2W9X0ABCD", KEY, 404),
        ("GET", "/todos", {}, 401),  # the gateway's UNAUTHORIZED
        ("GET", "/todos", {"x-api-key": "wrong"}, 401),
        ("GET", "/nowhere", KEY, 404),  # MISSING_AUTHENTICATION_TOKEN
        ("DELETE", "/", {}, 404),
    ],
)
def test_every_answer_carries_them(server, method, path, headers, status):
    reply = requests.request(
        method, server + path, headers=headers, data=b"[" if method == "POST" else None, timeout=30
    )
    assert reply.status_code == status
    assert {name: reply.headers.get(name) for name in EXPECTED} == EXPECTED


def test_a_body_too_large_for_the_gateway_carries_them(server):
    reply = requests.post(server + "/todos", headers=KEY, data=b"x" * (10 * 1024 * 1024 + 1), timeout=60)
    assert reply.status_code == 413
    assert {name: reply.headers.get(name) for name in EXPECTED} == EXPECTED


def test_the_swagger_ui_page_has_a_policy_of_its_own(server):
    reply = requests.get(server + "/docs", timeout=30)
    assert reply.status_code == 200
    policy = reply.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy
    assert "script-src 'sha256-" in policy
    assert "unsafe-inline" not in policy.split("script-src", 1)[1].split(";", 1)[0]
    others = {name: value for name, value in EXPECTED.items() if name != "Content-Security-Policy"}
    assert {name: reply.headers.get(name) for name in others} == others
