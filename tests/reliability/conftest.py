"""The reliability suite: bad input, faults and concurrency, with figures that can fail.

    TODO_DEEP=1   the deep run (`make check-deep`): >= 1000 fuzzed cases, more malformed requests,
                  concurrency rounds and load; unset: the bounded run of `make test`

The figures of every test (cases run, failures, items written on errors, lost updates, latency)
are printed at the end of the pytest run, in a "reliability figures" section (a terminal summary
hook: no `-s` needed), and by each test as it runs (seen with `-s`).

The HTTP tests share one local server (devtools.local.serve: `make start`'s server on a free port of
127.0.0.1, DynamoDB Local in a temporary folder) with two fresh tenants.
"""

from __future__ import annotations

import os
import re
import secrets
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

DEEP = os.environ.get("TODO_DEEP", "").strip() not in ("", "0")
TENANT_A, TENANT_B = "rel-a", "rel-b"

_FIGURES: list[tuple[str, str, Any]] = []
_LOCK = threading.Lock()
# One line per request in the local server's log:
# "<METHOD> <path> <status> <function> <ms>ms [tenant=<t>] [cold <ms> ms]" (cold: a new instance served it).
_REQUEST_LINE = re.compile(r"^([A-Z]+) (\S+) (\d{3}) (\S+) \d+ms(?: tenant=\S+)?(?: cold \d+ ms)?$")


def bounded(small: int, deep: int) -> int:
    """`small` in `make test`, `deep` under TODO_DEEP=1."""
    return deep if DEEP else small


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Any:
    """`figures(name, value)`: record a figure of this test (printed now and in the summary)."""
    test = request.node.name

    def record(name: str, value: Any) -> None:
        with _LOCK:
            _FIGURES.append((test, name, value))
        print(f"[reliability] {test}: {name} = {value}")

    return record


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _FIGURES:
        return
    mode = "deep (TODO_DEEP=1)" if DEEP else "bounded"
    terminalreporter.section(f"reliability figures, {mode}")
    width = max(len(test) for test, _, _ in _FIGURES)
    for test, name, value in _FIGURES:
        terminalreporter.write_line(f"{test:<{width}}  {name}: {value}")


@dataclass
class Server:
    """The local server, its tenants' keys and a per-thread HTTP session."""

    url: str
    keys: dict[str, str]
    log: Path
    _local: threading.local = field(default_factory=threading.local)

    def session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def call(
        self,
        method: str,
        path: str,
        tenant: str | None = TENANT_A,
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> requests.Response:
        sent = dict(headers or {})
        if tenant is not None:
            sent["x-api-key"] = self.keys[tenant]
        return self.session().request(method, self.url + path, json=json, headers=sent, params=params, timeout=30)

    def all_todos(self, tenant: str | None = TENANT_A, **params: str) -> list[dict[str, Any]]:
        """Every todo of `tenant` (with `params` as filters), following `next_cursor` to the end.

        Tenants are shared by the tests of a session, so a check that a todo is listed must look at
        every page, not the first: what else the tenant holds depends on which tests ran before.
        """
        todos: list[dict[str, Any]] = []
        cursor = None
        while True:
            query = {"limit": "100", **params, **({"cursor": cursor} if cursor else {})}
            reply = self.call("GET", "/todos", tenant, params=query)
            assert reply.status_code == 200, reply.text
            page = reply.json()
            todos += page["items"]
            if not (cursor := page["next_cursor"]):
                return todos

    def log_offset(self) -> int:
        return self.log.stat().st_size

    def statuses_since(self, offset: int) -> Counter[int]:
        """Statuses the server answered since `offset` of its log, as its own log lines say."""
        with self.log.open("rb") as log:
            log.seek(offset)
            text = log.read().decode("utf-8", errors="replace")
        return Counter(int(m.group(3)) for line in text.splitlines() if (m := _REQUEST_LINE.match(line.strip())))


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    from devtools.local.serve import served

    keys = {tenant: f"{tenant}-{secrets.token_hex(16)}" for tenant in (TENANT_A, TENANT_B)}
    with served(keys) as local:
        yield Server(local.url, keys, local.log)
