"""In-memory implementations of the domain's ports, for unit tests of the services (no AWS, no moto).

They keep the contract the DynamoDB adapters keep, checked by the same expectations in
tests/unit/test_todo_service.py: conditional writes, TodoNotFound versus VersionConflict, pages in
key order with the key to continue after, an item written once per event id.
"""

from typing import Any

from todo_api.domain.errors import IdempotencyKeyReused, TodoNotFound, VersionConflict
from todo_api.domain.keys import KeyRecord, check_tenant, key_hash
from todo_api.domain.models import ActivityEvent, Todo


def _page(keys: list[str], limit: int, after: str | None) -> tuple[list[str], str | None]:
    """`limit` keys after `after`, and the last one returned when more follow (as the store's Query)."""
    rest = [key for key in keys if after is None or key > after]
    page = rest[:limit]
    return page, (page[-1] if len(rest) > limit else None)


class InMemoryTodoStore:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Todo] = {}
        self.claims: dict[tuple[str, str], tuple[str, Todo]] = {}  # (tenant, key) -> (fingerprint, first todo)
        self.tombstones: dict[tuple[str, str], str] = {}  # (tenant, id) -> deleted_at
        self.calls = 0

    def create(self, tenant: str, todo: Todo) -> Todo:
        self.calls += 1
        existing = self.items.get((tenant, todo.id))
        if existing is not None and existing != todo:
            raise VersionConflict()
        self.items[(tenant, todo.id)] = todo
        return todo

    def create_once(self, tenant: str, todo: Todo, key: str, fingerprint: str) -> Todo:
        self.calls += 1
        if (tenant, key) in self.claims:
            claimed, first = self.claims[(tenant, key)]
            if claimed != fingerprint:
                raise IdempotencyKeyReused()
            return first
        self.claims[(tenant, key)] = (fingerprint, todo)
        self.items[(tenant, todo.id)] = todo
        return todo

    def get(self, tenant: str, todo_id: str) -> Todo:
        self.calls += 1
        try:
            return self.items[(tenant, todo_id)]
        except KeyError:
            raise TodoNotFound() from None

    def list(
        self, tenant: str, limit: int, after_id: str | None, completed: bool | None
    ) -> tuple[list[Todo], str | None]:
        self.calls += 1
        mine = {
            todo_id: todo
            for (owner, todo_id), todo in self.items.items()
            if owner == tenant and (completed is None or todo.completed == completed)
        }
        ids, last = _page(sorted(mine), limit, after_id)
        return [mine[todo_id] for todo_id in ids], last

    def _current(self, tenant: str, todo_id: str, expected: frozenset[int] | None) -> Todo:
        todo = self.items.get((tenant, todo_id))
        if todo is None:
            raise TodoNotFound()
        if expected is not None and todo.version not in expected:
            raise VersionConflict()
        return todo

    def update(
        self, tenant: str, todo_id: str, changes: dict[str, Any], updated_at: str, expected: frozenset[int] | None
    ) -> Todo:
        self.calls += 1
        todo = self._current(tenant, todo_id, expected)
        stamp = max(updated_at, todo.updated_at)  # never backward, as the port says
        new = todo.model_copy(update={**changes, "updated_at": stamp, "version": todo.version + 1})
        self.items[(tenant, todo_id)] = new
        return new

    def delete(self, tenant: str, todo_id: str, expected: frozenset[int] | None, deleted_at: str) -> None:
        self.calls += 1
        self._current(tenant, todo_id, expected)
        del self.items[(tenant, todo_id)]
        self.tombstones[(tenant, todo_id)] = deleted_at

    def deleted_at(self, tenant: str, todo_id: str) -> str | None:
        return self.tombstones.get((tenant, todo_id))


class InMemoryActivityStore:
    """Events per tenant; `fail_for` names todo titles whose events fail to store (a broken store)."""

    def __init__(self, fail_for: set[str] | frozenset[str] = frozenset()) -> None:
        self.stored: dict[tuple[str, str], ActivityEvent] = {}
        self.fail_for = set(fail_for)

    @property
    def events(self) -> list[tuple[str, ActivityEvent]]:
        return [(tenant, event) for (tenant, _), event in self.stored.items()]

    def add(self, tenant: str, event: ActivityEvent) -> bool:
        if event.todo.title in self.fail_for:
            raise RuntimeError("store failed")
        if (tenant, event.id) in self.stored:
            return False
        self.stored[(tenant, event.id)] = event
        return True

    def list(self, tenant: str, limit: int, after_id: str | None) -> tuple[list[ActivityEvent], str | None]:
        mine = {event_id: event for (owner, event_id), event in self.stored.items() if owner == tenant}
        newest_first = sorted(mine, reverse=True)
        rest = [key for key in newest_first if after_id is None or key < after_id]
        page = rest[:limit]
        return [mine[key] for key in page], (page[-1] if len(rest) > limit else None)


class InMemoryEventBus:
    def __init__(self) -> None:
        self.published: list[tuple[str, str]] = []

    def publish(self, tenant: str, event: ActivityEvent) -> None:
        self.published.append((tenant, event.id))


class InMemoryKeyStore:
    def __init__(self) -> None:
        self.records: dict[str, KeyRecord] = {}

    def find(self, api_key: str) -> KeyRecord | None:
        return self.records.get(key_hash(api_key))

    def add(self, tenant: str, api_key: str) -> None:
        check_tenant(tenant)
        self.records[key_hash(api_key)] = KeyRecord(tenant)

    def revoke(self, api_key: str) -> KeyRecord | None:
        return self.records.pop(key_hash(api_key), None)
