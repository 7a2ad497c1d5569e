"""API Gateway's own limits at `make start`'s gateway, through the real server process: a payload over
10 MB refused before any function without reading it into memory, stalled or silent client
connections closed after a timeout, and odd paths answered with the contract's JSON."""

from __future__ import annotations

import http.client
import json
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from devtools.emulator.gateway import PAYLOAD_LIMIT
from devtools.local.serve import Served, served

TENANT = "limits"
KEY = f"{TENANT}-{secrets.token_hex(16)}"
CLIENT_TIMEOUT = 2  # seconds of silence before the server closes a connection (TODO_LOCAL_CLIENT_TIMEOUT)
TOO_LARGE = {"error": "Request body too large"}  # the template's REQUEST_TOO_LARGE gateway response
MB = 1024 * 1024


@pytest.fixture(scope="module")
def server() -> Iterator[Served]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TODO_LOCAL_CLIENT_TIMEOUT", str(CLIENT_TIMEOUT))
        with served({TENANT: KEY}) as local:
            yield local


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Any:
    """`figures(name, value)`: print a measured figure of this test (seen with -s or on failure)."""
    return lambda name, value: print(f"[gateway limits] {request.node.name}: {name} = {value}")


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM (peak RSS) in kB and Threads of a process, from /proc."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM", "Threads"):
            values[name] = int(value.split()[0])
    return values


def address(server: Served) -> tuple[str, int]:
    parts = urlsplit(server.url)
    return str(parts.hostname), int(parts.port or 80)


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of one HTTP response read from `sock` (the server closes after it)."""
    data = b""
    while b"\r\n\r\n" not in data:
        part = sock.recv(65536)
        if not part:
            raise AssertionError(f"connection closed before a response: {data!r}")
        data += part
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        part = sock.recv(65536)
        if not part:
            break
        body += part
    return int(lines[0].split()[1]), headers, body[:length]


def post_streaming(server: Served, total: int, *, chunked: bool) -> tuple[int, dict[str, str], bytes, int]:
    """POST /todos with a `total`-byte body, sent in 1 MB pieces while the response is read."""
    sock = socket.create_connection(address(server), timeout=120)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}"
    sock.sendall(
        (
            f"POST /todos HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: {KEY}\r\n"
            f"Content-Type: application/json\r\n{framing}\r\n\r\n"
        ).encode()
    )
    sent = [0]

    def pump() -> None:
        piece = b"x" * MB
        try:
            while sent[0] < total:
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                sent[0] += len(piece)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        except OSError:  # the server answered and closed: the client stops sending
            pass

    sender = threading.Thread(target=pump, daemon=True)
    sender.start()
    try:
        status, headers, body = read_response(sock)
    finally:
        sender.join(120)
        sock.close()
    return status, headers, body, sent[0]


def log_lines(server: Served, since: int = 0) -> list[str]:
    """The server's log lines written after byte `since` of its log."""
    with server.log.open("rb") as log:
        log.seek(since)
        return log.read().decode("utf-8", errors="replace").splitlines()


def test_a_300_mb_post_is_refused_by_the_gateway_without_reading_it(server: Served, figures: Any) -> None:
    pid = server.process.pid
    before = proc_status(pid)
    offset = server.log.stat().st_size
    for chunked in (False, True):
        status, headers, body, sent = post_streaming(server, 300 * MB, chunked=chunked)
        assert (status, json.loads(body)) == (413, TOO_LARGE), body
        assert headers["content-type"] == "application/json"
        assert headers["access-control-expose-headers"] == "ETag, Location, Retry-After"
        figures(
            f"300 MB POST ({'chunked' if chunked else 'Content-Length'}): MB the client sent (drained, never kept)",
            sent // MB,
        )
    after = proc_status(pid)
    figures(
        "server RSS before / peak after two 300 MB POSTs (MB)", f"{before['VmRSS'] // 1024} / {after['VmHWM'] // 1024}"
    )
    assert after["VmHWM"] < 250 * 1024, after
    # No function saw them: the gateway answered both itself.
    posts = [line.rsplit(" ", 1)[0] for line in log_lines(server, offset) if line.startswith("POST ")]
    assert posts == ["POST /todos 413 -", "POST /todos 413 -"]


def test_a_body_of_exactly_10_mb_reaches_the_function(server: Served) -> None:
    """The limit is the gateway's, not a lower one: 10 MB passes and the function's own 64 KiB rule answers."""
    offset = server.log.stat().st_size
    status, _, body, _ = post_streaming(server, PAYLOAD_LIMIT, chunked=True)
    assert status == 413
    assert json.loads(body) != TOO_LARGE  # the function's own answer, not the gateway's
    posts = [line for line in log_lines(server, offset) if line.startswith("POST ")]
    assert [line.split()[:4] for line in posts] == [["POST", "/todos", "413", "CreateTodoFunction"]]


def test_stalled_and_silent_connections_are_closed_after_the_timeout(server: Served, figures: Any) -> None:
    pid = server.process.pid
    baseline = proc_status(pid)["Threads"]
    stalled, silent = [], []
    for n in range(300):
        sock = socket.create_connection(address(server), timeout=120)
        if n % 2:
            # Content-Length larger than what is sent: the body never completes.
            sock.sendall(
                f"POST /todos HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: {KEY}\r\n"
                f'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{"title": "st'.encode()
            )
            stalled.append(sock)
        else:
            silent.append(sock)  # connected, nothing sent
    figures("server threads: before / with 300 stalled connections", f"{baseline} / {proc_status(pid)['Threads']}")
    opened = time.monotonic()
    answers = []
    for sock in stalled:
        status, _, body = read_response(sock)  # waits, with the socket's own 120 s timeout
        answers.append((status, json.loads(body)))
        sock.close()
    assert set(map(json.dumps, answers)) == {json.dumps([408, {"error": "Request timeout"}])}
    for sock in silent:
        assert sock.recv(1) == b""  # closed by the server, no answer to a request never sent
        sock.close()
    figures("seconds until all 300 were closed", round(time.monotonic() - opened, 1))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc_status(pid)["Threads"] > baseline + 5:
        time.sleep(0.1)
    threads = proc_status(pid)["Threads"]
    figures("server threads after they were closed", threads)
    assert threads <= baseline + 5
    assert get(server, "/", None)[0] == 200  # still serving


def get(server: Served, path: str, key: str | None = KEY) -> tuple[int, str, Any]:
    """GET `path` exactly as written (no client-side normalisation): status, content type, JSON body."""
    connection = http.client.HTTPConnection(*address(server), timeout=30)
    try:
        connection.request("GET", path, headers={"x-api-key": key} if key else {})
        response = connection.getresponse()
        body = response.read()
        assert response.getheader("Location") is None  # never a redirect
        return response.status, response.getheader("Content-Type") or "", json.loads(body)
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("path", "with_key", "status", "body"),
    [
        ("/todos//", True, 404, {"error": "Not found"}),  # an empty id: no route, as on API Gateway
        ("/todos/%2F", True, 404, {"error": "Todo not found"}),  # the id "/": routed, and no such todo
        ("/todos/a%2fb?x=1", True, 404, {"error": "Todo not found"}),
        ("/todos/abc%0aabc", True, 404, {"error": "Todo not found"}),  # a control character with a valid key
        ("/todos/abc%0d%0aabc", True, 404, {"error": "Todo not found"}),
        ("/todos/%2F", False, 401, {"error": "Missing or invalid API key"}),
        ("/todos/abc%0aabc", False, 401, {"error": "Missing or invalid API key"}),
    ],
)
def test_odd_paths_get_the_contracts_json_answers(
    server: Served, path: str, with_key: bool, status: int, body: Any
) -> None:
    assert get(server, path, KEY if with_key else None) == (status, "application/json", body)
