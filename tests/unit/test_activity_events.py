"""Stream records -> domain events, the in-order batch handler, and the local stream poller's batching,
on fakes (no AWS)."""

import pytest

from devtools.emulator.streams import StreamPoller, first_failure
from tests.conftest import load_event
from tests.fakes import InMemoryActivityStore, InMemoryEventBus, InMemoryTodoStore
from tests.streams import created, modified, record, removed, todo
from todo_api.adapters.dynamodb import to_item
from todo_api.adapters.stream import batch_handler, change_from_record, event_from_record
from todo_api.domain.activity import OutOfOrder, PoisonRecord, StreamConsumer, event_id

TENANT = "acme"


class TestEventFromRecord:
    def test_sample_batch(self):
        records = load_event("stream_batch")["Records"]
        events = [event_from_record(r) for r in records]
        assert events[1] is None  # the API key record
        found = [e for e in events if e is not None]
        assert [tenant for tenant, _ in found] == ["demo"] * 3
        created_, completed, deleted = (event for _, event in found)
        assert created_.type == "todo.created"
        assert created_.at == "2026-11-27T10:15:00.123Z"
        assert created_.changes == {"title": (None, "Read a book"), "completed": (None, False)}
        assert completed.type == "todo.completed"
        assert completed.changes == {"completed": (False, True)}
        assert completed.todo.completed is True
        assert completed.todo.version == 2
        assert deleted.type == "todo.deleted"
        assert deleted.changes == {"title": ("Read a book", None), "completed": (True, None)}
        assert deleted.todo == completed.todo  # the todo before the delete
        assert deleted.at == "2026-11-27T10:17:30.000Z"  # the record's time
        assert [e.todo_id for e in (created_, completed, deleted)] == ["01JD7Z6ZQ4N8Y3T5V2W9X0ABCD"] * 3
        assert sorted([created_.id, completed.id, deleted.id], reverse=True) == [deleted.id, completed.id, created_.id]

    @pytest.mark.parametrize(
        ("before", "after", "kind", "changes"),
        [
            ({"completed": False}, {"completed": True}, "todo.completed", {"completed": (False, True)}),
            ({"completed": True}, {"completed": False}, "todo.reopened", {"completed": (True, False)}),
            ({"title": "a"}, {"title": "b"}, "todo.updated", {"title": ("a", "b")}),
            (
                {"title": "a", "completed": False},
                {"title": "b", "completed": True},
                "todo.completed",
                {"title": ("a", "b"), "completed": (False, True)},
            ),
            ({"title": "a"}, {"title": "a"}, "todo.updated", {}),
        ],
    )
    def test_modify(self, before, after, kind, changes):
        old = todo(**before)
        new = todo(**after, version=2, updated_at="2026-11-27T10:16:00.000Z")
        tenant, event = event_from_record(modified(TENANT, old, new))
        assert tenant == TENANT
        assert event.type == kind
        assert event.changes == changes
        assert event.todo == new
        assert event.at == "2026-11-27T10:16:00.000Z"

    def test_id_is_deterministic_and_distinct_per_change(self):
        old, new = todo(), todo(completed=True, version=2, updated_at="2026-11-27T10:16:00.000Z")
        records = [created(TENANT, old), modified(TENANT, old, new), removed(TENANT, new, at=0)]
        ids = [event_from_record(r)[1].id for r in records]
        assert ids == [event_from_record(r)[1].id for r in records]
        assert len(set(ids)) == 3
        # a delete in the same instant as the last change (second-precision record time) still sorts after it
        assert ids[2] > ids[1] > ids[0]

    def test_ids_sort_by_time_across_todos(self):
        early = event_id("2026-11-27T10:15:00.999Z", "01JZZZZZZZZZZZZZZZZZZZZZZZ", 9, False)
        late = event_id("2026-11-27T10:15:01.000Z", "01J00000000000000000000000", 1, False)
        assert late > early
        assert event_id("2026-11-27T10:15:01+00:00", "X", 1, False) == event_id(
            "2026-11-27T10:15:01.000Z", "X", 1, False
        )

    @pytest.mark.parametrize(
        "item",
        [
            {"PK": {"S": "APIKEY#abc"}, "SK": {"S": "APIKEY"}, "entity": {"S": "apikey"}, "tenant": {"S": "acme"}},
            {"PK": {"S": "ACTIVITY#acme"}, "SK": {"S": "EVENT#x"}, "entity": {"S": "activity"}},
            {"PK": {"S": "SOMETHING"}, "SK": {"S": "ELSE"}},
        ],
    )
    @pytest.mark.parametrize("name", ["INSERT", "MODIFY", "REMOVE"])
    def test_other_items_are_ignored(self, item, name):
        old = item if name != "INSERT" else None
        new = item if name != "REMOVE" else None
        assert event_from_record(record(name, old, new)) is None

    @pytest.mark.parametrize(
        "damage",
        [
            lambda item: item.pop("title"),
            lambda item: item.update(completed={"S": "true"}),
            lambda item: item.update(version={"N": "0"}),
            lambda item: item.update(title={"N": "5"}),
            lambda item: item.pop("tenant"),
            lambda item: item.update(updated_at={"S": "yesterday"}),
        ],
    )
    def test_malformed_todo_is_poison(self, damage):
        item = to_item(TENANT, todo())
        damage(item)
        with pytest.raises(PoisonRecord):
            event_from_record(record("INSERT", new=item))

    def test_todo_record_without_images_is_poison(self):
        keys_only = record("INSERT", new=to_item(TENANT, todo()))
        del keys_only["dynamodb"]["NewImage"]
        with pytest.raises(PoisonRecord):
            event_from_record(keys_only)


class TestBatchHandler:
    def test_later_records_of_a_failed_todo_fail_too_others_go_on(self):
        feed, bus = InMemoryActivityStore(fail_for={"bad"}), InMemoryEventBus()
        handle = batch_handler(StreamConsumer(feed, bus))
        a, b = todo("01JD7Z6ZQ4N8Y3T5V2W9X0AAAA", title="bad"), todo("01JD7Z6ZQ4N8Y3T5V2W9X0BBBB")
        a2 = a.model_copy(update={"title": "fine", "version": 2})
        with pytest.raises(RuntimeError):
            handle(created(TENANT, a))
        handle(created(TENANT, b))
        with pytest.raises(OutOfOrder):
            handle(modified(TENANT, a, a2))  # would succeed alone, but must not overtake a's creation
        assert [e.todo_id for _, e in feed.events] == [b.id]
        assert len(bus.published) == 1

    def test_redelivery_publishes_same_id_and_stores_once(self):
        feed, bus = InMemoryActivityStore(), InMemoryEventBus()
        consumer = StreamConsumer(feed, bus)
        change = change_from_record(created(TENANT, todo()))
        consumer.apply(change)
        consumer.apply(change)
        assert len(feed.events) == 1
        assert bus.published[0] == bus.published[1]


class FakeStreams:
    """dynamodbstreams and dynamodb clients over a fixed list of records in one shard."""

    def __init__(self, records):
        self.records = records
        self.get_records_calls = 0

    def describe_table(self, TableName):
        return {"Table": {"LatestStreamArn": "arn:stream"}}

    def describe_stream(self, StreamArn, **_):
        return {"StreamDescription": {"Shards": [{"ShardId": "shard-1"}]}}

    def get_shard_iterator(self, StreamArn, ShardId, ShardIteratorType, SequenceNumber=None):
        start = 0 if SequenceNumber is None else int(SequenceNumber) + 1
        return {"ShardIterator": str(start)}

    def get_records(self, ShardIterator, Limit):
        self.get_records_calls += 1
        start = int(ShardIterator)
        page = self.records[start : start + Limit]
        return {"Records": page, "NextShardIterator": str(start + len(page))}


def fake_records(n):
    return [
        {"eventID": str(i), "eventName": "INSERT", "dynamodb": {"SequenceNumber": str(i), "Keys": {}}} for i in range(n)
    ]


class TestStreamPoller:
    def poller(self, handler, records, **options):
        fake = FakeStreams(records)
        return StreamPoller(handler, table_name="t", dynamodb_client=fake, streams_client=fake, **options), fake

    def test_batches_in_order_with_lambda_record_shape(self):
        seen = []
        poller, _ = self.poller(lambda event: seen.append(event["Records"]), fake_records(7), batch_size=3)
        assert poller.poll_once() == 7
        assert [[r["eventID"] for r in batch] for batch in seen] == [["0", "1", "2"], ["3", "4", "5"], ["6"]]
        first = seen[0][0]
        assert first["eventSource"] == "aws:dynamodb"
        assert first["eventSourceARN"] == "arn:stream"
        assert first["awsRegion"] == "us-east-1"
        assert poller.poll_once() == 0

    def test_partial_failure_retries_from_first_failed_record(self):
        seen, fail_once = [], {"1"}

        def handler(event):
            ids = [r["eventID"] for r in event["Records"]]
            seen.append(ids)
            failed = [
                {"itemIdentifier": r["dynamodb"]["SequenceNumber"]}
                for r in event["Records"]
                if r["eventID"] in fail_once
            ]
            fail_once.clear()
            return {"batchItemFailures": failed}

        poller, _ = self.poller(handler, fake_records(5), batch_size=3)
        assert poller.poll_once() == 1  # record 0 checkpointed, then a retry is due
        assert poller.poll_once() == 4
        assert seen == [["0", "1", "2"], ["1", "2", "3"], ["4"]]

    def test_exception_retries_whole_batch_then_discards_after_max_retries(self):
        calls, dropped = [], []

        def handler(event):
            calls.append([r["eventID"] for r in event["Records"]])
            if event["Records"][0]["eventID"] == "0":
                raise RuntimeError("poison")

        poller, _ = self.poller(handler, fake_records(3), batch_size=2, max_retries=2, on_discard=dropped.append)
        for _ in range(4):
            poller.poll_once()
        assert calls[:3] == [["0", "1"]] * 3
        assert [[r["eventID"] for r in batch] for batch in dropped] == [["0", "1"]]
        assert calls[3:] == [["2"]]

    def test_unknown_identifier_fails_whole_batch(self):
        batch = fake_records(2)
        assert first_failure(batch, {"batchItemFailures": [{"itemIdentifier": "nope"}]}) == 0
        assert first_failure(batch, {"batchItemFailures": []}) is None
        assert first_failure(batch, None) is None
        assert first_failure(batch, {"batchItemFailures": [{"itemIdentifier": "1"}]}) == 1


class TestDeleteOrder:
    """A delete's time is its tombstone's (milliseconds), not the stream record's (seconds, or
    minutes on DynamoDB Local), so the feed lists changes in the order they were committed."""

    def feed_after(self, tombstones, records):
        feed = InMemoryActivityStore()
        consumer = StreamConsumer(feed, InMemoryEventBus(), tombstones)
        for rec in records:
            consumer.apply(change_from_record(rec))
        events, _ = feed.list(TENANT, 10, None)
        return [(event.type, event.todo_id, event.at) for event in events]

    def test_a_delete_sorts_after_a_later_change_of_another_todo(self):
        a = todo(
            "01JD7Z6ZQ4N8Y3T5V2W9X0AAAA", updated_at="2026-11-27T04:18:57.975Z", created_at="2026-11-27T04:18:57.975Z"
        )
        c = todo(
            "01JD7Z6ZQ4N8Y3T5V2W9X0CCCC", updated_at="2026-11-27T04:18:59.327Z", created_at="2026-11-27T04:18:59.327Z"
        )
        tombstones = InMemoryTodoStore()
        tombstones.tombstones[(TENANT, a.id)] = "2026-11-27T04:18:59.801Z"
        record_time = 1795753080  # 04:18:00: DynamoDB Local rounds the record's time down to the minute
        order = self.feed_after(
            tombstones, [created(TENANT, a), created(TENANT, c), removed(TENANT, a, at=record_time)]
        )
        assert order == [
            ("todo.deleted", a.id, "2026-11-27T04:18:59.801Z"),
            ("todo.created", c.id, "2026-11-27T04:18:59.327Z"),
            ("todo.created", a.id, "2026-11-27T04:18:57.975Z"),
        ]

    def test_without_a_tombstone_the_record_time_counts_never_before_the_last_change(self):
        a = todo("01JD7Z6ZQ4N8Y3T5V2W9X0AAAA", updated_at="2026-11-27T04:18:57.975Z")
        order = self.feed_after(InMemoryTodoStore(), [removed(TENANT, a, at=1795753080)])
        assert order == [("todo.deleted", a.id, "2026-11-27T04:18:57.975Z")]
        later = self.feed_after(InMemoryTodoStore(), [removed(TENANT, a, at=1795753200)])
        assert later == [("todo.deleted", a.id, "2026-11-27T04:20:00.000Z")]

    def test_a_tombstone_older_than_the_last_change_does_not_reorder(self):
        a = todo("01JD7Z6ZQ4N8Y3T5V2W9X0AAAA", updated_at="2026-11-27T04:18:57.975Z")
        tombstones = InMemoryTodoStore()
        tombstones.tombstones[(TENANT, a.id)] = "2026-11-27T04:18:57.900Z"  # a concurrent update came after
        assert self.feed_after(tombstones, [removed(TENANT, a)])[0][2] == "2026-11-27T04:18:57.975Z"
