"""GET /todos: oldest first, pages of at most `limit`, every todo exactly once, the completed filter.

A deployed table may hold other todos of the same tenant, so the assertions are about this
test's own todos among whatever else is listed; page sizes are checked on every page.
"""

from typing import Any

import pytest

from tests.e2e.client import Api, assert_todo


def walk(api: Api, limit: int, **params: str) -> list[list[dict[str, Any]]]:
    """The items of every page, checking that each page but the last is full."""
    pages = [page["items"] for page in api.pages(limit=str(limit), **params)]
    for number, items in enumerate(pages[:-1], 1):
        assert len(items) == limit, f"page {number} of {len(pages)} holds {len(items)} items, not {limit}"
    assert len(pages[-1]) <= limit
    return pages


def test_list_is_a_page_of_todos(api: Api) -> None:
    todo = api.create()
    response = api.request("GET", "/todos")
    assert response.status_code == 200
    page = response.json()
    assert set(page) == {"items", "next_cursor"}
    assert page["next_cursor"] is None or isinstance(page["next_cursor"], str)
    assert len(page["items"]) <= 50  # the default limit
    for item in page["items"]:
        assert_todo(item)
    assert todo in api.all_items()


def test_walk_with_limit_3_returns_each_todo_once_oldest_first(api: Api) -> None:
    created = [api.create() for _ in range(7)]
    ids = {todo["id"] for todo in created}
    pages = walk(api, 3)
    mine = [item for items in pages for item in items if item["id"] in ids]
    assert mine == created  # each exactly once, oldest first, as created
    listed = [item["id"] for items in pages for item in items]
    assert len(listed) == len(set(listed))


def test_a_full_last_page_has_no_cursor(api: Api) -> None:
    total = len(api.all_items())
    for _ in range(3 + (3 - total % 3) % 3):  # at least one more page, and a multiple of 3 in all
        api.create()
    pages = walk(api, 3)
    assert [len(items) for items in pages] == [3] * len(pages), "an empty page after a full last one"


def test_limit_1_and_100_are_valid(api: Api) -> None:
    api.create()
    for limit in ("1", "100"):
        response = api.request("GET", "/todos", params={"limit": limit})
        assert response.status_code == 200, response.text
        assert 1 <= len(response.json()["items"]) <= int(limit)


@pytest.mark.parametrize("completed", [True, False])
def test_completed_filter_fills_pages_and_returns_each_match_once(api: Api, completed: bool) -> None:
    created = [api.create(completed=n % 3 == 0) for n in range(7)]  # 3 done, 4 open
    ids = {todo["id"] for todo in created}
    pages = walk(api, 2, completed=str(completed).lower())
    listed = [item for items in pages for item in items]
    assert all(item["completed"] is completed for item in listed)
    assert [item for item in listed if item["id"] in ids] == [t for t in created if t["completed"] is completed]


def test_completing_a_todo_moves_it_between_filters(api: Api) -> None:
    todo = api.create()
    assert todo["id"] in {item["id"] for item in api.all_items(completed="false")}
    api.request("PATCH", f"/todos/{todo['id']}", {"completed": True})
    assert todo["id"] in {item["id"] for item in api.all_items(completed="true")}
    assert todo["id"] not in {item["id"] for item in api.all_items(completed="false")}
