"""The EventBridge stand-in: PutEvents over HTTP, on the loopback or where containers reach it."""

import json
import socket
from pathlib import Path
from typing import Any

import boto3
import pytest

from devtools.emulator.bus import LocalEventBus

# Linux routes all of 127.0.0.0/8 to the loopback: a server on 127.0.0.1 alone refuses 127.0.0.2.
OTHER_LOOPBACK = "127.0.0.2"


def events_client(endpoint: str) -> Any:
    return boto3.client(
        "events",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def test_bus_listens_where_asked_and_records_put_events(tmp_path: Path) -> None:
    with LocalEventBus(tmp_path / "events.jsonl", host="0.0.0.0") as bus:  # every interface, as for sam local
        events = events_client(f"http://{OTHER_LOOPBACK}:{bus.port}")
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


def test_bus_keeps_the_last_events_in_memory_and_counts_them_all(tmp_path: Path) -> None:
    """A server that publishes for hours must not grow: memory holds a window, the file holds all."""
    with LocalEventBus(tmp_path / "events.jsonl", keep=3) as bus:
        events = events_client(bus.endpoint)
        for number in range(5):
            entry = {"Source": "todo.api", "DetailType": "TodoCreated", "Detail": json.dumps({"n": number})}
            events.put_events(Entries=[entry])
        kept = [event["detail"]["n"] for event in bus.events]
        after_first_three = [event["detail"]["n"] for event in bus.since(3)]
        after_first_one = [event["detail"]["n"] for event in bus.since(1)]
        received = bus.received
    assert kept == [2, 3, 4]
    assert received == 5
    assert after_first_three == [3, 4]
    assert after_first_one == [2, 3, 4]  # 1 fell out of the window
    assert len((tmp_path / "events.jsonl").read_text(encoding="utf-8").splitlines()) == 5


def test_a_bus_that_keeps_nothing_still_counts_and_writes_every_event(tmp_path: Path) -> None:
    """make start's bus (keep=0): the events file is the record, memory holds none of them."""
    with LocalEventBus(tmp_path / "events.jsonl", keep=0) as bus:
        events = events_client(bus.endpoint)
        events.put_events(Entries=[{"Source": "todo.api", "DetailType": "TodoCreated", "Detail": "{}"}] * 2)
        kept, received, since = list(bus.events), bus.received, bus.since(0)
    assert (kept, received, since) == ([], 2, [])
    assert len((tmp_path / "events.jsonl").read_text(encoding="utf-8").splitlines()) == 2
