"""The emulator's local state: one DynamoDB Local data folder and the files beside it.

The data folder is `.local/dynamodb`, or the folder that DYNAMODB_LOCAL_DIR names; the files of the
other services (published events, request log, the stream's checkpoints and dead letters, the
generated secrets) are in `.local/`, or in that folder too when DYNAMODB_LOCAL_DIR is set. Every
command on the emulator shares that one store (here `make start`, `make key`, `make invoke`).

A running server publishes its DynamoDB Local endpoint in that folder (`endpoint`); the other
commands use it when it answers, else start a short-lived DynamoDB Local on the same folder (two
processes must never open one folder). Either way they see the same tables.

    python -m devtools.emulator.state   # the data folder's DynamoDB Local in the foreground on --port (default 8000)
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from devtools.emulator import dynamodb


def data_dir() -> Path:
    """DynamoDB Local's data folder: `.local/dynamodb`, or DYNAMODB_LOCAL_DIR."""
    return Path(os.environ.get("DYNAMODB_LOCAL_DIR") or dynamodb.DEFAULT_DB_PATH)


def endpoint_file() -> Path:
    """Where a running DynamoDB Local of the data folder publishes its endpoint."""
    return data_dir() / "endpoint"


def _local_file(name: str) -> Path:
    """A file of the emulator beside the data: in DYNAMODB_LOCAL_DIR when set, else in `.local/`."""
    return (data_dir() if "DYNAMODB_LOCAL_DIR" in os.environ else dynamodb.LOCAL_DIR) / name


def events_file() -> Path:
    """Where the local EventBridge stand-in appends the published events."""
    return _local_file("events.jsonl")


def requests_log() -> Path:
    """Where the server appends its request log (what `make usage` reads)."""
    return _local_file("requests.log")


def stream_checkpoints() -> Path:
    """Where the stream pollers keep the last processed sequence number of each shard."""
    return _local_file("stream-checkpoints.json")


def secrets_file() -> Path:
    """The values of the template's generated secrets (`devtools.emulator.secrets`); TODO_LOCAL_SECRETS_FILE
    names another file (tests that run the functions in their own process)."""
    return Path(os.environ.get("TODO_LOCAL_SECRETS_FILE") or _local_file("secrets.json"))


def stream_dead_letters() -> Path:
    """The local stand-in of the stream's on-failure destination: records that failed every retry."""
    return _local_file("stream-dlq.jsonl")


def published_endpoint() -> str | None:
    """The endpoint of the data folder's running DynamoDB Local, if one answers there."""
    path = endpoint_file()
    if not path.is_file():
        return None
    endpoint = path.read_text(encoding="utf-8").strip()
    return endpoint if dynamodb.answers(endpoint) else None


@dataclass(frozen=True)
class Serving:
    """The running store: its endpoint, and whether DynamoDB Local answers now (it is supervised)."""

    endpoint: str
    available: threading.Event


@contextmanager
def serving(port: int | None = None, log: Callable[[str], None] | None = None) -> Iterator[Serving]:
    """DynamoDB Local on the data folder with the template's tables, its endpoint published, restarted
    on the same port and folder whenever it exits (make start)."""
    if (running := published_endpoint()) is not None:
        raise dynamodb.DynamoDBLocalError(f"DynamoDB Local already runs on {data_dir()} at {running} (make start?)")
    with (
        dynamodb.running(data_dir(), port=port or int(os.environ.get("DYNAMODB_PORT", "0")) or None) as ddb,
        dynamodb.Supervisor(ddb, log) as supervisor,
    ):
        endpoint_file().write_text(ddb.endpoint, encoding="utf-8")
        try:
            yield Serving(ddb.endpoint, supervisor.available)
        finally:
            endpoint_file().unlink(missing_ok=True)


@contextmanager
def opened() -> Iterator[str]:
    """The endpoint of the store: the running server's DynamoDB Local, or one started for this block."""
    endpoint = published_endpoint()
    if endpoint is not None:
        dynamodb.ensure_tables(endpoint)
        yield endpoint
        return
    with dynamodb.running(data_dir()) as ddb:
        yield ddb.endpoint


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.emulator.state", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("DYNAMODB_PORT", "8000")))
    args = parser.parse_args(argv)
    try:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        with serving(port=args.port) as local:
            print(f"DynamoDB Local on {local.endpoint} (data in {data_dir()}); Ctrl-C to stop", flush=True)
            threading.Event().wait()
        return 0
    except dynamodb.DynamoDBLocalError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
