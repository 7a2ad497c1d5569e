"""The todo service: what each operation means, independent of HTTP and of how todos are stored."""

import hashlib
import json
from collections.abc import Callable

from ulid import ULID

from todo_api.domain.clock import now
from todo_api.domain.cursor import CursorSigner
from todo_api.domain.errors import TodoNotFound
from todo_api.domain.models import ULID_PATTERN, Todo, TodoCreate, TodoPage, TodoUpdate
from todo_api.domain.ports import TodoStore, Versions


def new_id() -> str:
    return str(ULID())


def fingerprint(data: TodoCreate) -> str:
    """What makes two creates "the same request": the body as validated, defaults included."""
    canonical = json.dumps(data.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def list_scope(completed: bool | None) -> str:
    """The cursor scope of a listing: a cursor made for one filter is refused by another."""
    return "all" if completed is None else f"completed={str(completed).lower()}"


class TodoService:
    """`cursors` gives the cursor signer when a listing first needs it (only the list function
    holds the secret)."""

    def __init__(
        self,
        store: TodoStore,
        cursors: Callable[[], CursorSigner],
        clock: Callable[[], str] = now,
        make_id: Callable[[], str] = new_id,
    ) -> None:
        self._store = store
        self._cursors = cursors
        self._clock = clock
        self._make_id = make_id

    def create(self, tenant: str, data: TodoCreate) -> Todo:
        return self._store.create(tenant, self._new(data))

    def create_once(self, tenant: str, key: str, data: TodoCreate) -> Todo:
        """Create at most one todo per (tenant, Idempotency-Key): every retry answers the first todo,
        whenever the first attempt failed, since the todo and the key's claim are written together."""
        return self._store.create_once(tenant, self._new(data), key, fingerprint(data))

    def _new(self, data: TodoCreate) -> Todo:
        stamp = self._clock()
        return Todo(
            id=self._make_id(),
            title=data.title,
            completed=data.completed,
            created_at=stamp,
            updated_at=stamp,
            version=1,
        )

    def get(self, tenant: str, todo_id: str) -> Todo:
        return self._store.get(tenant, self._valid_id(todo_id))

    def list(self, tenant: str, limit: int, cursor_token: str | None, completed: bool | None) -> TodoPage:
        scope = list_scope(completed)
        cursors = self._cursors()
        after = cursors.decode(tenant, scope, cursor_token, ULID_PATTERN) if cursor_token else None
        items, last = self._store.list(tenant, limit, after, completed)
        return TodoPage(items=items, next_cursor=cursors.encode(tenant, scope, last) if last else None)

    def update(self, tenant: str, todo_id: str, data: TodoUpdate, expected: Versions = None) -> Todo:
        """Change the fields sent, if the todo's version is one of `expected` (None: any)."""
        return self._store.update(tenant, self._valid_id(todo_id), data.changes(), self._clock(), expected)

    def delete(self, tenant: str, todo_id: str, expected: Versions = None) -> None:
        self._store.delete(tenant, self._valid_id(todo_id), expected, self._clock())

    @staticmethod
    def _valid_id(todo_id: str) -> str:
        if not ULID_PATTERN.fullmatch(todo_id):
            raise TodoNotFound()
        return todo_id
