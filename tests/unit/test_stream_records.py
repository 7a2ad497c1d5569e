"""Stream records the consumer cannot read: each refused with its reason, each failure logged with
the record's ids; records of other items skipped (payloads as DynamoDB Streams sends them)."""

import logging

import pytest

from tests.fakes import InMemoryActivityStore, InMemoryEventBus
from tests.streams import created, record, todo
from todo_api.adapters.dynamodb import counter_key, to_item
from todo_api.adapters.stream import batch_handler, change_from_record, item_key
from todo_api.domain.activity import PoisonRecord, StreamConsumer

TENANT = "acme"
TODO_ID = "01JD7Z6ZQ4N8Y3T5V2W9X0ABCD"


def keys_only(pk: str, sk: str) -> dict:
    return {"eventName": "REMOVE", "dynamodb": {"Keys": {"PK": {"S": pk}, "SK": {"S": sk}}}}


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda item: item.pop("title"), "malformed todo image: KeyError"),
        (lambda item: item.update(version={"N": "x"}), "malformed todo image: ValueError"),
        (lambda item: item.update(tenant={"S": ""}), "todo image without tenant"),
    ],
)
def test_a_malformed_image_is_poison_naming_what_is_wrong(damage, reason):
    item = to_item(TENANT, todo(TODO_ID))
    damage(item)
    with pytest.raises(PoisonRecord) as raised:
        change_from_record(record("INSERT", new=item))
    assert str(raised.value) == reason


def test_a_todo_record_without_images_names_the_stream_view_it_needs():
    with pytest.raises(PoisonRecord) as raised:
        change_from_record(keys_only("TENANT#acme", f"TODO#{TODO_ID}"))
    assert str(raised.value) == "todo record without images: the stream must be NEW_AND_OLD_IMAGES"


def test_an_unknown_event_name_is_poison_naming_it():
    unknown = record("INSERT", new=to_item(TENANT, todo(TODO_ID)))
    unknown["eventName"] = "TRUNCATE"
    with pytest.raises(PoisonRecord) as raised:
        change_from_record(unknown)
    assert str(raised.value) == "unexpected TRUNCATE record of a todo"


@pytest.mark.parametrize(
    "other",
    [
        keys_only("TENANT#acme", f"DELETED#{TODO_ID}"),  # a tombstone
        keys_only("APIKEY#0123", "APIKEY"),
        keys_only("ACTIVITY#acme", f"TODO#{TODO_ID}"),
        {"eventName": "REMOVE", "dynamodb": {}},  # no keys at all
    ],
)
def test_records_of_other_items_without_images_are_skipped(other):
    assert change_from_record(other) is None


def test_a_record_without_a_creation_time_has_none():
    change = record("INSERT", new=to_item(TENANT, todo(TODO_ID)))
    change["dynamodb"].pop("ApproximateCreationDateTime", None)
    assert change_from_record(change).recorded_at is None


def test_the_unit_of_order_is_the_items_key():
    assert item_key(created(TENANT, todo(TODO_ID))) == ("TENANT#acme", f"TODO#{TODO_ID}")


def test_a_failed_record_is_logged_with_its_event_id_sequence_number_and_error(caplog):
    bad = created(TENANT, todo(TODO_ID, title="bad"))
    bad["eventID"] = "c4ca4238a0b923820dcc509a6f75849b"
    handle = batch_handler(StreamConsumer(InMemoryActivityStore(fail_for={"bad"}), InMemoryEventBus()))
    with caplog.at_level(logging.WARNING), pytest.raises(RuntimeError):
        handle(bad)
    [logged] = [r for r in caplog.records if r.getMessage() == "stream record failed"]
    assert logged.levelno == logging.WARNING
    assert logged.event_id == bad["eventID"]
    assert logged.sequence_number == bad["dynamodb"]["SequenceNumber"]
    assert logged.error == "RuntimeError: store failed"


def counter_image(count: int) -> dict:
    """The tenant's todo counter as the create and delete transactions write it."""
    return {
        **counter_key(TENANT),
        "entity": {"S": "counter"},
        "tenant": {"S": TENANT},
        "todos": {"N": str(count)},
    }


@pytest.mark.parametrize(
    "change",
    [
        record("INSERT", new=counter_image(1)),
        record("MODIFY", old=counter_image(1), new=counter_image(2)),
        record("REMOVE", old=counter_image(2)),
    ],
    ids=["insert", "modify", "remove"],
)
def test_the_todo_counters_records_are_no_events(change):
    feed, bus = InMemoryActivityStore(), InMemoryEventBus()
    assert change_from_record(change) is None
    assert batch_handler(StreamConsumer(feed, bus))(change) is None
    assert (feed.events, bus.published) == ([], [])
