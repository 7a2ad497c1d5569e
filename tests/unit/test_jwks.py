"""The issuer's key set as the authorizer fetches it: which URLs it accepts, where discovery looks,
and the HTTP request itself (against a server on this machine)."""

import json
import socket
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from typing import Any, ClassVar

import pytest
from joserfc.jwk import RSAKey

from todo_api.adapters import tokens
from todo_api.adapters.tokens import IssuerUnavailable, Jwks

KEY = RSAKey.generate_key(2048, parameters={"kid": "k1", "alg": "RS256"})
KEY_SET = {"keys": [KEY.as_dict(private=False)]}


def recording(documents: dict[str, Any]) -> tuple[list[str], Any]:
    fetched: list[str] = []

    def fetch(url: str) -> Any:
        fetched.append(url)
        return documents[url]

    return fetched, fetch


@pytest.mark.parametrize("url", ["https://id.example/keys", "http://localhost:8080/keys", "http://127.0.0.1/keys"])
def test_https_or_plain_http_to_this_machine_is_accepted(url):
    fetched, fetch = recording({url: KEY_SET})
    assert Jwks("https://id.example", url, fetch).key("k1", "RS256").kid == "k1"
    assert fetched == [url]  # the key set's own URL, no discovery


@pytest.mark.parametrize("url", ["http://id.example/keys", "ftp://localhost/keys", "file:///etc/keys"])
def test_other_urls_are_refused_by_name(url):
    with pytest.raises(ValueError, match=r"^issuer URLs must be https") as raised:
        Jwks("https://id.example", url)
    assert str(raised.value) == f"issuer URLs must be https (or http on localhost): {url!r}"


def test_discovery_is_below_the_issuer_less_its_trailing_slash():
    issuer = "https://id.example/realms/X/"
    discovery = "https://id.example/realms/X/.well-known/openid-configuration"
    jwks_uri = "https://id.example/realms/X/certs"
    fetched, fetch = recording({discovery: {"issuer": issuer, "jwks_uri": jwks_uri}, jwks_uri: KEY_SET})
    assert Jwks(issuer, None, fetch).key("k1", "RS256").kid == "k1"
    assert fetched == [discovery, jwks_uri]


class _Recorder(BaseHTTPRequestHandler):
    accepts: ClassVar[list[str | None]] = []

    def do_GET(self) -> None:
        _Recorder.accepts.append(self.headers.get("Accept"))
        status, body = (200, json.dumps(KEY_SET).encode()) if self.path == "/keys" else (500, b"down")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    with ThreadingHTTPServer(("127.0.0.1", 0), _Recorder) as httpd:
        thread = Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        _Recorder.accepts = []
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
        httpd.shutdown()


def test_the_key_set_is_asked_for_as_json(server):
    assert tokens.fetch_json(f"{server}/keys") == KEY_SET
    assert _Recorder.accepts == ["application/json"]


def test_an_issuer_answering_an_error_is_unavailable_naming_the_url(server):
    with pytest.raises(IssuerUnavailable) as raised:
        tokens.fetch_json(f"{server}/down")
    assert str(raised.value).startswith(f"cannot fetch {server}/down: HTTP Error 500")


def test_an_issuer_that_never_answers_is_unavailable_after_the_timeout(monkeypatch):
    # A listening socket that never accepts: the connection is made, the answer never comes.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        monkeypatch.setattr(tokens, "FETCH_TIMEOUT_SECONDS", 0.2)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/keys"
        with pytest.raises(IssuerUnavailable, match="timed out"):
            tokens.fetch_json(url)


def test_a_discovery_document_of_another_issuer_is_refused():
    discovery = "https://id.example/.well-known/openid-configuration"
    _, fetch = recording({discovery: {"issuer": "https://evil.example", "jwks_uri": "https://evil.example/keys"}})
    with pytest.raises(IssuerUnavailable) as raised:
        Jwks("https://id.example", None, fetch).key("k1", "RS256")
    assert str(raised.value) == "the discovery document names another issuer"


def test_a_key_set_that_is_no_jwks_is_unavailable():
    _, fetch = recording({"https://id.example/keys": {"keys": [{"kty": "nonsense"}]}})
    with pytest.raises(IssuerUnavailable) as raised:
        Jwks("https://id.example", "https://id.example/keys", fetch).key("k1", "RS256")
    assert str(raised.value).startswith("the issuer's key set is not a JWKS: ")


def test_an_unknown_key_id_refreshes_the_key_set_again_once_a_minute_has_passed():
    old, rotated = (RSAKey.generate_key(2048, parameters={"kid": kid, "alg": "RS256"}) for kid in ("k0", "k2"))
    answers = iter([{"keys": [old.as_dict(private=False)]}, KEY_SET, {"keys": [rotated.as_dict(private=False)]}])
    fetched: list[str] = []

    def fetch(url: str) -> Any:
        fetched.append(url)
        return next(answers)

    now = iter([0.0, 0.0, 60.0, 60.0])  # each refresh reads the clock to check, then to record
    jwks = Jwks("https://id.example", "https://id.example/keys", fetch, clock=lambda: next(now))
    assert jwks.key("k1", "RS256").kid == "k1"  # not in the first set: fetched again at once
    assert jwks.key("k2", "RS256").kid == "k2"  # a minute later, to the second: fetched again
    assert len(fetched) == 3
