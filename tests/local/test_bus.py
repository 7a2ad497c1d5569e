"""The EventBridge stand-in: PutEvents over HTTP, on the loopback or where containers reach it."""

import json
import socket
from pathlib import Path

import boto3
import pytest

from devtools.emulator.bus import LocalEventBus

# Linux routes all of 127.0.0.0/8 to the loopback: a server on 127.0.0.1 alone refuses 127.0.0.2.
OTHER_LOOPBACK = "127.0.0.2"


def test_bus_listens_where_asked_and_records_put_events(tmp_path: Path) -> None:
    with LocalEventBus(tmp_path / "events.jsonl", host="0.0.0.0") as bus:  # every interface, as for sam local
        events = boto3.client(
            "events",
            endpoint_url=f"http://{OTHER_LOOPBACK}:{bus.port}",
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        answer = events.put_events(
            Entries=[{"Source": "todo.api", "DetailType": "TodoCreated", "Detail": json.dumps({"id": "t1"})}]
        )
    assert answer["FailedEntryCount"] == 0
    (line,) = (tmp_path / "events.jsonl").read_text(encoding="utf-8").splitlines()
    recorded = json.loads(line)
    assert (recorded["source"], recorded["detail-type"], recorded["detail"]) == (
        "todo.api",
        "TodoCreated",
        {"id": "t1"},
    )


def test_bus_listens_on_the_loopback_by_default() -> None:
    with LocalEventBus(None) as bus:
        socket.create_connection(("127.0.0.1", bus.port), timeout=5).close()
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((OTHER_LOOPBACK, bus.port), timeout=5)
