"""A local stand-in for EventBridge's PutEvents, to watch the domain events while developing.

The stream consumer publishes with boto3's `events` client, whose endpoint comes from
`AWS_ENDPOINT_URL_EVENTBRIDGE`; point that at `LocalEventBus.endpoint` and every published event is
kept in memory (`events`: the last `keep` of them, so a long-running server does not grow;
`received` counts them all and `since(count)` gives those after the first `count`), printed as one
JSON line on stdout when `echo` is on, and appended to `path` (by default `.local/events.jsonl`, so
`tail -f .local/events.jsonl` shows them). Only PutEvents is implemented; the envelope is
EventBridge's (`source`, `detail-type`, `detail`, ...).

    python -m devtools.emulator.bus --port 4010   # run it in the foreground and print events
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import uuid
from collections import deque
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from devtools.emulator.context import ACCOUNT, REGION
from devtools.loader import ROOT

DEFAULT_PATH = ROOT / ".local" / "events.jsonl"
# Events kept in memory at most by default (the file keeps them all): about 2.5 KB each.
KEEP = 1_000


def _time(value: Any) -> str:
    moment = datetime.fromtimestamp(float(value), UTC) if value is not None else datetime.now(UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def envelope(entry: dict[str, Any]) -> dict[str, Any]:
    """The event EventBridge would deliver to a rule's target for one PutEvents entry."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": entry.get("DetailType"),
        "source": entry.get("Source"),
        "account": ACCOUNT,
        "time": _time(entry.get("Time")),
        "region": REGION,
        "resources": entry.get("Resources", []),
        "detail": json.loads(entry.get("Detail") or "{}"),
        "event-bus-name": entry.get("EventBusName", "default"),
    }


class LocalEventBus:
    def __init__(
        self,
        path: Path | str | None = DEFAULT_PATH,
        port: int = 0,
        echo: bool = False,
        host: str = "127.0.0.1",
        keep: int = KEEP,
    ) -> None:
        """`host` is where it listens: the loopback, unless containers must reach it (`sam_local`)."""
        self.path = Path(path) if path else None
        self.echo = echo
        self.events: deque[dict[str, Any]] = deque(maxlen=keep)
        self.received = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LocalEventBus:
        if self.path:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-event-bus", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> LocalEventBus:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def since(self, count: int) -> list[dict[str, Any]]:
        """The events received after the first `count` (of those still kept)."""
        with self._lock:
            return list(self.events)[max(0, len(self.events) - (self.received - count)) :]

    def record(self, events: list[dict[str, Any]]) -> None:
        with self._lock:
            self.events.extend(events)
            self.received += len(events)
            lines = "".join(json.dumps(e, separators=(",", ":")) + "\n" for e in events)
            if self.path:
                with self.path.open("a", encoding="utf-8") as out:
                    out.write(lines)
            if self.echo:
                sys.stdout.write(lines)
                sys.stdout.flush()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        bus = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                target = self.headers.get("X-Amz-Target", "")
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    return self._reply(HTTPStatus.BAD_REQUEST, {"__type": "SerializationException"})
                if not target.endswith(".PutEvents"):
                    return self._reply(HTTPStatus.BAD_REQUEST, {"__type": "UnknownOperationException"})
                events = [envelope(entry) for entry in body.get("Entries", [])]
                bus.record(events)
                return self._reply(
                    HTTPStatus.OK, {"FailedEntryCount": 0, "Entries": [{"EventId": e["id"]} for e in events]}
                )

            def _reply(self, status: HTTPStatus, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # quiet: events are the output
                return

        return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.emulator.bus", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=4010)
    parser.add_argument("--path", default=str(DEFAULT_PATH))
    args = parser.parse_args(argv)
    bus = LocalEventBus(args.path, args.port, echo=True).start()
    print(
        f"Local EventBridge PutEvents on {bus.endpoint}: export AWS_ENDPOINT_URL_EVENTBRIDGE={bus.endpoint}", flush=True
    )
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        bus.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
