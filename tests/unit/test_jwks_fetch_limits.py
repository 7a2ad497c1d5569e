"""What the authorizer's key-set fetch refuses, against real HTTP servers on this machine: a redirect
off the issuer's origin (another port is another origin; https -> http is one too), and a body
over the size cap (a key set is a few KiB; an endless body must not fill the authorizer's memory)."""

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from joserfc.jwk import RSAKey

from tests.servers import serving
from todo_api.adapters import tokens
from todo_api.adapters.tokens import IssuerUnavailable

KEY_SET = {"keys": [RSAKey.generate_key(2048, parameters={"kid": "k1", "alg": "RS256"}).as_dict(private=False)]}
CAP = 64 * 1024  # written out: the cap the module documents


class _Issuer(BaseHTTPRequestHandler):
    """/keys: the key set; /moved?to=<url>: a redirect there; /big?size=<n>: a JSON body of n bytes;
    /endless: a body that does not end before the client stops reading."""

    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _Issuer.hits.append(f"{self.server.server_address[1]}{self.path}")
        if self.path == "/keys":
            self._send(json.dumps(KEY_SET).encode())
        elif self.path.startswith("/moved?to="):
            self.send_response(302)
            self.send_header("Location", self.path.split("=", 1)[1])
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path.startswith("/big?size="):
            size = int(self.path.split("=", 1)[1])
            body = json.dumps({**KEY_SET, "pad": ""}).encode()
            self._send(body[:-2] + b"x" * (size - len(body)) + b'"}')
        elif self.path == "/endless":
            # declares 1 GiB, sends 128 KiB, then waits for the client to hang up: a client that
            # reads to the end waits out its timeout; one that stops at the cap is done at once
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(1 << 30))
            self.end_headers()
            self.wfile.write(b'{"pad": "' + b"x" * (2 * 65536))
            self.wfile.flush()
            self.rfile.read(1)

    def _send(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def two_origins() -> Iterator[tuple[str, str]]:
    _Issuer.hits = []
    with (
        serving(ThreadingHTTPServer(("127.0.0.1", 0), _Issuer)) as one,
        serving(ThreadingHTTPServer(("127.0.0.1", 0), _Issuer)) as other,
    ):
        yield one, other


def test_a_redirect_within_the_origin_is_followed(two_origins):
    issuer, _ = two_origins
    assert tokens.fetch_json(f"{issuer}/moved?to=/keys") == KEY_SET


def test_a_redirect_to_another_origin_is_refused_unfollowed(two_origins):
    issuer, other = two_origins
    with pytest.raises(IssuerUnavailable, match="redirect"):
        tokens.fetch_json(f"{issuer}/moved?to={other}/keys")
    other_port = other.rsplit(":", 1)[1]
    assert [hit for hit in _Issuer.hits if hit.startswith(other_port)] == []  # the other origin never asked


@pytest.mark.parametrize(
    ("start", "target", "same"),
    [
        ("https://id.example/keys", "https://id.example/other", True),
        ("https://id.example/keys", "https://ID.example:443/other", True),
        ("https://id.example/keys", "http://id.example/keys", False),  # a downgrade to plain HTTP
        ("https://id.example:8080/keys", "http://id.example:8080/keys", False),  # the same port, plain HTTP
        ("https://id.example/keys", "https://id.example:8443/keys", False),
        ("https://id.example/keys", "https://evil.example/keys", False),
        ("http://127.0.0.1:9000/keys", "http://127.0.0.1:9001/keys", False),
    ],
)
def test_the_origin_is_scheme_host_and_port(start, target, same):
    assert tokens.same_origin(start, target) is same


def test_a_key_set_up_to_the_cap_is_read(two_origins):
    issuer, _ = two_origins
    document = tokens.fetch_json(f"{issuer}/big?size={CAP}")
    assert document["keys"] == KEY_SET["keys"]


@pytest.mark.parametrize("path", [f"/big?size={CAP + 1}", "/endless"])
def test_a_body_over_the_cap_is_refused(two_origins, path, monkeypatch):
    issuer, _ = two_origins
    monkeypatch.setattr(tokens, "FETCH_TIMEOUT_SECONDS", 0.5)  # reading on would time out: a failure
    with pytest.raises(IssuerUnavailable, match="64 KiB"):
        tokens.fetch_json(f"{issuer}{path}")
