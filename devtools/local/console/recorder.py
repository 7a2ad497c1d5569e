"""What the console shows of the running server, kept in bounded windows (deques with a maximum
length): the last requests, the last invocations and the last stream batches. Nothing grows with
the number of requests served.

The hooks run on the request path, so they only append references (no copy, no JSON, no
redaction: `redact` runs when the console reads a record):

- `on_request(line, response)`: the gateway's, after its log line, in the request's thread
  (it reads flask's `request` and `g`: the function, the tenant and the API Gateway event);
- `on_invocation(spec, instance, init_ms, started, error)`: each instance pool's, when an
  invocation ended, in the invoking thread (a request's, or a stream poller's);
- `on_batch(poller, shard_id, batch, failed_at, error)`: each stream poller's, after a batch.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import Response, g, request
from werkzeug.datastructures import Headers

if TYPE_CHECKING:
    from devtools.emulator.instances import FunctionError, Instance, Spec
    from devtools.emulator.streams import Record, StreamPoller

REQUESTS = 2000  # request summaries kept (the live list and the usage chart)
DETAILS = 200  # of which the last ones keep their event and response
INVOCATIONS = 2000
BATCHES = 500
BODY_LIMIT = 16 * 1024  # characters of a body kept for the request's detail


@dataclass(slots=True)  # not frozen: a frozen dataclass takes twice as long to build, on the request path
class Invocation:
    function: str
    pid: int | None
    init_ms: float | None  # a cold start's init; None when warm
    started: float  # perf_counter
    ended: float
    wall: float  # time.time() at the end
    peak_kb: int
    memory_mb: int
    error_type: str | None

    @property
    def duration_ms(self) -> float:
        return (self.ended - self.started) * 1000


@dataclass(slots=True)
class RequestRecord:
    seq: int
    time: float
    line: str  # the request log's line (what `make usage` reads)
    method: str
    raw_path: str  # PATH_INFO, decoded as WSGI does
    query: str
    status: int
    tenant: str | None
    function: str
    millis: float
    invocations: tuple[Invocation, ...]

    @property
    def path(self) -> str:
        return self.raw_path + ("?" + self.query if self.query else "")


@dataclass(slots=True)
class BatchRecord:
    seq: int
    time: float
    mapping: str
    function: str
    shard_id: str
    size: int
    first_sequence: str
    last_sequence: str
    failed_at: int | None
    error: str | None
    bisected: bool
    invocations: tuple[Invocation, ...]


class Recorder:
    def __init__(self, requests: int = REQUESTS, details: int = DETAILS, invocations: int = INVOCATIONS) -> None:
        self._seq = itertools.count(1)
        self.requests: deque[RequestRecord] = deque(maxlen=requests)
        self.details: deque[tuple[int, Any, int, Headers, bytes]] = deque(maxlen=details)
        self.invocations: deque[Invocation] = deque(maxlen=invocations)
        self.batches: deque[BatchRecord] = deque(maxlen=BATCHES)
        self._local = threading.local()

    def _recent(self) -> deque[Invocation]:
        """This thread's last invocations (a request's: its authorizer's and its function's)."""
        recent: deque[Invocation] | None = getattr(self._local, "recent", None)
        if recent is None:
            recent = self._local.recent = deque(maxlen=8)
        return recent

    def _since(self, started: float) -> tuple[Invocation, ...]:
        recent = self._recent()
        taken = tuple(i for i in recent if i.started >= started)
        recent.clear()
        return taken

    # -- hooks (the request path: append references only)
    def on_invocation(
        self, spec: Spec, instance: Instance | None, init_ms: float | None, started: float, error: FunctionError | None
    ) -> None:
        invocation = Invocation(
            function=spec.name,
            pid=instance.pid if instance is not None else None,
            init_ms=init_ms,
            started=started,
            ended=time.perf_counter(),
            wall=time.time(),
            peak_kb=instance.peak_kb if instance is not None else 0,
            memory_mb=spec.memory_mb,
            error_type=error.error_type if error is not None else None,
        )
        self.invocations.append(invocation)
        self._recent().append(invocation)

    def on_request(self, line: str, response: Response) -> None:
        # flask's `request` and `g` are proxies (each access a context lookup): each is read once.
        context, environ = g._get_current_object(), request.environ
        seq = next(self._seq)
        started = getattr(context, "started", 0.0)
        self.requests.append(
            RequestRecord(
                seq=seq,
                time=time.time(),
                line=line,
                method=environ.get("REQUEST_METHOD", ""),
                raw_path=environ.get("PATH_INFO", ""),
                query=environ.get("QUERY_STRING", ""),
                status=response.status_code,
                tenant=getattr(context, "tenant", None),
                function=getattr(context, "function", None) or "-",
                millis=(time.perf_counter() - started) * 1000,
                invocations=self._since(started),
            )
        )
        event = getattr(context, "event", None)
        if event is not None and len(event.get("body") or "") > BODY_LIMIT:
            event = {**event, "body": event["body"][:BODY_LIMIT] + " [...]"}
        body = response.get_data()[:BODY_LIMIT] if not response.is_streamed else b""
        self.details.append((seq, event, response.status_code, response.headers, body))

    def on_batch(
        self, poller: StreamPoller, shard_id: str, batch: list[Record], failed_at: int | None, error: str | None
    ) -> None:
        function = poller.name.split(".", 1)[0]
        self.batches.append(
            BatchRecord(
                seq=next(self._seq),
                time=time.time(),
                mapping=poller.name,
                function=function,
                shard_id=shard_id,
                size=len(batch),
                first_sequence=str(batch[0]["dynamodb"]["SequenceNumber"]),
                last_sequence=str(batch[-1]["dynamodb"]["SequenceNumber"]),
                failed_at=failed_at,
                error=error,
                bisected=bool(error and poller.bisect and len(batch) > 1),
                invocations=self._since(0.0),
            )
        )

    # -- reading
    def detail(self, seq: int) -> tuple[Any, int, Headers, bytes] | None:
        for record in list(self.details):
            if record[0] == seq:
                return record[1:]
        return None
