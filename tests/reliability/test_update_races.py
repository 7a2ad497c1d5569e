"""Concurrent updates of one todo on DynamoDB Local, through the todo service and its real store.

Threads update one todo at once, without If-Match. An update is one atomic UpdateItem, so every
success must answer its own version and the final version must count every success: no update
is lost. The same check, run on a deliberately broken store that reads and then writes
(GetItem, then an unconditional PutItem) with both reads forced before either write, reports the
lost update: the check is able to fail.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from devtools.emulator.template import local_table_name
from tests.reliability.conftest import bounded
from todo_api import wiring
from todo_api.adapters.dynamodb import to_item
from todo_api.adapters.todo_store import DynamoDBTodoStore
from todo_api.domain.models import Todo, TodoCreate, TodoUpdate
from todo_api.domain.todos import TodoService

TABLE = local_table_name("TodoTable")


@pytest.fixture
def client(ddb, monkeypatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", ddb.endpoint)
    monkeypatch.setenv("TABLE_NAME", TABLE)
    wiring.reset()
    yield wiring.dynamodb()
    wiring.reset()


class ReadThenWriteStore(DynamoDBTodoStore):
    """The mutant: an update that reads the todo, then writes it back whole, unconditionally."""

    def __init__(self, client: Any, between: Callable[[], None]) -> None:
        super().__init__(client, TABLE)
        self._between = between

    def update(self, tenant: str, todo_id: str, changes: dict[str, Any], updated_at: str, expected: Any) -> Todo:
        todo = self.get(tenant, todo_id)
        self._between()
        new = todo.model_copy(update={**changes, "updated_at": updated_at, "version": todo.version + 1})
        self._client.put_item(TableName=TABLE, Item=to_item(tenant, new))
        return new


def race(service: TodoService, threads: int, rounds: int) -> tuple[list[int], int]:
    """Every thread updates one todo `rounds` times; the versions answered and the final version."""
    tenant = f"race-{uuid.uuid4().hex[:12]}"
    todo = service.create(tenant, TodoCreate(title="contended"))
    start = threading.Barrier(threads)

    def worker(thread: int) -> list[int]:
        start.wait(timeout=30)
        return [service.update(tenant, todo.id, TodoUpdate(title=f"t{thread}-{n}")).version for n in range(rounds)]

    with ThreadPoolExecutor(threads) as pool:
        answered = [version for versions in pool.map(worker, range(threads)) for version in versions]
    return answered, service.get(tenant, todo.id).version


def lost_updates(answered: list[int], final: int) -> int:
    """Successes that did not count: a version answered twice, or a final version short of them all."""
    return max(len(answered) - len(set(answered)), 1 + len(answered) - final)


def test_concurrent_updates_lose_none(client, figures) -> None:
    threads, rounds = 8, bounded(10, 40)
    answered, final = race(TodoService(DynamoDBTodoStore(client, TABLE), wiring.cursor_signer), threads, rounds)
    assert len(answered) == threads * rounds
    assert sorted(answered) == list(range(2, 2 + threads * rounds))  # each success its own version
    assert final == 1 + threads * rounds
    figures("concurrent updates without If-Match", f"{len(answered)} successes, 0 lost, final v{final}")


def test_the_check_catches_a_read_then_write_update(client, figures) -> None:
    both_read = threading.Barrier(2)
    broken = TodoService(ReadThenWriteStore(client, lambda: both_read.wait(timeout=30)), wiring.cursor_signer)
    answered, final = race(broken, threads=2, rounds=1)
    assert lost_updates(answered, final) == 1  # both answered version 2: one update is gone
    figures("read-then-write mutant", f"answered {sorted(answered)}, final v{final}: 1 lost")
