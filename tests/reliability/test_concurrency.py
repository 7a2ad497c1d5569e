"""Concurrency over real HTTP: the local server on DynamoDB Local (moto is not thread-safe).

Threads race read-ETag-then-PATCH-with-If-Match on one todo: every success must be a distinct
version in sequence and its change visible, every loser must get 412 and change nothing.
Bounded: a fixed number of rounds, a request timeout, 127.0.0.1 only.
"""

from __future__ import annotations

import secrets
import shutil
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from devtools.loader import ROOT
from devtools.local.serve import served
from tests.reliability.conftest import TENANT_A, TENANT_B, Server, bounded

THREADS = 8
# A burst past the local limit of instances a function may have (TODO_LOCAL_CONCURRENCY, 10):
# on the stage, where the functions have no reserved concurrency, it scales; here it waits.
BURST = 24


@dataclass(frozen=True)
class Attempt:
    thread: int
    round: int
    read_version: int
    status: int
    version: int | None  # the version the PATCH answered, on success
    title: str
    answer: str  # the body, to tell what an unexpected status was


def test_if_match_races_lose_no_update(server: Server, figures) -> None:
    rounds = bounded(12, 60)
    todo = server.call("POST", "/todos", json={"title": "contended"}).json()
    path = f"/todos/{todo['id']}"
    start = threading.Barrier(THREADS)

    def worker(thread: int) -> list[Attempt]:
        start.wait(timeout=60)
        attempts = []
        for number in range(rounds):
            read = server.call("GET", path)
            assert read.status_code == 200, read.text
            etag = read.headers["ETag"]
            title = f"t{thread}-r{number}"
            # Completed flips too, so that every success also moves the completed index (LSI1SK).
            body = {"title": title, "completed": (thread + number) % 2 == 0}
            reply = server.call("PATCH", path, json=body, headers={"If-Match": etag})
            version = reply.json().get("version") if reply.status_code == 200 else None
            attempts.append(
                Attempt(thread, number, int(etag.strip('"')), reply.status_code, version, title, reply.text)
            )
            if reply.status_code == 200:
                assert reply.json()["title"] == title
        return attempts

    with ThreadPoolExecutor(THREADS) as pool:
        attempts = [a for result in pool.map(worker, range(THREADS)) for a in result]

    final = server.call("GET", path).json()
    wins = sorted((a for a in attempts if a.status == 200), key=lambda a: a.version or 0)
    statuses = Counter(a.status for a in attempts)
    versions = [a.version for a in wins]
    lost = len(wins) - len(set(versions))  # two successes answering one version: one update lost
    figures("PATCH attempts", len(attempts))
    figures("successes / 412s", f"{len(wins)} / {statuses[412]}")
    figures("lost updates", lost + (final["version"] - 1 - len(wins)))

    assert set(statuses) <= {200, 412}, [a for a in attempts if a.status not in (200, 412)]
    assert statuses[200] + statuses[412] == THREADS * rounds
    assert versions == list(range(2, 2 + len(wins)))  # each success made exactly the next version
    assert all(a.version == a.read_version + 1 for a in wins)  # ...from the version it had read
    assert final["version"] == 1 + len(wins)
    assert final["title"] == wins[-1].title  # the last successful write is what is stored
    assert final["completed"] == ((wins[-1].thread + wins[-1].round) % 2 == 0)
    assert statuses[412] > 0, "no race happened: the test proved nothing"
    # The completed filter sees the todo exactly where its last write put it.
    listed = server.all_todos(completed=str(final["completed"]).lower())
    unlisted = server.all_todos(completed=str(not final["completed"]).lower())
    assert todo["id"] in [t["id"] for t in listed]
    assert todo["id"] not in [t["id"] for t in unlisted]


def test_conditional_delete_race_has_one_winner(server: Server, figures) -> None:
    todo = server.call("POST", "/todos", json={"title": "deleted once"}).json()
    start = threading.Barrier(THREADS)

    def delete(_: int) -> int:
        start.wait(timeout=60)
        return server.call("DELETE", f"/todos/{todo['id']}", headers={"If-Match": '"1"'}).status_code

    with ThreadPoolExecutor(THREADS) as pool:
        statuses = Counter(pool.map(delete, range(THREADS)))
    figures("concurrent conditional DELETEs", dict(statuses))
    assert statuses[200] == 1
    assert set(statuses) <= {200, 404, 412}
    assert server.call("GET", f"/todos/{todo['id']}").status_code == 404


def test_concurrent_creates_with_one_idempotency_key_create_one_todo(server: Server, figures) -> None:
    key = f"race-{threading.get_ident()}-{id(server)}"
    title = f"idempotent {key}"
    start = threading.Barrier(THREADS)

    def create(_: int) -> tuple[int, str | None]:
        start.wait(timeout=60)
        reply = server.call("POST", "/todos", json={"title": title}, headers={"Idempotency-Key": key})
        return reply.status_code, reply.json().get("id")

    with ThreadPoolExecutor(THREADS) as pool:
        replies = list(pool.map(create, range(THREADS)))
    statuses = Counter(status for status, _ in replies)
    ids = {todo_id for status, todo_id in replies if status == 201}
    matching = [t["id"] for t in server.all_todos() if t["title"] == title]
    figures("concurrent creates with one Idempotency-Key", f"{dict(statuses)}, todos created: {len(matching)}")
    assert set(statuses) <= {201, 409}, statuses  # 409: the first is still in progress (Retry-After)
    assert len(ids) == 1
    assert matching == list(ids)
    # Tenant B sees none of it.
    assert server.call("GET", f"/todos/{matching[0]}", tenant=TENANT_B).status_code == 404
    assert server.call("GET", f"/todos/{matching[0]}", tenant=TENANT_A).status_code == 200


def test_a_burst_of_creates_with_one_idempotency_key_is_one_todo_and_no_server_error(server: Server, figures) -> None:
    """BURST concurrent creates with one key, more than the instances a function may have locally:
    the ones beyond wait for an instance (no 5xx, as the stage would not throttle them either);
    exactly one todo."""
    key = f"burst-{secrets.token_hex(8)}"
    title = f"burst {key}"
    start = threading.Barrier(BURST)
    offset = server.log_offset()

    def create(_: int) -> tuple[int, str | None]:
        start.wait(timeout=60)
        reply = server.call("POST", "/todos", json={"title": title}, headers={"Idempotency-Key": key})
        return reply.status_code, reply.json().get("id")

    with ThreadPoolExecutor(BURST) as pool:
        replies = list(pool.map(create, range(BURST)))
    statuses = Counter(status for status, _ in replies)
    matching = [t["id"] for t in server.all_todos() if t["title"] == title]
    figures(f"{BURST} concurrent creates with one Idempotency-Key", f"{dict(statuses)}, todos created: {len(matching)}")
    assert set(statuses) <= {201, 409}, replies  # 409: the first is still in progress (Retry-After)
    assert len({todo_id for status, todo_id in replies if status == 201}) == 1
    assert len(matching) == 1
    logged = server.statuses_since(offset)
    assert not [status for status in logged if status >= 500], logged


def unconditional_patches(server: Server, todo_id: str, rounds: int) -> Counter[int]:
    """THREADS threads each PATCH the todo's title `rounds` times, all starting at once: the statuses."""
    start = threading.Barrier(THREADS)

    def worker(thread: int) -> list[int]:
        start.wait(timeout=60)
        return [
            server.call("PATCH", f"/todos/{todo_id}", json={"title": f"t{thread}-{n}"}).status_code
            for n in range(rounds)
        ]

    with ThreadPoolExecutor(THREADS) as pool:
        return Counter(s for result in pool.map(worker, range(THREADS)) for s in result)


def test_unconditional_patches_all_count(server: Server, figures) -> None:
    """Without If-Match every PATCH lands, and the version counts each one (the increment is atomic)."""
    rounds = bounded(10, 50)
    todo = server.call("POST", "/todos", json={"title": "counted"}).json()
    statuses = unconditional_patches(server, todo["id"], rounds)
    final = server.call("GET", f"/todos/{todo['id']}").json()
    figures("unconditional PATCHes / final version", f"{statuses[200]} / {final['version']}")
    assert statuses == Counter({200: THREADS * rounds})
    assert final["version"] == 1 + THREADS * rounds


# The same PATCH written as read-then-write: GetItem, then an unconditional PutItem of the item
# with the change (the version counted from what was read). Lambda runs concurrent requests in
# separate instances, so two of them can read one version and both write the next.
READ_THEN_WRITE = """
import json
import os

import boto3

_client = boto3.client("dynamodb")


def lambda_handler(event, context):
    tenant = event["requestContext"]["authorizer"]["tenant"]
    key = {"PK": {"S": f"TENANT#{tenant}"}, "SK": {"S": "TODO#" + event["pathParameters"]["todo_id"]}}
    item = _client.get_item(TableName=os.environ["TABLE_NAME"], Key=key, ConsistentRead=True)["Item"]
    item["title"] = {"S": json.loads(event["body"])["title"]}
    item["version"] = {"N": str(int(item["version"]["N"]) + 1)}
    _client.put_item(TableName=os.environ["TABLE_NAME"], Item=item)
    body = json.dumps({"version": int(item["version"]["N"])})
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": body}
"""


def test_the_check_catches_a_read_then_write_update(tmp_path: Path, figures) -> None:
    """The unconditional-PATCH check above, on a server whose update reads then writes: updates are
    lost, because the local server, as Lambda, runs concurrent requests to one function at once."""
    rounds = bounded(10, 50)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copy(ROOT / "template.yaml", tmp_path / "template.yaml")
    shutil.copytree(ROOT / "functions", tmp_path / "functions", ignore=ignore)
    shutil.copytree(ROOT / "layers", tmp_path / "layers", ignore=ignore)
    (tmp_path / "functions/update_todo/app.py").write_text(READ_THEN_WRITE, encoding="utf-8")
    key = f"mutant-{secrets.token_hex(16)}"
    with served({TENANT_A: key}, template=tmp_path / "template.yaml") as local:
        mutant = Server(local.url, {TENANT_A: key}, local.log)
        todo = mutant.call("POST", "/todos", json={"title": "counted"}).json()
        statuses = unconditional_patches(mutant, todo["id"], rounds)
        final = mutant.call("GET", f"/todos/{todo['id']}").json()
    lost = statuses[200] - (final["version"] - 1)
    figures("read-then-write update: PATCHes / final version / lost", f"{statuses[200]} / {final['version']} / {lost}")
    assert statuses == Counter({200: THREADS * rounds})
    assert lost > 0
