"""The todo service: each operation's meaning, without HTTP.

Every test runs twice: on the in-memory store of tests/fakes.py, and on the DynamoDB adapter
(on moto), so the fake is held to the adapter's contract. What a test finds stored, it reads
through `stored()`, which asks the store itself (a Query per tenant), never the service.
"""

import itertools

import pytest

from tests.conftest import TABLES
from tests.cursors import HOSTILE_KEYS, TEST_SECRET, mint, unknown_secret
from tests.fakes import InMemoryTodoStore
from todo_api import wiring
from todo_api.adapters.todo_store import DynamoDBTodoStore
from todo_api.domain.cursor import CursorSigner
from todo_api.domain.errors import IdempotencyKeyReused, InvalidCursor, TodoNotFound, VersionConflict
from todo_api.domain.models import Todo, TodoCreate, TodoUpdate
from todo_api.domain.ports import TodoStore
from todo_api.domain.todos import TodoService

SIGNER = CursorSigner(TEST_SECRET.encode())


def cursors() -> CursorSigner:
    return SIGNER


TENANT, OTHER = "acme", "globex"
STAMPS = [f"2026-12-02T10:00:{second:02d}.000Z" for second in range(60)]
IDS = [f"01JE{index:022d}" for index in range(100)]  # valid ULIDs (Crockford digits), increasing


@pytest.fixture(params=["memory", "dynamodb"])
def store(request: pytest.FixtureRequest) -> TodoStore:
    if request.param == "memory":
        return InMemoryTodoStore()
    request.getfixturevalue("aws")
    return DynamoDBTodoStore(wiring.dynamodb(), TABLES["TodoTable"], TABLES["IdempotencyTable"])


def stored(store: TodoStore, tenant: str = TENANT) -> list[Todo]:
    """Every todo the store holds for the tenant (one page of a hundred is all these tests make)."""
    items, _ = store.list(tenant, 100, None, None)
    return items


@pytest.fixture
def service(store: InMemoryTodoStore) -> TodoService:
    clock, ids = iter(STAMPS), iter(IDS)
    return TodoService(store, cursors, clock=lambda: next(clock), make_id=lambda: next(ids))


def make(service: TodoService, *titles: str, tenant: str = TENANT, done: bool = False) -> list[Todo]:
    return [service.create(tenant, TodoCreate(title=title, completed=done)) for title in titles]


class TestCreate:
    def test_stores_a_new_todo_at_version_one(self, service, store):
        todo = service.create(TENANT, TodoCreate(title="Read"))
        assert todo == Todo(
            id=IDS[0], title="Read", completed=False, created_at=STAMPS[0], updated_at=STAMPS[0], version=1
        )
        assert stored(store) == [todo]

    def test_default_ids_are_distinct_ulids(self, store):
        service = TodoService(store, cursors)
        first, second = (service.create(TENANT, TodoCreate(title=t)) for t in "ab")
        assert first.id != second.id
        assert len(first.id) == 26
        assert service.get(TENANT, first.id) == first


class TestCreateOnce:
    def test_a_retry_answers_the_first_todo_and_creates_nothing(self, service, store):
        first = service.create_once(TENANT, "k1", TodoCreate(title="Read"))
        again = service.create_once(TENANT, "k1", TodoCreate(title="Read"))
        assert again == first
        assert stored(store) == [first]

    def test_the_default_completed_is_the_same_request(self, service, store):
        first = service.create_once(TENANT, "k1", TodoCreate(title="Read"))
        again = service.create_once(TENANT, "k1", TodoCreate(title="Read", completed=False))
        assert again == first

    @pytest.mark.parametrize("other", [TodoCreate(title="Write"), TodoCreate(title="Read", completed=True)])
    def test_another_body_with_the_same_key_is_refused(self, service, store, other):
        first = service.create_once(TENANT, "k1", TodoCreate(title="Read"))
        with pytest.raises(IdempotencyKeyReused):
            service.create_once(TENANT, "k1", other)
        assert stored(store) == [first]

    def test_keys_are_per_tenant(self, service, store):
        mine = service.create_once(TENANT, "k1", TodoCreate(title="Read"))
        theirs = service.create_once(OTHER, "k1", TodoCreate(title="Read"))
        assert mine.id != theirs.id
        assert (stored(store), stored(store, OTHER)) == ([mine], [theirs])


class TestGet:
    def test_returns_the_stored_todo(self, service):
        (todo,) = make(service, "Read")
        assert service.get(TENANT, todo.id) == todo

    def test_another_tenants_todo_is_not_found(self, service):
        (todo,) = make(service, "Read")
        with pytest.raises(TodoNotFound):
            service.get(OTHER, todo.id)

    @pytest.mark.parametrize(
        "todo_id", ["", "abc", IDS[0].lower(), IDS[0] + "0", "01JE00000000000000000000I0", IDS[0] + "\n"]
    )
    def test_an_id_that_is_no_ulid_is_not_found_without_a_store_call(self, todo_id):
        store = InMemoryTodoStore()
        service = TodoService(store, cursors)
        make(service, "Read")
        calls = store.calls
        with pytest.raises(TodoNotFound):
            service.get(TENANT, todo_id)
        assert store.calls == calls


class TestList:
    def test_pages_oldest_first_with_a_cursor_to_the_next_page(self, service):
        todos = make(service, *"abcde")
        first = service.list(TENANT, 2, None, None)
        assert first.items == todos[:2]
        second = service.list(TENANT, 2, first.next_cursor, None)
        assert second.items == todos[2:4]
        third = service.list(TENANT, 2, second.next_cursor, None)
        assert third.items == todos[4:]
        assert third.next_cursor is None

    def test_only_the_tenants_own_todos(self, service):
        mine = make(service, "mine")
        make(service, "theirs", tenant=OTHER)
        assert service.list(TENANT, 50, None, None).items == mine

    @pytest.mark.parametrize("completed", [True, False])
    def test_filter_by_completed(self, service, completed):
        done = make(service, "d1", "d2", done=True)
        open_ = make(service, "o1")
        page = service.list(TENANT, 50, None, completed)
        assert page.items == (done if completed else open_)

    def test_filtered_pages_follow_their_own_cursor(self, service):
        done = make(service, "d1", "d2", "d3", done=True)
        make(service, "o1")
        first = service.list(TENANT, 2, None, True)
        second = service.list(TENANT, 2, first.next_cursor, True)
        assert first.items + second.items == done

    def test_a_cursor_of_one_filter_is_refused_by_another(self, service):
        make(service, *"abc", done=True)
        cursor = service.list(TENANT, 1, None, None).next_cursor
        assert cursor is not None
        for completed in (True, False):
            with pytest.raises(InvalidCursor):
                service.list(TENANT, 1, cursor, completed)
        done_cursor = service.list(TENANT, 1, None, True).next_cursor
        with pytest.raises(InvalidCursor):
            service.list(TENANT, 1, done_cursor, None)

    def test_a_cursor_of_another_tenant_is_refused(self, service):
        make(service, *"abc")
        cursor = service.list(TENANT, 1, None, None).next_cursor
        with pytest.raises(InvalidCursor):
            service.list(OTHER, 1, cursor, None)

    @pytest.mark.parametrize("key", HOSTILE_KEYS, ids=repr)
    @pytest.mark.parametrize("completed", [None, True])
    def test_a_cursor_whose_key_is_no_todo_id_is_refused_before_the_store(self, key, completed):
        store = InMemoryTodoStore()
        service = TodoService(store, cursors)
        scope = "all" if completed is None else "completed=true"
        for token in (mint(TEST_SECRET, TENANT, scope, key), mint(unknown_secret(), TENANT, scope, key)):
            with pytest.raises(InvalidCursor):
                service.list(TENANT, 1, token, completed)
        assert store.calls == 0

    def test_a_signed_cursor_of_a_todo_id_continues_after_it(self, service):
        todos = make(service, *"abc")
        page = service.list(TENANT, 5, mint(TEST_SECRET, TENANT, "all", todos[0].id), None)
        assert page.items == todos[1:]


class TestUpdate:
    def test_without_a_condition_changes_only_the_fields_sent(self, service, store):
        (todo,) = make(service, "Read")
        updated = service.update(TENANT, todo.id, TodoUpdate(completed=True), None)
        assert updated == todo.model_copy(update={"completed": True, "version": 2, "updated_at": STAMPS[1]})
        assert stored(store) == [updated]

    def test_with_the_current_version_it_applies(self, service):
        (todo,) = make(service, "Read")
        updated = service.update(TENANT, todo.id, TodoUpdate(title="Write"), frozenset({1}))
        assert (updated.title, updated.version, updated.created_at) == ("Write", 2, todo.created_at)

    def test_with_a_stale_version_it_conflicts_and_changes_nothing(self, service, store):
        (todo,) = make(service, "Read")
        service.update(TENANT, todo.id, TodoUpdate(title="Write"), None)
        before = stored(store)
        with pytest.raises(VersionConflict):
            service.update(TENANT, todo.id, TodoUpdate(title="Again"), frozenset({1}))
        assert stored(store) == before

    def test_any_version_of_a_list_may_match(self, service):
        (todo,) = make(service, "Read")
        updated = service.update(TENANT, todo.id, TodoUpdate(title="Write"), frozenset({7, 1}))
        assert updated.version == 2
        with pytest.raises(VersionConflict):
            service.update(TENANT, todo.id, TodoUpdate(title="Again"), frozenset({1, 3}))

    def test_an_empty_set_never_matches(self, service, store):
        (todo,) = make(service, "Read")
        with pytest.raises(VersionConflict):
            service.update(TENANT, todo.id, TodoUpdate(title="Again"), frozenset())
        with pytest.raises(VersionConflict):
            service.delete(TENANT, todo.id, frozenset())
        assert stored(store) == [todo]

    def test_a_missing_or_foreign_todo_is_not_found(self, service):
        (todo,) = make(service, "Read")
        for tenant, todo_id in ((TENANT, IDS[50]), (OTHER, todo.id)):
            with pytest.raises(TodoNotFound):
                service.update(tenant, todo_id, TodoUpdate(title="x"), None)


class TestDelete:
    def test_removes_the_todo(self, service, store):
        (todo,) = make(service, "Read")
        service.delete(TENANT, todo.id, None)
        assert stored(store) == []
        with pytest.raises(TodoNotFound):
            service.get(TENANT, todo.id)

    def test_with_a_stale_version_it_conflicts_and_keeps_the_todo(self, service, store):
        (todo,) = make(service, "Read")
        with pytest.raises(VersionConflict):
            service.delete(TENANT, todo.id, frozenset({7}))
        assert stored(store) == [todo]
        service.delete(TENANT, todo.id, frozenset({1}))
        assert stored(store) == []

    def test_another_tenant_cannot_delete(self, service, store):
        (todo,) = make(service, "Read")
        with pytest.raises(TodoNotFound):
            service.delete(OTHER, todo.id, None)
        assert stored(store) == [todo]


def test_timestamps_come_from_the_clock(store):
    ticks = itertools.count()
    service = TodoService(store, cursors, clock=lambda: STAMPS[next(ticks)], make_id=lambda: IDS[0])
    todo = service.create(TENANT, TodoCreate(title="Read"))
    updated = service.update(TENANT, todo.id, TodoUpdate(title="Write"), None)
    assert (todo.created_at, updated.updated_at, updated.created_at) == (STAMPS[0], STAMPS[1], STAMPS[0])
