"""The domain: what each operation means, independent of HTTP and of DynamoDB's wire format."""

import re
from datetime import UTC, datetime
from functools import cache
from typing import Any

from ulid import ULID

from todo_api import cursor
from todo_api.clients import dynamodb
from todo_api.errors import TodoNotFound
from todo_api.models import Todo, TodoCreate, TodoPage, TodoUpdate
from todo_api.repository import Table, TodoRepository
from todo_api.settings import get_settings

_ULID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")
_NO_VERSION = 0  # versions start at 1: an If-Match that is not a version can never match


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def expected_version(if_match: str | None) -> int | None:
    """`If-Match: "3"` (or W/"3") -> 3; `*` or no header -> no condition."""
    if if_match is None or if_match.strip() == "*":
        return None
    tag = if_match.strip().removeprefix("W/").strip('"')
    # ASCII digits only: str.isdigit() also admits '²', which int() refuses (a 500 before this).
    return int(tag) if tag.isascii() and tag.isdigit() and len(tag) < 16 else _NO_VERSION


def etag(todo: Todo) -> str:
    return f'"{todo.version}"'


class TodoService:
    def __init__(self, repository: TodoRepository) -> None:
        self._repository = repository

    def create(self, tenant: str, data: TodoCreate) -> Todo:
        stamp = now()
        todo = Todo(
            id=str(ULID()),
            title=data.title,
            completed=data.completed,
            created_at=stamp,
            updated_at=stamp,
            version=1,
        )
        return self._repository.create(tenant, todo)

    def get(self, tenant: str, todo_id: str) -> Todo:
        return self._repository.get(tenant, self._valid_id(todo_id))

    def list(self, tenant: str, limit: int, cursor_token: str | None, completed: bool | None) -> TodoPage:
        scope = "all" if completed is None else f"completed={str(completed).lower()}"
        after = cursor.decode(tenant, scope, cursor_token) if cursor_token else None
        items, last = self._repository.list(tenant, limit, after, completed)
        return TodoPage(items=items, next_cursor=cursor.encode(tenant, scope, last) if last else None)

    def update(self, tenant: str, todo_id: str, data: TodoUpdate, if_match: str | None) -> Todo:
        return self._repository.update(
            tenant, self._valid_id(todo_id), data.changes(), now(), expected_version(if_match)
        )

    def delete(self, tenant: str, todo_id: str, if_match: str | None) -> None:
        self._repository.delete(tenant, self._valid_id(todo_id), expected_version(if_match))

    @staticmethod
    def _valid_id(todo_id: str) -> str:
        if not _ULID.match(todo_id):
            raise TodoNotFound()
        return todo_id


@cache
def service() -> TodoService:
    return TodoService(TodoRepository(Table(dynamodb(), get_settings().table_name)))


def todo_json(todo: Todo) -> dict[str, Any]:
    return todo.model_dump(mode="json")
