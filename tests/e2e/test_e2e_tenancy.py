"""Two tenants: another tenant's todo behaves exactly as if it did not exist.

These tests need a key of a second tenant: against a URL of your own, TODO_API_KEY_2.
"""

import uuid

import pytest

from tests.e2e.client import NOT_FOUND, Api, json_body, unique


def test_other_tenant_cannot_get_update_or_delete_a_todo(api: Api, other: Api) -> None:
    todo = api.create(completed=True)
    for method, body in (
        ("GET", None),
        ("PUT", {"completed": False}),
        ("PATCH", {"title": unique("hijacked")}),
        ("DELETE", None),
        ("PUT", {"title": unique("hijacked")}),
    ):
        kwargs = {} if body is None else {"body": body}
        for headers in ({}, {"If-Match": '"1"'}):
            response = other.request(method, f"/todos/{todo['id']}", headers=headers, **kwargs)
            assert (response.status_code, response.json()) == (404, NOT_FOUND), (method, headers)
    assert api.get(todo["id"]) == todo


@pytest.mark.parametrize("query", [{}, {"completed": "true"}, {"completed": "false"}], ids=["all", "done", "open"])
def test_other_tenant_never_lists_a_todo(api: Api, other: Api, query: dict[str, str]) -> None:
    mine = {api.create(completed=True)["id"], api.create()["id"]}
    theirs = other.create()
    listed = {item["id"] for item in other.all_items(**query)}
    assert not listed & mine
    if query.get("completed") != "true":
        assert theirs["id"] in listed


def test_cursor_of_another_tenant_is_400(api: Api, other: Api) -> None:
    for _ in range(2):
        api.create()
        other.create()
    cursor = json_body(api.request("GET", "/todos", params={"limit": "1"}))["next_cursor"]
    assert cursor
    response = other.request("GET", "/todos", params={"cursor": cursor, "limit": "1"})
    assert response.status_code == 400, response.text


def test_same_idempotency_key_in_two_tenants_is_two_todos(api: Api, other: Api) -> None:
    title, headers = unique("shared-key"), {"Idempotency-Key": f"e2e-{uuid.uuid4()}"}
    mine = api.request("POST", "/todos", {"title": title}, headers=headers)
    theirs = other.request("POST", "/todos", {"title": title}, headers=headers)
    assert (mine.status_code, theirs.status_code) == (201, 201), theirs.text
    assert json_body(mine)["id"] != json_body(theirs)["id"]
    assert other.request("GET", f"/todos/{json_body(mine)['id']}").status_code == 404
    assert api.request("GET", f"/todos/{json_body(theirs)['id']}").status_code == 404
