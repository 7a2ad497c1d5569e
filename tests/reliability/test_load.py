"""Bounded load over real HTTP: a fixed number of requests across every route and both tenants
from a small thread pool; every answer must have the status the contract gives. Latency
percentiles are printed, never asserted (they depend on the machine).
"""

from __future__ import annotations

import itertools
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from tests.reliability.conftest import TENANT_A, TENANT_B, Server, bounded

WORKERS = 4


@dataclass(frozen=True)
class Sample:
    route: str
    status: int
    expected: int
    seconds: float


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def journey(server: Server, tenant: str, other: str, n: int) -> Iterator[Sample]:
    """One todo's life across every route (14 requests), as `tenant`, with `other` looking in."""

    def call(route: str, expected: int, method: str, path: str, who: str | None = tenant, **kwargs: Any) -> Any:
        started = time.perf_counter()
        reply = server.call(method, path, who, **kwargs)
        calls.append(Sample(route, reply.status_code, expected, time.perf_counter() - started))
        return reply

    calls: list[Sample] = []
    created = call("POST /todos", 201, "POST", "/todos", json={"title": f"load {tenant} {n}"})
    todo_id = created.json().get("id", "missing") if created.status_code == 201 else "missing"
    path = f"/todos/{todo_id}"
    etag = call("GET /todos/{id}", 200, "GET", path).headers.get("ETag", '"1"')
    call("GET /todos/{id} (other tenant)", 404, "GET", path, other)
    call("PATCH /todos/{id}", 200, "PATCH", path, json={"completed": True}, headers={"If-Match": etag})
    call("PUT /todos/{id} (stale If-Match)", 412, "PUT", path, json={"title": "stale"}, headers={"If-Match": etag})
    call("PUT /todos/{id}", 200, "PUT", path, json={"title": f"renamed {n}"})
    call("GET /todos", 200, "GET", "/todos", params={"limit": "10"})
    call("GET /todos?completed", 200, "GET", "/todos", params={"completed": "true", "limit": "5"})
    call("GET /activity", 200, "GET", "/activity", params={"limit": "5"})
    call("POST /todos (invalid)", 400, "POST", "/todos", json={"title": ""})
    call("GET /todos (no key)", 401, "GET", "/todos", None)
    call("GET /", 200, "GET", "/", None)
    call("DELETE /todos/{id}", 200, "DELETE", path)
    call("GET /todos/{id} (deleted)", 404, "GET", path)
    yield from calls


JOURNEY_LENGTH = 14


def test_bounded_load_answers_every_request_as_the_contract_says(server: Server, figures) -> None:
    total = bounded(600, 5000)
    journeys = -(-total // JOURNEY_LENGTH)
    tenants = itertools.cycle([(TENANT_A, TENANT_B), (TENANT_B, TENANT_A)])
    plan = [(tenant, other, n) for n, (tenant, other) in zip(range(journeys), tenants, strict=False)]
    started = time.perf_counter()
    with ThreadPoolExecutor(WORKERS) as pool:
        samples = [s for result in pool.map(lambda p: list(journey(server, *p)), plan) for s in result]
    elapsed = time.perf_counter() - started

    wrong = [s for s in samples if s.status != s.expected]
    by_route: dict[str, list[float]] = defaultdict(list)
    for sample in samples:
        by_route[sample.route].append(sample.seconds)
    seconds = [s.seconds for s in samples]
    figures("load requests", f"{len(samples)} in {elapsed:.1f} s with {WORKERS} threads, 2 tenants")
    figures("load errors (unexpected status)", len(wrong))
    p50, p99, worst = (value * 1000 for value in (percentile(seconds, 0.5), percentile(seconds, 0.99), max(seconds)))
    figures("load latency p50 / p99 / max", f"{p50:.1f} / {p99:.1f} / {worst:.1f} ms")
    slowest = sorted(by_route.items(), key=lambda item: -statistics.median(item[1]))[:3]
    figures("slowest routes (p50 ms)", {route: round(statistics.median(v) * 1000, 1) for route, v in slowest})
    assert len(samples) >= total
    assert not wrong, Counter((s.route, s.status) for s in wrong)
