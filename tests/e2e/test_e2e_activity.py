"""GET /activity: the change feed, derived asynchronously from the table's stream.

The contract says an event appears within two seconds locally; timing is not asserted here (a
busy CI machine must not fail the suite): the feed is polled up to a deadline of a few seconds
and the observed delay is printed (`pytest -s` or `-rA` shows it).
"""

import time
from typing import Any

import pytest

from tests.e2e.client import Api, Target, assert_timestamp, assert_todo, json_body

POLL = 0.1  # seconds


@pytest.fixture
def deadline(target: Target) -> float:
    """How long to poll the feed: locally the contract says 2 s; a stage's stream may lag more."""
    return 5.0 if target.local else 15.0


def events_of(api: Api, todo_id: str) -> list[dict[str, Any]]:
    response = api.request("GET", "/activity", params={"limit": "100"})
    assert response.status_code == 200, response.text
    page = json_body(response)
    assert set(page) >= {"items", "next_cursor"}, page
    return [event for event in page["items"] if event["todo_id"] == todo_id]


def wait_for(api: Api, todo_id: str, types: list[str], deadline: float) -> list[dict[str, Any]]:
    """The todo's events once they are `types` (newest first), polling up to `deadline` seconds."""
    start = time.monotonic()
    while True:
        events = events_of(api, todo_id)
        if [event["type"] for event in events] == types or time.monotonic() - start > deadline:
            break
        time.sleep(POLL)
    print(f"activity of {todo_id}: {len(events)} events after {time.monotonic() - start:.2f} s")
    assert [event["type"] for event in events] == types
    return events


def assert_event(event: dict[str, Any], todo_id: str) -> None:
    assert {"id", "type", "todo_id", "at", "changes", "todo"} <= set(event), event
    assert isinstance(event["id"], str), event
    assert event["id"], event
    assert event["todo_id"] == todo_id, event
    assert_timestamp(event["at"])
    assert isinstance(event["changes"], dict), event
    assert_todo(event["todo"])
    assert event["todo"]["id"] == todo_id, event


def test_create_complete_delete_appear_newest_first(api: Api, deadline: float) -> None:
    todo = api.create()
    done = json_body(api.request("PATCH", f"/todos/{todo['id']}", {"completed": True}))
    assert api.request("DELETE", f"/todos/{todo['id']}").status_code == 200

    deleted, completed, created = wait_for(
        api, todo["id"], ["todo.deleted", "todo.completed", "todo.created"], deadline
    )
    for event in (deleted, completed, created):
        assert_event(event, todo["id"])
    assert created["todo"] == todo
    assert completed["todo"] == done
    assert completed["changes"] == {"completed": [False, True]}
    assert deleted["todo"] == done  # the todo before the delete
    assert assert_timestamp(created["at"]) <= assert_timestamp(completed["at"]) <= assert_timestamp(deleted["at"])
    assert len({created["id"], completed["id"], deleted["id"]}) == 3


def test_update_and_reopen_are_events_too(api: Api, deadline: float) -> None:
    todo = api.create(completed=True)
    renamed = json_body(api.request("PATCH", f"/todos/{todo['id']}", {"title": todo["title"] + " (renamed)"}))
    reopened = json_body(api.request("PUT", f"/todos/{todo['id']}", {"completed": False}))

    reopen, update, _ = wait_for(api, todo["id"], ["todo.reopened", "todo.updated", "todo.created"], deadline)
    assert update["changes"] == {"title": [todo["title"], renamed["title"]]}
    assert update["todo"] == renamed
    assert reopen["changes"] == {"completed": [True, False]}
    assert reopen["todo"] == reopened


def test_feed_pages_newest_first(api: Api, deadline: float) -> None:
    todo = api.create()
    api.request("PATCH", f"/todos/{todo['id']}", {"title": todo["title"] + " 2"})
    wait_for(api, todo["id"], ["todo.updated", "todo.created"], deadline)
    first = json_body(api.request("GET", "/activity", params={"limit": "1"}))
    assert len(first["items"]) == 1
    assert first["next_cursor"]
    second = json_body(api.request("GET", "/activity", params={"limit": "1", "cursor": first["next_cursor"]}))
    assert len(second["items"]) == 1
    assert first["items"][0]["id"] != second["items"][0]["id"]
    assert first["items"][0]["at"] >= second["items"][0]["at"]


def test_other_tenant_does_not_see_the_activity(api: Api, other: Api, deadline: float) -> None:
    todo = api.create()
    wait_for(api, todo["id"], ["todo.created"], deadline)
    assert events_of(other, todo["id"]) == []


def test_the_feed_lists_changes_in_commit_order_deletes_included(api: Api, deadline: float) -> None:
    """Several todos changed within about a second: the feed (newest first) is the reverse of the
    order in which the answers came back, a delete included, whatever the stream's time precision."""
    first = api.create()
    second = api.create()
    assert api.request("DELETE", f"/todos/{first['id']}").status_code == 200
    third = api.create()
    ids = {first["id"], second["id"], third["id"]}
    start = time.monotonic()
    while True:
        response = api.request("GET", "/activity", params={"limit": "100"})
        mine = [(e["type"], e["todo_id"]) for e in json_body(response)["items"] if e["todo_id"] in ids]
        if len(mine) >= 4 or time.monotonic() - start > deadline:
            break
        time.sleep(POLL)
    assert mine == [
        ("todo.created", third["id"]),
        ("todo.deleted", first["id"]),
        ("todo.created", second["id"]),
        ("todo.created", first["id"]),
    ]
