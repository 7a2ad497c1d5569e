"""Domain rules as units: the feed's pages, timestamps, keys, fingerprints, events, the token policy."""

import hashlib
import re
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from tests.cursors import HOSTILE_KEYS, TEST_SECRET, VALID_TODO_ID, mint, unknown_secret
from tests.fakes import InMemoryActivityStore, InMemoryKeyStore
from tests.streams import todo
from todo_api.domain import clock, errors, keys
from todo_api.domain.activity import (
    EVENT_ID_PATTERN,
    ActivityFeed,
    OutOfOrder,
    PoisonRecord,
    StreamConsumer,
    TodoChange,
    event_for,
    event_id,
)
from todo_api.domain.auth import (
    CachedKeys,
    InvalidToken,
    Principal,
    TokenPolicy,
    TtlCache,
    principal_of,
    tenant_from_claims,
)
from todo_api.domain.cursor import CursorSigner
from todo_api.domain.errors import InvalidCursor
from todo_api.domain.models import TodoCreate, TodoUpdate
from todo_api.domain.todos import fingerprint, list_scope

SIGNER = CursorSigner(TEST_SECRET.encode())


class NoBus:
    def publish(self, tenant, event):
        return None


def feed_of(count: int) -> tuple[InMemoryActivityStore, list[str]]:
    store = InMemoryActivityStore()
    consumer = StreamConsumer(store, NoBus())
    ids = [f"01JD7Z6ZQ4N8Y3T5V2W9X0AB{n:02d}" for n in range(count)]
    for n, todo_id in enumerate(ids):
        stamp = f"2026-11-27T10:15:{n:02d}.000Z"
        consumer.apply(
            TodoChange("INSERT", "acme", None, todo(todo_id, title=f"t{n}", created_at=stamp, updated_at=stamp))
        )
    return store, ids


def test_the_feed_pages_newest_first_and_ends_with_a_null_cursor():
    store, ids = feed_of(5)
    feed = ActivityFeed(store, SIGNER)
    first = feed.list("acme", 2, None)
    assert [e.todo_id for e in first.items] == [ids[4], ids[3]]
    assert first.next_cursor is not None
    second = feed.list("acme", 2, first.next_cursor)
    assert [e.todo_id for e in second.items] == [ids[2], ids[1]]
    last = feed.list("acme", 2, second.next_cursor)
    assert [e.todo_id for e in last.items] == [ids[0]]
    assert last.next_cursor is None


def test_a_full_last_page_has_a_null_cursor():
    store, _ = feed_of(2)
    assert ActivityFeed(store, SIGNER).list("acme", 2, None).next_cursor is None


def test_a_feed_cursor_is_bound_to_the_tenant_and_the_feed():
    store, _ = feed_of(3)
    page = ActivityFeed(store, SIGNER).list("acme", 1, None)
    with pytest.raises(InvalidCursor):
        ActivityFeed(store, SIGNER).list("globex", 1, page.next_cursor)
    todo_cursor = SIGNER.encode("acme", "all", page.items[0].id)
    with pytest.raises(InvalidCursor):
        ActivityFeed(store, SIGNER).list("acme", 1, todo_cursor)


@pytest.mark.parametrize(
    "key", [*HOSTILE_KEYS, VALID_TODO_ID, "20261127T101500000Z-01JD7Z6ZQ4N8Y3T5V2W9X0AB00-1"], ids=repr
)
def test_a_feed_cursor_whose_key_is_no_event_id_is_refused(key):
    store, _ = feed_of(3)
    for token in (mint(TEST_SECRET, "acme", "activity", key), mint(unknown_secret(), "acme", "activity", key)):
        with pytest.raises(InvalidCursor):
            ActivityFeed(store, SIGNER).list("acme", 1, token)


def test_a_signed_feed_cursor_of_an_event_id_continues_after_it():
    store, ids = feed_of(3)
    newest = ActivityFeed(store, SIGNER).list("acme", 1, None).items[0]
    assert EVENT_ID_PATTERN.fullmatch(newest.id)
    page = ActivityFeed(store, SIGNER).list("acme", 5, mint(TEST_SECRET, "acme", "activity", newest.id))
    assert [e.todo_id for e in page.items] == [ids[1], ids[0]]


def test_new_keys_are_prefixed_random_and_urlsafe():
    made = {keys.new_key() for _ in range(50)}
    assert len(made) == 50
    for key in made:
        assert re.fullmatch(r"todo_[A-Za-z0-9_-]{43}", key), key  # 32 random bytes


def test_the_update_schema_needs_a_field_and_documents_no_default():
    schema = TodoUpdate.model_json_schema()
    assert schema["minProperties"] == 1
    assert set(schema["properties"]) == {"title", "completed"}
    for field in schema["properties"].values():
        assert "default" not in field
    assert schema["properties"]["title"]["maxLength"] == 200


# --- timestamps -------------------------------------------------------------------------------


@pytest.fixture
def far_from_utc(monkeypatch):
    """The process in a local time zone far from UTC, so code that forgot UTC shows it."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_timestamps_are_written_in_utc_whatever_the_local_zone(far_from_utc):
    summer = datetime(2026, 7, 1, 12, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert clock.format_timestamp(summer) == "2026-07-01T10:00:00.123Z"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", clock.now())


def test_timestamps_read_with_their_offset_and_naive_ones_as_utc():
    assert clock.parse_timestamp("2026-07-01T12:00:00.5+02:00") == datetime(2026, 7, 1, 10, 0, 0, 500000, tzinfo=UTC)
    naive = clock.parse_timestamp("2026-07-01T12:00:00")
    assert naive.tzinfo is not None
    assert naive.utcoffset() == timedelta(0)
    assert naive == datetime(2026, 7, 1, 12, tzinfo=UTC)
    assert clock.parse_timestamp("2026-07-01T12:00:00.000Z") == datetime(2026, 7, 1, 12, tzinfo=UTC)


# --- errors, keys, fingerprints, scopes -----------------------------------------------------


def test_an_errors_text_is_its_message():
    assert str(errors.TodoNotFound()) == "Todo not found"
    assert str(errors.BadRequest("Body must be a JSON object")) == "Body must be a JSON object"
    assert errors.BadRequest("Body must be a JSON object").message == "Body must be a JSON object"


def test_a_key_is_stored_as_the_sha256_of_its_utf8_bytes():
    assert keys.key_hash("todo_abc") == hashlib.sha256(b"todo_abc").hexdigest()
    assert keys.key_hash("clé") == hashlib.sha256(b"cl\xc3\xa9").hexdigest()
    # a lone surrogate (which a header decoded with surrogateescape can hold) hashes, never raises
    assert keys.key_hash("\ud800") == hashlib.sha256(b"\xed\xa0\x80").hexdigest()
    assert keys.key_id("todo_abc") == hashlib.sha256(b"todo_abc").hexdigest()[:12]


def test_a_bad_tenant_is_refused_with_the_rule():
    with pytest.raises(ValueError, match=r"^tenant must match \[a-z0-9\]"):
        keys.check_tenant("Acme!")


@pytest.mark.parametrize("tenant", ["acme\n", "acme\r", "acme\n\n", "\nacme"])
def test_a_tenant_with_a_line_break_is_refused(tenant):
    with pytest.raises(ValueError, match="tenant must match"):
        keys.check_tenant(tenant)


def test_the_fingerprint_of_a_create_is_the_sha256_of_its_canonical_json():
    # stored with each Idempotency-Key: it must not change between deployments
    expected = hashlib.sha256(b'{"completed":false,"title":"Read"}').hexdigest()
    assert fingerprint(TodoCreate(title="Read")) == expected
    assert (
        fingerprint(TodoCreate(title="Read", completed=True))
        == hashlib.sha256(b'{"completed":true,"title":"Read"}').hexdigest()
    )


def test_the_scope_of_a_listing_names_its_filter():
    # part of every cursor handed out: it must not change between deployments
    assert [list_scope(None), list_scope(True), list_scope(False)] == ["all", "completed=true", "completed=false"]


# --- activity events ------------------------------------------------------------------------

TODO_ID = "01JD7Z6ZQ4N8Y3T5V2W9X0ABCD"


def test_an_event_id_is_compact_utc_time_todo_and_version(far_from_utc):
    assert event_id("2026-11-27T12:15:00.999+02:00", TODO_ID, 3, False) == f"20261127T101500999Z-{TODO_ID}-0000000003"
    assert (
        event_id("2026-11-27T10:15:00.000Z", TODO_ID, 12, True) == f"20261127T101500000Z-{TODO_ID}-0000000012-deleted"
    )


def change(kind, old=None, new=None, recorded_at=None):
    return TodoChange(kind, "acme", old, new, recorded_at)


OLD = todo(TODO_ID, title="a", completed=False, version=2, updated_at="2026-11-27T10:15:00.123Z")
NEW = todo(TODO_ID, title="a", completed=True, version=3, updated_at="2026-11-27T10:16:00.000Z")


def test_the_events_id_names_its_todo():
    event = event_for(change("MODIFY", OLD, NEW))
    assert event.id == f"20261127T101600000Z-{TODO_ID}-0000000003"
    assert event.type == "todo.completed"


def test_a_delete_without_a_tombstone_or_record_time_is_at_the_last_change():
    event = event_for(change("REMOVE", OLD))
    assert (event.type, event.at) == ("todo.deleted", "2026-11-27T10:15:00.123Z")


def test_a_remove_is_a_delete_even_with_a_new_image():
    assert event_for(change("REMOVE", OLD, NEW)).type == "todo.deleted"


@pytest.mark.parametrize(
    ("kind", "old", "new"),
    [("MODIFY", None, NEW), ("MODIFY", OLD, None), ("INSERT", OLD, None), ("TTL", OLD, NEW), ("REMOVE", None, NEW)],
)
def test_an_incoherent_change_is_a_poison_record(kind, old, new):
    with pytest.raises(PoisonRecord, match=f"^unexpected {kind} record of a todo$"):
        event_for(change(kind, old, new))


class Bus:
    def __init__(self):
        self.published = []

    def publish(self, tenant, event):
        self.published.append((tenant, event.type))


def test_a_consumer_without_tombstones_takes_the_deletes_time_from_the_record():
    bus = Bus()
    consumer = StreamConsumer(InMemoryActivityStore(), bus)
    event = consumer.apply(change("REMOVE", OLD, recorded_at=datetime(2026, 11, 27, 10, 17, tzinfo=UTC)))
    assert (event.type, event.at) == ("todo.deleted", "2026-11-27T10:17:00.000Z")
    assert bus.published == [("acme", "todo.deleted")]


def test_the_in_order_handler_skips_what_is_no_todos_change_and_names_a_blocked_item():
    handle = StreamConsumer(InMemoryActivityStore(), Bus()).in_order()
    assert handle("k", lambda: None) is None

    def broken():
        raise PoisonRecord("bad")

    with pytest.raises(PoisonRecord):
        handle("k2", broken)
    with pytest.raises(OutOfOrder, match=r"^an earlier record of this item failed in this batch$"):
        handle("k2", lambda: change("MODIFY", OLD, NEW))


# --- token policy and caches ----------------------------------------------------------------


@pytest.mark.parametrize(("issuer", "audience"), [("", "app"), ("https://issuer", "")])
def test_a_policy_needs_an_issuer_and_an_audience(issuer, audience):
    with pytest.raises(ValueError, match=r"^a token policy needs an issuer and an audience$"):
        TokenPolicy(issuer=issuer, audience=audience)


@pytest.mark.parametrize("leeway", [0, 300])
def test_a_leeway_of_0_to_300_seconds_is_accepted(leeway):
    assert TokenPolicy(issuer="https://issuer", audience="app", leeway_seconds=leeway).leeway_seconds == leeway


@pytest.mark.parametrize("leeway", [-1, 301])
def test_a_leeway_out_of_range_is_refused(leeway):
    with pytest.raises(ValueError, match=r"^token leeway must be 0\.\.300 seconds$"):
        TokenPolicy(issuer="https://issuer", audience="app", leeway_seconds=leeway)


def test_a_subject_of_up_to_255_characters_is_a_users_tenant():
    assert tenant_from_claims({"sub": "s" * 255}, None) == "user#" + "s" * 255
    with pytest.raises(InvalidToken):
        tenant_from_claims({"sub": "s" * 256}, None)


def test_the_policys_tenant_claim_names_the_principals_tenant():
    policy = TokenPolicy(issuer="https://issuer", audience="app", tenant_claim="custom:tenant")
    claims = {"iss": "https://issuer", "aud": "app", "sub": "u1", "token_use": "access", "custom:tenant": "acme"}
    assert principal_of(claims, policy) == Principal(tenant="acme", principal_id="user:u1")


def test_a_cache_keeps_2048_entries_by_default_and_drops_the_oldest():
    cache = TtlCache(lambda: 0.0)
    for n in range(2049):
        cache.put(n, n, 60)
    assert len(cache) == 2048
    assert cache.get(0) is None
    assert (cache.get(1), cache.get(2048)) == (1, 2048)


def test_a_cache_stores_nothing_for_no_time_and_a_fraction_of_a_second_otherwise():
    cache = TtlCache(lambda: 0.0)
    cache.put("gone", 1, 0)
    assert len(cache) == 0
    cache.put("short", 2, 0.5)
    assert cache.get("short") == 2


def test_cached_keys_are_remembered_per_key():
    store = InMemoryKeyStore()
    store.add("acme", "acme-key")
    store.add("globex", "globex-key")
    cached = CachedKeys(store, TtlCache(lambda: 0.0), 60)
    assert cached.find("acme-key").tenant == "acme"
    assert cached.find("globex-key").tenant == "globex"
    assert cached.find("acme-key").tenant == "acme"
