"""Pagination: every matching todo exactly once, in order, pages full (hypothesis)."""

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devtools.moto_harness import create_tables
from tests.conftest import TABLES
from tests.cursors import HOSTILE_KEYS, TEST_SECRET, mint, unknown_secret
from todo_api import wiring
from todo_api.wiring import dynamodb, todo_service

pytestmark = []


def walk(api, limit, completed=None):
    pages, cursor = [], None
    while True:
        query = {"limit": str(limit)}
        if cursor:
            query["cursor"] = cursor
        if completed is not None:
            query["completed"] = completed
        reply = api("GET", "/todos", query=query)
        assert reply.status == 200, reply.body
        pages.append(reply.body["items"])
        cursor = reply.body["next_cursor"]
        if cursor is None:
            return pages


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    flags=st.lists(st.booleans(), min_size=0, max_size=30),
    limit=st.integers(min_value=1, max_value=12),
    completed=st.sampled_from([None, "true", "false"]),
)
def test_every_item_exactly_once_in_order_pages_full(api, aws, flags, limit, completed):
    for name in TABLES.values():
        aws.delete_table(TableName=name)
    wiring.reset()
    create_tables(dynamodb(), TABLES)
    created = [todo_service().create("acme", _body(i, flag)) for i, flag in enumerate(flags)]
    todo_service().create("globex", _body(99, True))  # another tenant's todo never shows
    expected = [t.id for t in created if completed is None or t.completed == (completed == "true")]

    pages = walk(api, limit, completed)

    seen = [item["id"] for page in pages for item in page]
    assert seen == expected
    assert all(len(page) == limit for page in pages[:-1])
    assert len(pages[-1]) <= limit
    # No empty last page: a full page that ends the list says so with a null cursor.
    assert len(pages) == max(1, math.ceil(len(expected) / limit))


def test_nine_todos_at_three_a_page_are_three_pages(api):
    for i in range(9):
        assert api("POST", "/todos", {"title": f"todo {i}"}).status == 201
    pages = walk(api, 3)
    assert [len(page) for page in pages] == [3, 3, 3]


def _body(i, flag):
    from todo_api.domain.models import TodoCreate

    return TodoCreate(title=f"todo {i}", completed=flag)


def _public_cursor(tenant, scope, key):
    """A cursor checked by SHA-256 over public inputs alone (the unkeyed scheme): anyone can make one."""
    import base64
    import hashlib
    import json

    payload = json.dumps({"s": scope, "k": key}, separators=(",", ":")).encode()
    check = hashlib.sha256(tenant.encode("utf-8", "surrogatepass") + b"\x00" + payload).digest()[:12]
    return base64.urlsafe_b64encode(payload + check).decode().rstrip("=")


@pytest.mark.parametrize("key", HOSTILE_KEYS, ids=repr)
@pytest.mark.parametrize("route", ["/todos", "/activity"])
def test_a_hand_made_cursor_is_400_with_the_contracts_body(api, route, key):
    """Made from public inputs, signed with an unknown secret, or signed with the right secret but
    carrying a key that is no id of the list: 400 {"error": "Invalid cursor"}, the store unasked."""
    assert api("POST", "/todos", {"title": "mine"}).status == 201
    scope = "all" if route == "/todos" else "activity"
    for cursor in (
        _public_cursor("acme", scope, key),
        mint(unknown_secret(), "acme", scope, key),
        mint(TEST_SECRET, "acme", scope, key),
    ):
        reply = api("GET", route, query={"cursor": cursor})
        assert (reply.status, reply.body) == (400, {"error": "Invalid cursor"}), cursor


def test_a_cursor_of_the_previous_secret_works_during_a_rotation(api, monkeypatch):
    for title in "abc":
        assert api("POST", "/todos", {"title": title}).status == 201
    first = api("GET", "/todos", query={"limit": "1"}).body
    # rotate: a new current secret, the old one as the previous
    monkeypatch.setenv("CURSOR_SECRET", "rotated-cursor-secret-0123456789abcdefghijklmnopq")
    monkeypatch.setenv("CURSOR_SECRET_PREVIOUS", TEST_SECRET)
    wiring.reset()
    second = api("GET", "/todos", query={"limit": "1", "cursor": first["next_cursor"]})
    assert second.status == 200
    assert second.body["items"][0]["title"] == "b"
    assert second.body["next_cursor"] == mint(
        "rotated-cursor-secret-0123456789abcdefghijklmnopq", "acme", "all", second.body["items"][0]["id"]
    )
    # the previous secret retired: its cursors are refused
    monkeypatch.delenv("CURSOR_SECRET_PREVIOUS")
    wiring.reset()
    assert api("GET", "/todos", query={"cursor": first["next_cursor"]}).status == 400
    monkeypatch.undo()
    wiring.reset()
