"""The activity feed in commit order under concurrent writers, through the local server.

Four writers PATCH one todo at once, one of them on a clock a minute behind (each request says by
how much: the copied tree's update function reads it from a header), so a writer's change time is
often earlier than that of the change it overwrote. The feed must still list the todo's events in
version order, newest first: the change time of a todo never goes backward.
"""

from __future__ import annotations

import secrets
import shutil
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from devtools.loader import ROOT
from devtools.local.serve import served
from tests.reliability.conftest import TENANT_A, Server, bounded

WRITERS = 4
BEHIND_MS = 60_000  # the first writer's clock

# Appended to the copied update function: its clock (todo_api.domain.clock's datetime) runs behind by
# the request's X-Test-Clock-Behind-Ms, as an instance whose clock is off would.
SKEWED_CLOCK = """

import datetime as _datetime

import todo_api.domain.clock as _clock

_BEHIND_MS = [0.0]


class _SkewedDatetime(_datetime.datetime):
    @classmethod
    def now(cls, tz=None):
        return _datetime.datetime.now(tz) - _datetime.timedelta(milliseconds=_BEHIND_MS[0])


_clock.datetime = _SkewedDatetime
_handle = lambda_handler


def lambda_handler(event, context):
    headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
    _BEHIND_MS[0] = float(headers.get("x-test-clock-behind-ms") or 0)
    return _handle(event, context)
"""


def skewed_tree(folder: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copy(ROOT / "template.yaml", folder / "template.yaml")
    shutil.copytree(ROOT / "functions", folder / "functions", ignore=ignore)
    shutil.copytree(ROOT / "layers", folder / "layers", ignore=ignore)
    app = folder / "functions/update_todo/app.py"
    app.write_text(app.read_text(encoding="utf-8") + SKEWED_CLOCK, encoding="utf-8")
    return folder / "template.yaml"


def feed_of(server: Server, todo_id: str, count: int) -> list[dict[str, Any]]:
    """The todo's events in the feed's order, once all `count` are there (bounded wait)."""
    deadline = time.monotonic() + 60
    while True:
        events, cursor = [], None
        while True:
            params = {"limit": "100", **({"cursor": cursor} if cursor else {})}
            reply = server.call("GET", "/activity", params=params)
            assert reply.status_code == 200, reply.text
            page = reply.json()
            events += [event for event in page["items"] if event["todo_id"] == todo_id]
            if not (cursor := page["next_cursor"]):
                break
        if len(events) >= count:
            return events
        assert time.monotonic() < deadline, f"{len(events)} of {count} events in the feed after 60 s"
        time.sleep(0.2)


def test_the_feed_lists_one_todos_changes_in_version_order_whatever_the_clocks(tmp_path: Path, figures) -> None:
    rounds = bounded(6, 25)
    key = f"feed-{secrets.token_hex(16)}"
    with served({TENANT_A: key}, template=skewed_tree(tmp_path)) as local:
        server = Server(local.url, {TENANT_A: key}, local.log)
        todo = server.call("POST", "/todos", json={"title": "contended"}).json()
        start = threading.Barrier(WRITERS)

        def writer(number: int) -> list[int]:
            headers = {"X-Test-Clock-Behind-Ms": str(BEHIND_MS if number == 0 else 0)}
            start.wait(timeout=60)
            return [
                server.call(
                    "PATCH", f"/todos/{todo['id']}", json={"title": f"w{number}-{n}"}, headers=headers
                ).status_code
                for n in range(rounds)
            ]

        with ThreadPoolExecutor(WRITERS) as pool:
            statuses = Counter(s for result in pool.map(writer, range(WRITERS)) for s in result)
        assert statuses == Counter({200: WRITERS * rounds})
        final = server.call("GET", f"/todos/{todo['id']}").json()
        events = feed_of(server, todo["id"], final["version"])

    versions = [event["todo"]["version"] for event in events]
    figures("feed versions, newest first", versions)
    assert final["version"] == 1 + WRITERS * rounds
    assert versions == list(range(final["version"], 0, -1))  # each version once, strictly decreasing
    assert [event["id"] for event in events] == sorted((event["id"] for event in events), reverse=True)
    times = [event["at"] for event in events]
    assert times == sorted(times, reverse=True)  # change times never go backward either
