"""The stream as Lambda's event source mapping handles it, through `make start`'s real server process:
checkpoints that survive `kill -9` (nothing published twice by a restart, a new change in the feed
soon after it, even on a long stream), a poisoned record ending in the local dead-letter file, and
DynamoDB Local supervised (503 with Retry-After while it is down, then restarted on the same data).

Delays are printed as figures, never asserted: the deadlines only bound a wait for an outcome.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from devtools.emulator import dynamodb
from devtools.emulator.template import local_table_name
from devtools.local.serve import Served, served
from tests.processes import processes_mentioning
from tests.reliability.conftest import bounded

TENANT = "stream"


def wait_for(what: str, predicate: Callable[[], Any], deadline_seconds: float = 90.0) -> Any:
    """Poll `predicate` until it returns something truthy; fail after a generous deadline."""
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        if result := predicate():
            return result
        time.sleep(0.05)
    raise AssertionError(f"not within {deadline_seconds:.0f} s: {what}")


def published(server: Served) -> list[dict[str, Any]]:
    """The events the server published (its EventBridge stand-in's file)."""
    if not server.events_file.is_file():
        return []
    return [json.loads(line) for line in server.events_file.read_text().splitlines() if line.strip()]


def event_identity(event: dict[str, Any]) -> tuple[Any, ...]:
    detail = event["detail"]
    return (event["detail-type"], detail.get("todo_id"), (detail.get("todo") or {}).get("version"))


def feed_has(session: requests.Session, server: Served, key: str, todo_id: str, kind: str) -> bool:
    reply = session.get(server.url + "/activity", headers={"x-api-key": key}, params={"limit": "20"}, timeout=30)
    return reply.status_code == 200 and any(
        item["todo_id"] == todo_id and item["type"] == kind for item in reply.json()["items"]
    )


def change_and_wait(session: requests.Session, server: Served, key: str, title: str) -> tuple[str, float]:
    """Create a todo; return its id and the seconds until `todo.created` showed in GET /activity."""
    reply = session.post(server.url + "/todos", json={"title": title}, headers={"x-api-key": key}, timeout=30)
    assert reply.status_code == 201, reply.text
    answered = time.monotonic()
    todo_id = reply.json()["id"]
    wait_for(f"{title} in the feed", lambda: feed_has(session, server, key, todo_id, "todo.created"))
    return todo_id, time.monotonic() - answered


def kill_9(server: Served) -> None:
    """SIGKILL the server's process group and DynamoDB Local (every process naming its data folder)."""
    os.killpg(server.process.pid, signal.SIGKILL)
    for pid in processes_mentioning(str(server.data_dir)):
        if pid != os.getpid():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    server.process.wait(30)


def test_kill_9_and_restart_publish_nothing_twice_and_the_feed_keeps_up(tmp_path: Path, figures: Any) -> None:
    key = f"{TENANT}-{secrets.token_hex(16)}"
    data_dir = tmp_path / "data"
    changes = bounded(150, 1500)  # each todo: a create and an update, so the stream holds 2x this
    session = requests.Session()
    with served({TENANT: key}, data_dir=data_dir) as first:
        _, delay = change_and_wait(session, first, key, "first after a start")
        figures("first change in the feed after a fresh start (s)", round(delay, 2))
        ids = []
        for n in range(changes):
            reply = session.post(first.url + "/todos", json={"title": f"t{n}"}, headers={"x-api-key": key}, timeout=30)
            ids.append(reply.json()["id"])
            session.patch(
                f"{first.url}/todos/{ids[-1]}", json={"completed": True}, headers={"x-api-key": key}, timeout=30
            )
        expected = 1 + 2 * changes
        wait_for(f"{expected} events published", lambda: len(published(first)) >= expected, 300)
        kill_9(first)  # the server and DynamoDB Local, with everything published and checkpointed
    before = Counter(event_identity(e) for e in published(first))
    figures("events published before kill -9 (stream records)", sum(before.values()))
    assert max(before.values()) == 1

    with served({TENANT: key}, data_dir=data_dir) as second:
        todo_id, delay = change_and_wait(session, second, key, "first after a restart")
        figures(
            f"first change in the feed after kill -9 and a restart on a {2 * changes + 1}-change stream (s)",
            round(delay, 2),
        )
        # The new change comes after every earlier record of the shard: had the restart replayed them,
        # they would have been published again before it.
        wait_for(
            "the new change published", lambda: any(e["detail"].get("todo_id") == todo_id for e in published(second))
        )
        after = Counter(event_identity(e) for e in published(second))
    twice = {identity: n for identity, n in after.items() if n > 1}
    figures("events published twice after the restart", len(twice))
    assert twice == {}
    assert sum(after.values()) == sum(before.values()) + 1


def test_a_poisoned_record_ends_in_the_dead_letter_file_and_the_stream_moves_on(tmp_path: Path, figures: Any) -> None:
    key = f"{TENANT}-{secrets.token_hex(16)}"
    session = requests.Session()
    with served({TENANT: key}, data_dir=tmp_path / "data") as server:
        change_and_wait(session, server, key, "before the poison")
        endpoint = (server.data_dir / "endpoint").read_text().strip()
        poison_id = "01JPOISONPOISONPOISONPOISON"
        # A todo item the stream consumer cannot read (no title, a version that is not a number): it
        # reports it as a failed record, every time.
        dynamodb.client(endpoint).put_item(
            TableName=local_table_name("TodoTable"),
            Item={
                "PK": {"S": f"TENANT#{TENANT}"},
                "SK": {"S": f"TODO#{poison_id}"},
                "entity": {"S": "todo"},
                "tenant": {"S": TENANT},
                "version": {"S": "not a number"},
            },
        )
        dead_letters = server.data_dir / "stream-dlq.jsonl"
        started = time.monotonic()
        lines = wait_for("a dead letter", lambda: dead_letters.is_file() and dead_letters.read_text().splitlines())
        figures("seconds until the poisoned record was in the dead-letter file", round(time.monotonic() - started, 1))
        [letter] = [json.loads(line) for line in lines]
        info = letter["DDBStreamBatchInfo"]
        assert letter["requestContext"]["condition"] == "RetryAttemptsExhausted"
        assert letter["requestContext"]["approximateInvokeCount"] == 6  # the first try and MaximumRetryAttempts: 5
        assert info["shardId"]
        assert info["batchSize"] == len(letter["records"]) == 1
        assert (
            info["startSequenceNumber"]
            == info["endSequenceNumber"]
            == letter["records"][0]["dynamodb"]["SequenceNumber"]
        )
        assert letter["records"][0]["dynamodb"]["Keys"]["SK"] == {"S": f"TODO#{poison_id}"}
        assert info["streamArn"].startswith("arn:aws:dynamodb:")
        log = server.log.read_text()
        assert f"shard {info['shardId']} failed every retry" in log
        assert "sent to StreamDeadLetterQueue" in log
        # The shard is not blocked: the next change reaches the feed.
        change_and_wait(session, server, key, "after the poison")


def java_pids(data_dir: Path) -> list[int]:
    pids = []
    for pid in processes_mentioning(str(data_dir)):
        with contextlib.suppress(OSError):
            if b"DynamoDBLocal.jar" in Path(f"/proc/{pid}/cmdline").read_bytes():
                pids.append(pid)
    return pids


def test_dynamodb_local_killed_is_503_with_retry_after_then_restarted_on_the_same_data(
    tmp_path: Path, figures: Any
) -> None:
    key, fresh = f"{TENANT}-{secrets.token_hex(16)}", f"fresh-{secrets.token_hex(16)}"
    session = requests.Session()
    # `fresh` is first used while DynamoDB Local is down: the authorizer has no cached look-up of it.
    with served({TENANT: key, "fresh": fresh}, data_dir=tmp_path / "data") as server:
        todo_id, _ = change_and_wait(session, server, key, "kept across the restart")
        [java] = java_pids(server.data_dir)
        os.kill(java, signal.SIGKILL)
        killed = time.monotonic()
        # Probe once the server knows: a request sent before, with botocore's retries, may last
        # until DynamoDB Local is back and answer 200, and then no 503 is ever seen.
        wait_for("the server to see DynamoDB Local exit", lambda: "DynamoDB Local exited" in server.log.read_text())
        statuses: Counter[int] = Counter()
        retry_after: set[str | None] = set()

        def back() -> bool:
            reply = session.get(f"{server.url}/todos/{todo_id}", headers={"x-api-key": key}, timeout=60)
            other = session.get(f"{server.url}/todos", headers={"x-api-key": fresh}, timeout=60)
            for answer in (reply, other):
                statuses[answer.status_code] += 1
                if answer.status_code == 503:
                    retry_after.add(answer.headers.get("Retry-After"))
                    assert answer.json() == {"error": "Storage is busy or unavailable, retry later"}
            return reply.status_code == other.status_code == 200 and statuses[503] > 0

        wait_for("503 while DynamoDB Local is down, then 200", back, 120)
        figures("seconds from kill -9 of DynamoDB Local to the todo read again", round(time.monotonic() - killed, 1))
        figures("statuses while it was down and back", dict(statuses))
        assert set(statuses) == {503, 200}, statuses  # never a 500 or a 502
        assert retry_after == {"1"}
        [restarted] = java_pids(server.data_dir)
        assert restarted != java
        log = server.log.read_text()
        assert "DynamoDB Local exited" in log
        assert "DynamoDB Local is back" in log
        # The same data folder: the todo is there, and the stream runs into the feed again.
        change_and_wait(session, server, key, "after DynamoDB Local restarted")
