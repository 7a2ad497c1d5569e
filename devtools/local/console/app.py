"""The console's HTTP side: one static page and a small JSON API, under `/_console/` of `make start`'s
server, for loopback clients only (the peer address and the Host header must both be loopback).

    GET /_console/                    the page
    GET /_console/api/requests?after=<seq>   request summaries after seq (the page polls it)
    GET /_console/api/requests/<seq>  one request: its API Gateway event and its response
    GET /_console/api/functions       each function's instances and invocation counts
    GET /_console/api/events          stream mappings, batches, dead letters, published events
    GET /_console/api/usage           per tenant and route: requests, errors, p50/p99 over time
    GET /_console/api/data?tenant=&kind=todos|activity|keys|claims[&next=]   the local tables

Every answer is redacted (`redact`), and then every configured API key is replaced wherever it is.
"""

from __future__ import annotations

import ipaddress
import json
import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, abort, request, send_from_directory

from devtools.local.console import redact
from devtools.local.console.recorder import Invocation, Recorder, RequestRecord

if TYPE_CHECKING:
    from devtools.local.console.sources import Sources

STATIC = Path(__file__).resolve().parent / "static"
PREFIX = "/_console"
BUCKET_SECONDS = 10  # the usage chart's resolution
LOOPBACK_NAMES = frozenset({"localhost"})


def loopback(host: str) -> bool:
    """Whether an address (or a Host header's name) is this machine's loopback."""
    if host.startswith("[") and "]" in host:  # [::1]:3000
        host = host[1 : host.index("]")]
    elif host.count(":") == 1:  # 127.0.0.1:3000, localhost:3000
        host = host.split(":", 1)[0]
    host = host.strip().lower().rstrip(".")
    if host in LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return bool((mapped or address).is_loopback)


def refused_unless_loopback() -> Response | None:
    peer = request.environ.get("REMOTE_ADDR") or ""
    host = request.host or ""
    if loopback(peer) and loopback(host):
        return None
    body = json.dumps({"error": "The local console answers loopback clients only"})
    return Response(body, 403, content_type="application/json")


def percentile(values: list[float], percent: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]


def invocation_view(invocation: Invocation) -> dict[str, Any]:
    return {
        "function": invocation.function,
        "pid": invocation.pid,
        "cold": invocation.init_ms is not None,
        "init_ms": None if invocation.init_ms is None else round(invocation.init_ms, 1),
        "duration_ms": round(invocation.duration_ms, 1),
        "peak_mb": round(invocation.peak_kb / 1024, 1) if invocation.peak_kb else None,
        "memory_mb": invocation.memory_mb,
        "error": invocation.error_type,
    }


def request_view(record: RequestRecord) -> dict[str, Any]:
    own = [i for i in record.invocations if i.function == record.function]
    served = own[-1] if own else None
    return {
        "seq": record.seq,
        "time": record.time,
        "method": record.method,
        "path": redact.path(record.path),
        "status": record.status,
        "tenant": record.tenant,
        "function": record.function,
        "ms": round(record.millis, 1),
        "invocation": invocation_view(served) if served else None,
        "invocations": [invocation_view(i) for i in record.invocations],
    }


def concurrency_reached(invocations: Iterable[Invocation]) -> int:
    """The most invocations that overlapped in time (a sweep over their starts and ends)."""
    edges = sorted([(i.started, 1) for i in invocations] + [(i.ended, -1) for i in invocations])
    running = reached = 0
    for _, step in edges:
        running += step
        reached = max(reached, running)
    return reached


def usage(records: list[RequestRecord], routes: list[Any]) -> dict[str, Any]:
    """`make usage`'s figures (the same tally of the same log lines) over the window, and per tenant
    a time series (requests, errors, p50, p99 per BUCKET_SECONDS)."""
    from devtools.usage import tally

    figures = sorted(tally((r.line for r in records), routes).items(), key=lambda kv: (-kv[1].requests, kv[0]))
    table = [
        {"tenant": t, "method": m, "route": r, "requests": f.requests, "errors": f.errors,
         "p50_ms": round(f.percentile(50), 1), "p99_ms": round(f.percentile(99), 1)}
        for (t, m, r), f in figures
    ]  # fmt: skip
    buckets: dict[str, dict[int, list[RequestRecord]]] = defaultdict(lambda: defaultdict(list))
    for record in records:
        buckets[record.tenant or "-"][int(record.time // BUCKET_SECONDS * BUCKET_SECONDS)].append(record)
    series = {}
    for tenant, by_time in buckets.items():
        times = sorted(by_time)
        series[tenant] = {
            "time": times,
            "requests": [len(by_time[t]) for t in times],
            "errors": [sum(r.status >= 400 for r in by_time[t]) for t in times],
            "p50_ms": [round(percentile([r.millis for r in by_time[t]], 50), 1) for t in times],
            "p99_ms": [round(percentile([r.millis for r in by_time[t]], 99), 1) for t in times],
        }
    return {"bucket_seconds": BUCKET_SECONDS, "table": table, "series": series}


def create_app(recorder: Recorder, sources: Sources, secrets: Callable[[], Iterable[str]] = list) -> Flask:
    """The console's Flask app (mount it under PREFIX with `mount`)."""
    app = Flask(__name__, static_folder=None)
    app.before_request(refused_unless_loopback)

    def answer(data: Any) -> Response:
        text = json.dumps(redact.value(data), default=str)
        for secret in secrets():
            if len(secret) >= 4:
                text = text.replace(json.dumps(secret)[1:-1], redact.REDACTED)
        response = Response(text, content_type="application/json")
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Content-Security-Policy"] = "default-src 'self'; style-src 'self' 'unsafe-inline'"
        return response

    @app.get("/")
    def page() -> Response:
        return send_from_directory(STATIC, "index.html")

    @app.get("/static/<path:name>")
    def static_file(name: str) -> Response:
        return send_from_directory(STATIC, name)

    @app.get("/api/requests")
    def requests() -> Response:
        after = request.args.get("after", default=0, type=int)
        records = [r for r in list(recorder.requests) if r.seq > after]
        return answer({"requests": [request_view(r) for r in records[-500:]]})

    @app.get("/api/requests/<int:seq>")
    def request_detail(seq: int) -> Response:
        summary = next((r for r in list(recorder.requests) if r.seq == seq), None)
        detail = recorder.detail(seq)
        if summary is None:
            abort(404)
        out: dict[str, Any] = {"request": request_view(summary), "event": None, "response": None}
        if detail is not None:
            event, status, response_headers, body = detail
            out["event"] = redact.value(event)
            out["response"] = {"statusCode": status, "headers": dict(response_headers), "body": redact.body(body)}
        return answer(out)

    @app.get("/api/functions")
    def functions() -> Response:
        invocations = list(recorder.invocations)
        by_function: dict[str, list[Invocation]] = defaultdict(list)
        for invocation in invocations:
            by_function[invocation.function].append(invocation)
        out = []
        for function in sources.functions():
            mine = by_function.get(function["name"], [])
            errors = [i.error_type for i in mine if i.error_type]
            out.append(
                {
                    **function,
                    "invocations": len(mine),
                    "cold_starts": sum(i.init_ms is not None for i in mine),
                    "errors": len(errors),
                    "timeouts": errors.count("Sandbox.Timedout"),
                    "out_of_memory": errors.count("Runtime.OutOfMemory"),
                    "throttles": errors.count("TooManyRequestsException"),
                    "concurrency_reached": concurrency_reached(mine),
                    "peak_mb": round(max((i.peak_kb for i in mine), default=0) / 1024, 1) or None,
                }
            )
        return answer({"window": recorder.invocations.maxlen, "functions": out})

    @app.get("/api/events")
    def events() -> Response:
        batches = [
            {**asdict(b), "invocations": [invocation_view(i) for i in b.invocations]} for b in list(recorder.batches)
        ]
        return answer(
            {
                "mappings": sources.mappings(),
                "batches": batches[-200:],
                "dead_letters": sources.dead_letters(),
                "published": sources.published(),
            }
        )

    @app.get("/api/usage")
    def usage_figures() -> Response:
        return answer(usage(list(recorder.requests), sources.routes()))

    @app.get("/api/tenants")
    def tenants() -> Response:
        seen = {r.tenant for r in list(recorder.requests) if r.tenant}
        return answer({"tenants": sorted(seen | set(sources.tenants()))})

    @app.get("/api/data")
    def data() -> Response:
        tenant = request.args.get("tenant", "")
        kind = request.args.get("kind", "todos")
        if not tenant or kind not in sources.KINDS:
            return Response(json.dumps({"error": "tenant and kind (todos, activity, keys, claims)"}), 400,
                            content_type="application/json")  # fmt: skip
        return answer(sources.items(tenant, kind, request.args.get("next")))

    return app


def mount(gateway_app: Any, console_app: Flask) -> Callable[..., Any]:
    """A WSGI app that sends PREFIX/... to the console and everything else to the gateway, so that the
    gateway's hooks (its log, its limits) never see the console's own requests."""
    console_wsgi = console_app.wsgi_app

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if path == PREFIX or path.startswith(PREFIX + "/"):
            inner = path[len(PREFIX) :] or "/"
            environ = {**environ, "SCRIPT_NAME": environ.get("SCRIPT_NAME", "") + PREFIX, "PATH_INFO": inner}
            return console_wsgi(environ, start_response)
        return gateway_app(environ, start_response)

    return app
