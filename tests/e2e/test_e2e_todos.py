"""POST, GET, PUT, PATCH and DELETE /todos over HTTP: statuses, bodies and headers."""

import uuid
from urllib.parse import urlsplit

import pytest

from tests.e2e.client import NOT_FOUND, Api, assert_timestamp, assert_todo, json_body, unique


def test_create_is_201_with_the_todo_and_its_location(api: Api) -> None:
    title = unique("create")
    response = api.request("POST", "/todos", {"title": title})
    assert response.status_code == 201, response.text
    todo = json_body(response)
    assert_todo(todo)
    # The path under the base URL (API.md): `/dev/todos/<id>` on a stage URL, `/todos/<id>` at a root.
    assert response.headers["Location"] == f"{urlsplit(api.base_url).path.rstrip('/')}/todos/{todo['id']}"
    assert (todo["title"], todo["completed"], todo["version"]) == (title, False, 1)
    assert todo["created_at"] == todo["updated_at"]


def test_create_takes_completed_and_a_title_of_200_characters(api: Api) -> None:
    title = unique("long").ljust(200, "x")
    todo = api.create(title, completed=True)
    assert (todo["title"], todo["completed"]) == (title, True)
    assert api.get(todo["id"]) == todo


def test_get_is_the_todo_with_its_version_as_etag(api: Api) -> None:
    todo = api.create()
    response = api.request("GET", f"/todos/{todo['id']}")
    assert response.status_code == 200
    assert json_body(response) == todo
    assert response.headers["ETag"] == '"1"'


def test_api_key_header_name_is_case_insensitive(api: Api) -> None:
    todo = api.create()
    response = api.session.get(f"{api.base_url}/todos/{todo['id']}", headers={"X-API-Key": api.key or ""}, timeout=30)
    assert response.status_code == 200, response.text
    assert response.json() == todo


def test_ids_sort_by_creation_time(api: Api) -> None:
    ids = [api.create()["id"] for _ in range(3)]
    assert ids == sorted(ids)
    assert len(set(ids)) == 3


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_update_changes_only_the_fields_sent(api: Api, method: str) -> None:
    todo = api.create()
    response = api.request(method, f"/todos/{todo['id']}", {"completed": True})
    assert response.status_code == 200, response.text
    done = json_body(response)
    assert_todo(done)
    assert (done["id"], done["title"], done["completed"], done["version"]) == (todo["id"], todo["title"], True, 2)
    assert done["created_at"] == todo["created_at"]
    assert assert_timestamp(done["updated_at"]) >= assert_timestamp(todo["updated_at"])

    title = unique("renamed")
    renamed = json_body(api.request(method, f"/todos/{todo['id']}", {"title": title}))
    assert (renamed["title"], renamed["completed"], renamed["version"]) == (title, True, 3)

    response = api.request("GET", f"/todos/{todo['id']}")
    assert json_body(response) == renamed
    assert response.headers["ETag"] == '"3"'


def test_update_of_both_fields(api: Api) -> None:
    todo = api.create()
    title = unique("both")
    response = api.request("PUT", f"/todos/{todo['id']}", {"title": title, "completed": True})
    assert response.status_code == 200, response.text
    assert {k: json_body(response)[k] for k in ("title", "completed", "version")} == {
        "title": title,
        "completed": True,
        "version": 2,
    }


def test_delete_is_200_and_the_todo_is_gone(api: Api) -> None:
    todo = api.create()
    response = api.request("DELETE", f"/todos/{todo['id']}")
    assert response.status_code == 200
    assert json_body(response) == {"message": "Todo deleted successfully"}
    for method in ("GET", "DELETE"):
        gone = api.request(method, f"/todos/{todo['id']}")
        assert (gone.status_code, gone.json()) == (404, NOT_FOUND)
    assert todo["id"] not in [item["id"] for item in api.all_items()]


class TestIfMatch:
    def test_current_version_updates_and_deletes(self, api: Api) -> None:
        todo = api.create()
        updated = api.request("PUT", f"/todos/{todo['id']}", {"completed": True}, headers={"If-Match": '"1"'})
        assert updated.status_code == 200, updated.text
        assert json_body(updated)["version"] == 2
        patched = api.request("PATCH", f"/todos/{todo['id']}", {"title": unique()}, headers={"If-Match": '"2"'})
        assert patched.status_code == 200, patched.text
        deleted = api.request("DELETE", f"/todos/{todo['id']}", headers={"If-Match": '"3"'})
        assert deleted.status_code == 200, deleted.text

    def test_etag_of_get_is_a_valid_if_match(self, api: Api) -> None:
        todo = api.create()
        api.request("PATCH", f"/todos/{todo['id']}", {"completed": True})
        etag = api.request("GET", f"/todos/{todo['id']}").headers["ETag"]
        response = api.request("PATCH", f"/todos/{todo['id']}", {"completed": False}, headers={"If-Match": etag})
        assert response.status_code == 200, response.text

    @pytest.mark.parametrize(
        ("method", "body"), [("PUT", {"completed": True}), ("PATCH", {"title": "x"}), ("DELETE", None)]
    )
    def test_stale_version_is_412_and_changes_nothing(self, api: Api, method: str, body: dict | None) -> None:
        todo = api.create()
        current = json_body(api.request("PATCH", f"/todos/{todo['id']}", {"title": unique("v2")}))
        kwargs = {} if body is None else {"body": body}
        response = api.request(method, f"/todos/{todo['id']}", headers={"If-Match": '"1"'}, **kwargs)
        assert response.status_code == 412, response.text
        assert api.get(todo["id"]) == current


class TestIdempotency:
    def test_retry_returns_the_first_response_and_creates_nothing(self, api: Api) -> None:
        title = unique("idempotent")
        headers = {"Idempotency-Key": f"e2e-{uuid.uuid4()}"}
        first = api.request("POST", "/todos", {"title": title}, headers=headers)
        again = api.request("POST", "/todos", {"title": title}, headers=headers)
        assert (first.status_code, again.status_code) == (201, 201), again.text
        assert json_body(again) == json_body(first)
        assert again.headers["Location"] == first.headers["Location"]
        assert [item["title"] for item in api.all_items()].count(title) == 1

    def test_reuse_with_another_body_is_422_and_creates_nothing(self, api: Api) -> None:
        title, other_title = unique("first"), unique("second")
        headers = {"Idempotency-Key": f"e2e-{uuid.uuid4()}"}
        assert api.request("POST", "/todos", {"title": title}, headers=headers).status_code == 201
        response = api.request("POST", "/todos", {"title": other_title}, headers=headers)
        assert response.status_code == 422, response.text
        titles = [item["title"] for item in api.all_items()]
        assert (titles.count(title), titles.count(other_title)) == (1, 0)

    def test_another_key_is_another_todo(self, api: Api) -> None:
        title = unique("two-keys")
        first = api.request("POST", "/todos", {"title": title}, headers={"Idempotency-Key": f"e2e-{uuid.uuid4()}"})
        second = api.request("POST", "/todos", {"title": title}, headers={"Idempotency-Key": f"e2e-{uuid.uuid4()}"})
        assert (first.status_code, second.status_code) == (201, 201)
        assert json_body(first)["id"] != json_body(second)["id"]
