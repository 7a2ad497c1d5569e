"""A small HTTP client of the To-Do API for the end-to-end suite: `requests` only, no app code.

Every response passes `check_response` and the document's own check (`contract.py`: its status
and headers are documented for its operation). `check_response` holds what the contract says of all of them: an
error is `application/json` with a string `"error"`, `503` (and the stage's `429`) carry
`Retry-After`, and there is never a `500` or a gateway failure. A `429` or `503` is retried after
its `Retry-After` (the contract writes nothing on any error, so a retry is safe): a deployed stage
throttles, and a throttled request says nothing about the behaviour under test.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import requests

from tests.e2e.contract import contract_of

TIMEOUT = 30.0  # seconds; a deployed function's cold start fits well within it
RETRIES = 3
NOT_FOUND = {"error": "Todo not found"}
_UNSET: Any = object()
_RUN = uuid.uuid4().hex[:8]
_SEQUENCE = itertools.count(1)


def unique(label: str = "todo") -> str:
    """A title no other test (or earlier run against the same table) uses."""
    return f"e2e {label} {_RUN}-{next(_SEQUENCE)}"


def check_response(response: requests.Response) -> None:
    status = response.status_code
    where = f"{response.request.method} {response.request.url} -> {status}: {response.text[:500]!r}"
    assert status < 500 or status == 503, f"server failure (only 503 is in the contract): {where}"
    if status >= 400 and response.request.method != "HEAD":  # a HEAD response has no body
        content_type = response.headers.get("Content-Type", "")
        assert content_type.startswith("application/json"), f"error without a JSON Content-Type: {where}"
        body = response.json()
        assert isinstance(body, dict), where
        assert isinstance(body.get("error"), str), where
        assert body["error"], where
    if status in (429, 503):
        assert response.headers.get("Retry-After"), f"{status} without Retry-After: {where}"


def json_body(response: requests.Response) -> Any:
    assert response.headers.get("Content-Type", "").startswith("application/json"), (
        f"{response.request.method} {response.request.url}: Content-Type {response.headers.get('Content-Type')!r}"
    )
    return response.json()


def assert_timestamp(value: Any) -> datetime:
    """An RFC 3339 timestamp in UTC."""
    assert isinstance(value, str), value
    assert "T" in value, value
    assert value.endswith(("Z", "+00:00")), value
    parsed = datetime.fromisoformat(value)
    assert parsed.utcoffset() == timedelta(0), value
    return parsed


def assert_todo(todo: Any) -> None:
    """The contract's resource, with the contract's types."""
    assert isinstance(todo, dict), todo
    assert set(todo) >= {"id", "title", "completed", "created_at", "updated_at", "version"}, todo
    assert isinstance(todo["id"], str), todo
    assert todo["id"], todo
    assert isinstance(todo["title"], str), todo
    assert 1 <= len(todo["title"]) <= 200, todo
    assert isinstance(todo["completed"], bool), todo
    assert type(todo["version"]) is int, todo
    assert todo["version"] >= 1, todo
    assert assert_timestamp(todo["created_at"]) <= assert_timestamp(todo["updated_at"]), todo


@dataclass(frozen=True)
class Target:
    """Where the suite runs: the base URL, a key of tenant A, maybe one of tenant B."""

    url: str
    key: str
    other_key: str | None
    local: bool  # the local server the suite started itself
    token: str | None = None  # a signed-in user's access token (Authorization: Bearer)


@dataclass
class Api:
    """The API at `base_url` as the holder of `key` (None: no key header at all)."""

    base_url: str
    key: str | None
    session: requests.Session = field(repr=False)
    created: list[str] = field(default_factory=list)  # ids of the todos created through this client

    def request(
        self,
        method: str,
        path: str,
        body: Any = _UNSET,
        *,
        data: str | bytes | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> requests.Response:
        """One call; `body` is sent as JSON, `data` as it is (with a JSON Content-Type)."""
        sent = {"Accept": "application/json"}
        if self.key is not None:
            sent["x-api-key"] = self.key
        if body is not _UNSET:
            data = json.dumps(body)
        if data is not None:
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        for attempt in itertools.count():
            response = self.session.request(
                method, self.base_url + path, data=data, headers=sent, params=params, timeout=TIMEOUT
            )
            check_response(response)
            problems = contract_of(self.base_url, self.session).problems(response)
            assert not problems, f"the response is not as the document says: {problems}"
            if (method, path, response.status_code) == ("POST", "/todos", 201):
                self.created.append(response.json()["id"])
            if response.status_code not in (429, 503) or attempt >= RETRIES:
                return response
            time.sleep(min(float(response.headers["Retry-After"]), 5.0))
        raise AssertionError("unreachable")

    # The successful calls the tests build on; each asserts its own status.

    def create(self, title: str | None = None, **fields: Any) -> dict[str, Any]:
        response = self.request("POST", "/todos", {"title": title or unique(), **fields})
        assert response.status_code == 201, response.text
        todo: dict[str, Any] = json_body(response)
        return todo

    def get(self, todo_id: str) -> dict[str, Any]:
        response = self.request("GET", f"/todos/{todo_id}")
        assert response.status_code == 200, response.text
        todo: dict[str, Any] = json_body(response)
        return todo

    def pages(self, path: str = "/todos", **params: str) -> Iterator[dict[str, Any]]:
        """Every page of a list, following `next_cursor` until it is null."""
        seen: set[str] = set()
        query = dict(params)
        while True:
            response = self.request("GET", path, params=query)
            assert response.status_code == 200, response.text
            page: dict[str, Any] = json_body(response)
            assert set(page) >= {"items", "next_cursor"}, page
            assert isinstance(page["items"], list), page
            yield page
            cursor = page["next_cursor"]
            if cursor is None:
                return
            assert isinstance(cursor, str), page
            assert cursor, page
            assert cursor not in seen, f"the cursor {cursor!r} came back twice"
            seen.add(cursor)
            query["cursor"] = cursor

    def all_items(self, path: str = "/todos", **params: str) -> list[dict[str, Any]]:
        params.setdefault("limit", "100")
        return [item for page in self.pages(path, **params) for item in page["items"]]
