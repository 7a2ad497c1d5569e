"""Pagination: every matching todo exactly once, in order, pages full (hypothesis)."""

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devtools.moto_harness import create_tables
from tests.conftest import TABLES
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
