"""The mixed CRUD journey under concurrent users, against `make start`'s server (`make bench`).

    python -m devtools.bench.load --users 8 --users 24 --seconds 30

Each user is a thread with a connection of its own (werkzeug's server closes it after each answer,
so `http.client` opens a new one per request) that runs the journey in a loop with no pause (a
closed loop): create a todo, read it (its ETag), list the tenant's todos, PATCH it with
If-Match, delete it with If-Match. Each user works on its own todos; users alternate between two
tenants. Every request is timed; a failure is an answer other than the journey's expected status
(or no answer). Runs are bounded by time, and requests by a timeout.

A driver of its own rather than a load tool: threads over `http.client` are enough for a closed
loop of a few dozen users, need no dependency, and do not monkey-patch the process the way Locust's
gevent does (the bench also starts the server and other measurements in this process).
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from devtools.local.serve import Served

TENANTS = {"bench-a": "bench-load-key-a", "bench-b": "bench-load-key-b"}
REQUEST_TIMEOUT_S = 30.0


@dataclass
class Run:
    users: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return len(self.latencies_ms)

    def summary(self) -> dict[str, Any]:
        samples = sorted(self.latencies_ms)
        quantiles = statistics.quantiles(samples, n=100) if len(samples) > 1 else samples * 99
        return {
            "users": self.users,
            "seconds": round(self.seconds, 1),
            "requests": self.requests,
            "failures": len(self.failures),
            "p50_ms": round(statistics.median(samples), 1) if samples else None,
            "p99_ms": round(quantiles[98], 1) if samples else None,
            "requests_per_s": round(self.requests / self.seconds, 1) if self.seconds else None,
        }


class User:
    """One user's connection and journey; records each request into the run (under its lock)."""

    def __init__(self, host: str, port: int, prefix: str, key: str, number: int, run: Run, lock: threading.Lock):
        self.connection = http.client.HTTPConnection(host, port, timeout=REQUEST_TIMEOUT_S)
        self.prefix = prefix
        self.headers = {"x-api-key": key, "Content-Type": "application/json"}
        self.number = number
        self.run = run
        self.lock = lock

    def call(
        self, method: str, path: str, expected: int, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], Any]:
        sent = {**self.headers, **(headers or {})}
        started = time.perf_counter()
        try:
            self.connection.request(method, self.prefix + path, None if body is None else json.dumps(body), sent)
            answer = self.connection.getresponse()
            data = answer.read()
            status, answer_headers = answer.status, {k.lower(): v for k, v in answer.getheaders()}
        except (OSError, http.client.HTTPException) as error:
            self.connection.close()  # reconnects on the next request
            status, answer_headers, data = 0, {}, str(error).encode()
        elapsed = (time.perf_counter() - started) * 1000
        with self.lock:
            self.run.latencies_ms.append(elapsed)
            if status != expected:
                self.run.failures.append(f"{method} {path} {status} {data[:200]!r}")
        return status, answer_headers, json.loads(data) if data and status and status != 304 else None

    def journey(self, round_: int) -> None:
        status, _, todo = self.call("POST", "/todos", 201, {"title": f"user {self.number} round {round_}"})
        if status != 201:
            return
        path = f"/todos/{todo['id']}"
        status, headers, _ = self.call("GET", path, 200)
        etag = headers.get("etag", '"1"')
        self.call("GET", "/todos?limit=20", 200)
        status, headers, _ = self.call("PATCH", path, 200, {"completed": True}, {"If-Match": etag})
        self.call("DELETE", path, 200, headers={"If-Match": headers.get("etag", '"2"')})


def run_users(url: str, users: int, seconds: float) -> Run:
    """`users` users for `seconds` against the API at `url` (its path is the stage prefix, if any)."""
    target = urlsplit(url)
    run, lock = Run(users, seconds), threading.Lock()
    keys = list(TENANTS.values())
    deadline = time.monotonic() + seconds
    start = threading.Barrier(users)

    def user(number: int) -> None:
        actor = User(
            str(target.hostname), int(target.port or 80), target.path.rstrip("/"), keys[number % 2], number, run, lock
        )
        start.wait(timeout=60)
        round_ = 0
        while time.monotonic() < deadline:
            actor.journey(round_)
            round_ += 1
        actor.connection.close()

    threads = [threading.Thread(target=user, args=(n,), daemon=True) for n in range(users)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 120)
    run.seconds = time.monotonic() - began
    return run


@contextmanager
def server(env: dict[str, str] | None = None) -> Iterator[Served]:
    """`make start`'s server with the two tenants' keys, on a free port (devtools.local.serve), with
    `env` added to its environment; the limiter on, as deployed, with the tenants' limits above what
    the journey sends (the limits are tested in tests/local/test_fair_capacity.py: here they would
    turn the journey into 429s)."""
    from devtools.limits import unlimited
    from devtools.local.serve import served

    with served(TENANTS, env={"TEMPLATE_PARAMETERS": unlimited(), **(env or {})}) as local:
        yield local


def measure(users: list[int], seconds: float) -> dict[int, dict[str, Any]]:
    """Each number of users in turn against one fresh server (after one user's short warm-up)."""
    results = {}
    with server() as local:
        url = local.url
        run_users(url, 1, min(3.0, seconds))  # DynamoDB Local's JIT and one instance of each function
        for count in users:
            run = run_users(url, count, seconds)
            results[count] = run.summary()
            if run.failures:
                print(f"  {count} users: {len(run.failures)} failures, first: {run.failures[0]}", flush=True)
    return results


def table(results: dict[int, dict[str, Any]]) -> str:
    lines = ["| users | requests | failures | p50 ms | p99 ms | requests/s |", "|---|---|---|---|---|---|"]
    for count, row in results.items():
        lines.append(
            f"| {count} | {row['requests']:,} in {row['seconds']:.0f} s | {row['failures']} | {row['p50_ms']} "
            f"| {row['p99_ms']} | {row['requests_per_s']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.bench.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, action="append", help="concurrent users (repeatable; default 8 and 24)")
    parser.add_argument("--seconds", type=float, default=30.0, help="duration of each run")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    results = measure(args.users or [8, 24], args.seconds)
    print(table(results))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(results, out, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
