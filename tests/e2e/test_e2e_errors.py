"""Every row of the contract's error table that a client can produce, over HTTP.

Each error is checked for `application/json` with a string `"error"` by the client itself
(`tests.e2e.client.check_response`); the tests here add the status and that nothing was written.
"""

import base64
import hashlib
import json
from collections.abc import Callable

import pytest

from tests.cursors import HOSTILE_KEYS, VALID_TODO_ID, mint, unknown_secret
from tests.e2e.client import NOT_FOUND, Api, unique

MAX_BODY = 64 * 1024
SAMPLE_ID = "01JD7Z6ZQ4N8Y3T5V2W9X0ABCD"  # the contract's example id: well formed, never created
DEPTH = 5000  # nested JSON arrays: 10 KB of valid JSON that is still not an object

# Bad POST /todos bodies, made from a unique title so that a todo written by mistake is found.
BAD_CREATE_BODIES: dict[str, Callable[[str], str]] = {
    "empty body": lambda t: "",
    "not JSON": lambda t: f"title={t}",
    "truncated JSON": lambda t: json.dumps({"title": t})[:-1],
    "JSON array": lambda t: json.dumps([{"title": t}]),
    "JSON string": lambda t: json.dumps(t),
    "JSON null": lambda t: "null",
    "empty object": lambda t: "{}",
    "only completed": lambda t: json.dumps({"completed": True}),
    "empty title": lambda t: json.dumps({"title": ""}),
    "blank title": lambda t: json.dumps({"title": " \t\n "}),
    "title of 201 characters": lambda t: json.dumps({"title": t.ljust(201, "x")}),
    "title is a number": lambda t: json.dumps({"title": 5}),
    "title is null": lambda t: json.dumps({"title": None}),
    "title is a list": lambda t: json.dumps({"title": [t]}),
    'completed is "true"': lambda t: json.dumps({"title": t, "completed": "true"}),
    "completed is 1": lambda t: json.dumps({"title": t, "completed": 1}),
    "unknown field": lambda t: json.dumps({"title": t, "priority": "high"}),
    "server field id": lambda t: json.dumps({"title": t, "id": SAMPLE_ID}),
    "server field version": lambda t: json.dumps({"title": t, "version": 7}),
    "server field created_at": lambda t: json.dumps({"title": t, "created_at": "2026-01-01T00:00:00Z"}),
    "tenant field": lambda t: json.dumps({"title": t, "tenant": "someone-else"}),
    "deeply nested array": lambda t: "[" * DEPTH + "]" * DEPTH,
    "deeply nested title": lambda t: '{"title": ' + "[" * DEPTH + "]" * DEPTH + "}",
}

BAD_UPDATE_BODIES: dict[str, str] = {
    "empty body": "",
    "not JSON": "completed=true",
    "JSON array": '[{"completed": true}]',
    "JSON string": '"nope"',
    "no field to update": "{}",
    "title is null": '{"title": null}',
    "empty title": '{"title": ""}',
    "blank title": '{"title": "   "}',
    "title of 201 characters": json.dumps({"title": "x" * 201}),
    "title is a number": '{"title": 5}',
    'completed is "true"': '{"completed": "true"}',
    'completed is "false"': '{"completed": "false"}',
    "completed is 0": '{"completed": 0}',
    "unknown field": '{"title": "ok", "priority": "high"}',
    "server field id": json.dumps({"title": "ok", "id": SAMPLE_ID}),
    "server field version": '{"version": 5}',
    "deeply nested array": "[" * DEPTH + "]" * DEPTH,
    "deeply nested title": '{"title": ' + "[" * DEPTH + "]" * DEPTH + "}",
}

TENANT_ROUTES = [
    ("GET", "/todos"),
    ("POST", "/todos"),
    ("GET", "/todos/{id}"),
    ("PUT", "/todos/{id}"),
    ("PATCH", "/todos/{id}"),
    ("DELETE", "/todos/{id}"),
    ("GET", "/activity"),
]


def titles(api: Api) -> list[str]:
    return [item["title"] for item in api.all_items()]


@pytest.mark.parametrize("case", BAD_CREATE_BODIES)
def test_bad_create_body_is_400_and_writes_nothing(api: Api, case: str) -> None:
    title = unique("never-written")
    response = api.request("POST", "/todos", data=BAD_CREATE_BODIES[case](title))
    assert response.status_code == 400, response.text
    assert not [t for t in titles(api) if t.startswith(title)]


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
@pytest.mark.parametrize("case", BAD_UPDATE_BODIES)
def test_bad_update_body_is_400_and_changes_nothing(api: Api, method: str, case: str) -> None:
    todo = api.create()
    response = api.request(method, f"/todos/{todo['id']}", data=BAD_UPDATE_BODIES[case])
    assert response.status_code == 400, response.text
    assert api.get(todo["id"]) == todo


@pytest.mark.parametrize(
    "query",
    [
        {"limit": "0"},
        {"limit": "101"},
        {"limit": "-1"},
        {"limit": "abc"},
        {"limit": "1.5"},
        {"limit": ""},
        {"completed": "yes"},
        {"completed": "1"},
        {"completed": ""},
        {"cursor": "not-a-cursor"},
        {"cursor": ""},
        {"cursor": "A" * 600},
    ],
    ids=lambda q: "&".join(f"{k}={v[:20]}" for k, v in q.items()),
)
def test_bad_list_query_is_400(api: Api, query: dict[str, str]) -> None:
    response = api.request("GET", "/todos", params=query)
    assert response.status_code == 400, response.text


@pytest.mark.parametrize(
    "query",
    [{"limit": "0"}, {"limit": "101"}, {"limit": "abc"}, {"cursor": "not-a-cursor"}, {"cursor": ""}],
    ids=lambda q: "&".join(f"{k}={v}" for k, v in q.items()),
)
def test_bad_activity_query_is_400(api: Api, query: dict[str, str]) -> None:
    response = api.request("GET", "/activity", params=query)
    assert response.status_code == 400, response.text


class TestCursors:
    @pytest.fixture
    def cursor(self, api: Api) -> str:
        """A real cursor of this tenant's unfiltered list."""
        for _ in range(2):
            api.create()
        response = api.request("GET", "/todos", params={"limit": "1"})
        cursor: str = response.json()["next_cursor"]
        assert cursor
        return cursor

    def test_tampered_cursor_is_400(self, api: Api, cursor: str) -> None:
        for at in (0, len(cursor) // 2, len(cursor) - 1):
            flipped = cursor[:at] + ("A" if cursor[at] != "A" else "B") + cursor[at + 1 :]
            response = api.request("GET", "/todos", params={"cursor": flipped})
            assert response.status_code == 400, (at, response.text)

    def test_cursor_of_another_filter_is_400(self, api: Api, cursor: str) -> None:
        response = api.request("GET", "/todos", params={"cursor": cursor, "completed": "false"})
        assert response.status_code == 400, response.text

    def test_todos_cursor_is_no_activity_cursor(self, api: Api, cursor: str) -> None:
        response = api.request("GET", "/activity", params={"cursor": cursor})
        assert response.status_code == 400, response.text

    @pytest.mark.parametrize("key", [*HOSTILE_KEYS, VALID_TODO_ID], ids=repr)
    @pytest.mark.parametrize(("path", "scope"), [("/todos", "all"), ("/activity", "activity")])
    def test_a_hand_made_cursor_is_400(self, api: Api, path: str, scope: str, key: object) -> None:
        """Signed with a secret this API does not hold, or checked by a hash of public inputs alone
        (tenant e2e-a is the local server's first tenant): refused with the contract's body."""
        payload = json.dumps({"s": scope, "k": key}, separators=(",", ":")).encode()
        unkeyed = hashlib.sha256(b"e2e-a\x00" + payload).digest()[:12]
        for forged in (
            mint(unknown_secret(), "e2e-a", scope, key),
            base64.urlsafe_b64encode(payload + unkeyed).decode().rstrip("="),
        ):
            response = api.request("GET", path, params={"cursor": forged})
            assert (response.status_code, response.json()) == (400, {"error": "Invalid cursor"}), forged


@pytest.mark.parametrize("key", [None, "", "e2e-no-such-key"], ids=["missing", "empty", "unknown"])
@pytest.mark.parametrize(("method", "path"), TENANT_ROUTES, ids=[f"{m} {p}" for m, p in TENANT_ROUTES])
def test_missing_or_unknown_key_is_401_and_changes_nothing(
    api: Api, anonymous: Api, method: str, path: str, key: str | None
) -> None:
    todo = api.create()
    caller = anonymous if key is None else Api(api.base_url, key, api.session)
    body = {"title": unique("unauthorized")} if method in ("POST", "PUT", "PATCH") else None
    kwargs = {} if body is None else {"body": body}
    response = caller.request(method, path.replace("{id}", todo["id"]), **kwargs)
    assert response.status_code == 401, response.text
    assert api.get(todo["id"]) == todo
    if body is not None:
        assert body["title"] not in titles(api)


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("todo_id", [SAMPLE_ID, "not-an-id", "x" * 1000], ids=["well-formed", "malformed", "long"])
def test_unknown_todo_is_404(api: Api, method: str, todo_id: str) -> None:
    kwargs = {"body": {"title": unique()}} if method in ("PUT", "PATCH") else {}
    response = api.request(method, f"/todos/{todo_id}", **kwargs)
    assert (response.status_code, response.json()) == (404, NOT_FOUND)


@pytest.mark.parametrize("with_key", [True, False], ids=["with key", "without key"])
@pytest.mark.parametrize("path", ["/nope", "/todo", "/todos/a/b", "/activity/x", "/docs/x"])
def test_unknown_route_is_404_or_405(api: Api, anonymous: Api, path: str, with_key: bool) -> None:
    response = (api if with_key else anonymous).request("GET", path)
    assert response.status_code in (404, 405), response.text


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/todos"),
        ("PATCH", "/todos"),
        ("DELETE", "/todos"),
        ("POST", "/todos/{id}"),
        ("POST", "/activity"),
        ("DELETE", "/activity"),
        ("POST", "/"),
        ("DELETE", "/openapi.json"),
        ("PUT", "/docs"),
    ],
)
def test_unsupported_method_is_404_or_405_and_changes_nothing(api: Api, method: str, path: str) -> None:
    todo = api.create()
    response = api.request(method, path.replace("{id}", todo["id"]), {"title": unique(), "completed": True})
    assert response.status_code in (404, 405), response.text
    assert api.get(todo["id"]) == todo


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_body_declared_as_not_json_is_400_or_415_and_writes_nothing(api: Api, content_type: str) -> None:
    title = unique("not-declared-json")
    response = api.request("POST", "/todos", data=json.dumps({"title": title}), headers={"Content-Type": content_type})
    assert response.status_code in (400, 415), response.text
    assert title not in titles(api)


@pytest.mark.parametrize("charset", ["iso-8859-1", "windows-1252"])
def test_body_in_another_charset_than_utf8_is_415_and_writes_nothing(api: Api, charset: str) -> None:
    title = unique("café")
    latin1 = json.dumps({"title": title}, ensure_ascii=False).encode("latin-1")
    headers = {"Content-Type": f"application/json; charset={charset}"}
    response = api.request("POST", "/todos", data=latin1, headers=headers)
    assert response.status_code == 415, response.text
    todo = api.create()
    response = api.request("PATCH", f"/todos/{todo['id']}", data=latin1, headers=headers)
    assert response.status_code == 415, response.text
    assert api.get(todo["id"]) == todo
    assert title not in titles(api)


def test_utf8_declared_as_such_is_accepted(api: Api) -> None:
    title = unique("café")
    data = json.dumps({"title": title}, ensure_ascii=False).encode("utf-8")
    response = api.request("POST", "/todos", data=data, headers={"Content-Type": "application/json; charset=UTF-8"})
    assert response.status_code == 201, response.text
    assert response.json()["title"] == title


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
def test_a_wrong_type_is_reported_at_the_field(api: Api, method: str) -> None:
    path = "/todos" if method == "POST" else f"/todos/{api.create()['id']}"
    response = api.request(method, path, {"title": 5})
    assert response.status_code == 400, response.text
    assert [detail["loc"] for detail in response.json()["details"]] == [["body", "title"]]


@pytest.mark.parametrize("method", ["HEAD", "OPTIONS"])
@pytest.mark.parametrize("path", ["/", "/todos", "/todos/{id}", "/activity"])
def test_methods_outside_the_contract_are_no_server_error(api: Api, method: str, path: str) -> None:
    todo = api.create()
    response = api.request(method, path.replace("{id}", todo["id"]))
    assert response.status_code in (200, 204, 404, 405), response.text  # the client rejects any 5xx
    assert api.get(todo["id"]) == todo


class TestBodyTooLarge:
    @staticmethod
    def padded(size: int, title: str) -> str:
        """A JSON object of exactly `size` bytes."""
        skeleton = json.dumps({"title": title, "pad": ""})
        return json.dumps({"title": title, "pad": "y" * (size - len(skeleton))})

    def test_create_over_64_kib_is_413_and_writes_nothing(self, api: Api) -> None:
        title = unique("too-large")
        response = api.request("POST", "/todos", data=self.padded(MAX_BODY + 1, title))
        assert response.status_code == 413, response.text
        assert title not in titles(api)

    def test_create_of_exactly_64_kib_is_not_too_large(self, api: Api) -> None:
        body = self.padded(MAX_BODY, unique("just-fits"))
        assert len(body.encode()) == MAX_BODY
        response = api.request("POST", "/todos", data=body)
        assert response.status_code == 400, response.text  # the unknown field "pad", not the size

    @pytest.mark.parametrize("method", ["PUT", "PATCH"])
    def test_update_over_64_kib_is_413_and_changes_nothing(self, api: Api, method: str) -> None:
        todo = api.create()
        response = api.request(method, f"/todos/{todo['id']}", data=self.padded(MAX_BODY * 2, "x"))
        assert response.status_code == 413, response.text
        assert api.get(todo["id"]) == todo
