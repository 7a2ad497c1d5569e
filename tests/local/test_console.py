"""The local console's parts that need no browser: who may read it (loopback peers and Host names
only), what it redacts, and its windows staying bounded however many requests the gateway serves.

The console app runs behind `mount` over a stand-in gateway app, and its recorder is fed by a Flask
app calling the hook as the gateway does (the browser test drives the real `make start`).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from werkzeug.test import Client

from devtools.local.console import redact
from devtools.local.console.app import create_app, loopback, mount
from devtools.local.console.recorder import Recorder

LOOPBACK = {"REMOTE_ADDR": "127.0.0.1"}


class NoSources:
    KINDS = ("todos",)

    def functions(self) -> list[Any]:
        return []

    def mappings(self) -> list[Any]:
        return []

    def dead_letters(self) -> list[Any]:
        return []

    def published(self) -> list[Any]:
        return []

    def routes(self) -> list[Any]:
        return []

    def tenants(self) -> list[str]:
        return []


def gateway_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"the gateway"]


def client(secrets: list[str] | None = None, recorder: Recorder | None = None) -> Client:
    console = create_app(recorder or Recorder(), NoSources(), secrets=lambda: secrets or [])  # type: ignore[arg-type]
    return Client(mount(gateway_app, console))


@pytest.mark.parametrize("peer", ["127.0.0.1", "127.0.0.53", "::1", "::ffff:127.0.0.1"])
@pytest.mark.parametrize("host", ["127.0.0.1:3000", "localhost:3000", "localhost", "[::1]:3000", "127.0.0.1"])
def test_a_loopback_peer_with_a_loopback_host_reads_the_console(peer: str, host: str) -> None:
    response = client().get("/_console/api/requests", environ_base={"REMOTE_ADDR": peer}, headers={"Host": host})
    assert response.status_code == 200, (peer, host)
    assert response.get_json() == {"requests": []}


@pytest.mark.parametrize("peer", ["192.0.2.2", "10.0.0.1", "::ffff:192.0.2.2", "2001:db8::1", ""])
@pytest.mark.parametrize("path", ["/_console/", "/_console", "/_console/api/requests", "/_console/static/console.js"])
def test_a_peer_off_the_loopback_is_refused(peer: str, path: str) -> None:
    response = client().get(path, environ_base={"REMOTE_ADDR": peer}, headers={"Host": "127.0.0.1:3000"})
    assert response.status_code == 403
    assert response.get_json() == {"error": "The local console answers loopback clients only"}


@pytest.mark.parametrize(
    "host", ["console.example", "console.example:3000", "192.0.2.7:3000", "127.0.0.1.example", "localhost.evil.com", ""]
)
def test_a_host_off_the_loopback_is_refused(host: str) -> None:
    response = client().get("/_console/", environ_base={"REMOTE_ADDR": "127.0.0.1"}, headers={"Host": host})
    assert response.status_code == 403


def test_everything_else_goes_to_the_gateway_whoever_asks() -> None:
    for path in ("/", "/todos", "/_consoles", "/x/_console/"):
        response = client().get(path, environ_base={"REMOTE_ADDR": "192.0.2.2"})
        assert response.status_code == 200
        assert response.data == b"the gateway"


def test_loopback_names() -> None:
    for name in ("127.0.0.1", "LOCALHOST.", "app.localhost:8080", "[::1]"):
        assert loopback(name), name
    for name in ("0.0.0.0", "127.0.0.1.nip.io", "[2001:db8::1]:80", "192.0.2.2"):
        assert not loopback(name), name


def test_events_lose_their_keys_tokens_and_cookies() -> None:
    token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"
    event = {
        "headers": {"x-api-key": "k-123", "Authorization": f"Bearer {token}", "Cookie": "s=1", "Accept": "*/*"},
        "multiValueHeaders": {"X-Api-Key": ["k-123"], "Accept": ["*/*"]},
        "queryStringParameters": {"access_token": "t-1", "limit": "5"},
        "requestContext": {"identity": {"apiKey": "k-123", "apiKeyId": "id-1"}, "authorizer": {"tenant": "demo"}},
        "body": json.dumps({"title": f"token {token} inside"}),
        "note": f"Bearer {token}",
    }
    shown = redact.value(event)
    text = json.dumps(shown)
    for secret in ("k-123", token, "t-1", "s=1"):
        assert secret not in text
    assert shown["headers"]["Accept"] == "*/*"
    assert shown["queryStringParameters"]["limit"] == "5"
    assert shown["requestContext"]["identity"]["apiKeyId"] == "id-1"
    assert shown["requestContext"]["authorizer"] == {"tenant": "demo"}
    assert redact.path("/todos?api_key=k-123&limit=5") == "/todos?api_key=[redacted]&limit=5"
    assert redact.body(b'{"token": "abc", "id": "1"}') == {"token": "[redacted]", "id": "1"}


def test_a_configured_key_is_replaced_wherever_it_shows() -> None:
    recorder = Recorder()
    app = Flask(__name__)
    recorder_hooked_gateway(app, recorder)
    app.test_client().get("/todos/the-secret-key-1", headers={"x-api-key": "the-secret-key-1"})
    answer = client(["the-secret-key-1"], recorder).get("/_console/api/requests", environ_base=LOOPBACK)
    assert "the-secret-key-1" not in answer.get_data(as_text=True)
    assert answer.get_json()["requests"][0]["path"] == "/todos/[redacted]"


def recorder_hooked_gateway(app: Flask, recorder: Recorder) -> None:
    """A Flask app whose one route calls the recorder's hook as the gateway does, after its log line."""

    @app.get("/todos/<todo_id>")
    def get(todo_id: str) -> Any:
        return {"id": todo_id}

    @app.after_request
    def record(response: Any) -> Any:
        recorder.on_request("GET /todos/x 200 GetTodoFunction 1ms", response)
        return response


def test_the_windows_stay_bounded() -> None:
    recorder = Recorder(requests=50, details=5)
    app = Flask(__name__)
    recorder_hooked_gateway(app, recorder)
    test_client = app.test_client()
    for n in range(120):
        test_client.get(f"/todos/{n}")
    assert len(recorder.requests) == 50
    assert len(recorder.details) == 5
    assert [r.path for r in recorder.requests][-1] == "/todos/119"
    assert recorder.detail(recorder.requests[-1].seq) is not None
    assert recorder.detail(recorder.requests[0].seq) is None  # its detail left the smaller window
