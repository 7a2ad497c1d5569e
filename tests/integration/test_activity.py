"""The activity feed on moto: the stream consumer (feed + EventBridge) and GET /activity."""

import json
from datetime import datetime

import boto3
import pytest

from devtools.emulator.streams import StreamPoller
from devtools.emulator.template import document
from devtools.loader import ROOT, load_module
from tests.conftest import TABLES, Context, load_event
from tests.streams import created, modified, todo
from todo_api import wiring

BUS = "todo-events-test"
SAMPLE_TODO = "01JD7Z6ZQ4N8Y3T5V2W9X0ABCD"


@pytest.fixture(scope="module")
def consumer_module():
    return load_module(ROOT / "functions/stream_consumer", "app.lambda_handler", "fn_stream_consumer")


@pytest.fixture
def bus(aws, monkeypatch):
    """The event bus, with a rule that copies every todo-api event to an SQS queue we can read."""
    monkeypatch.setenv("EVENT_BUS_NAME", BUS)
    wiring.reset()
    events = wiring.events()
    events.create_event_bus(Name=BUS)
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="observer")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="all-todo-events", EventBusName=BUS, EventPattern=json.dumps({"source": ["todo-api"]}))
    events.put_targets(Rule="all-todo-events", EventBusName=BUS, Targets=[{"Id": "observer", "Arn": arn}])

    def published():
        messages = []
        while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            messages += batch
            sqs.delete_message_batch(
                QueueUrl=url, Entries=[{"Id": m["MessageId"], "ReceiptHandle": m["ReceiptHandle"]} for m in batch]
            )
        return [json.loads(m["Body"]) for m in messages]

    yield published
    wiring.reset()


@pytest.fixture
def consume(bus, consumer_module):
    def run(records):
        return consumer_module.lambda_handler({"Records": records}, Context())

    return run


def feed_items(aws, tenant="demo"):
    result = aws.query(
        TableName=TABLES["TodoTable"],
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": f"ACTIVITY#{tenant}"}},
    )
    return result["Items"]


def sequence(rec):
    return rec["dynamodb"]["SequenceNumber"]


class TestConsumer:
    def test_sample_batch_becomes_three_events_in_feed_and_on_bus(self, aws, api, consume, bus):
        assert consume(load_event("stream_batch")["Records"]) == {"batchItemFailures": []}
        page = api("GET", "/activity", tenant="demo").body
        assert [e["type"] for e in page["items"]] == ["todo.deleted", "todo.completed", "todo.created"]
        deleted, completed, created_ = page["items"]
        assert completed == {
            "id": completed["id"],
            "type": "todo.completed",
            "todo_id": SAMPLE_TODO,
            "at": "2026-11-27T10:16:02.000Z",
            "changes": {"completed": [False, True]},
            "todo": {
                "id": SAMPLE_TODO,
                "title": "Read a book",
                "completed": True,
                "created_at": "2026-11-27T10:15:00.123Z",
                "updated_at": "2026-11-27T10:16:02.000Z",
                "version": 2,
            },
        }
        assert "tenant" not in completed
        assert deleted["todo"] == completed["todo"]
        assert created_["changes"] == {"title": [None, "Read a book"], "completed": [None, False]}
        on_bus = bus()
        assert sorted(e["detail"]["id"] for e in on_bus) == sorted(e["id"] for e in page["items"])
        by_id = {e["detail"]["id"]: e for e in on_bus}
        for event in page["items"]:
            envelope = by_id[event["id"]]
            assert envelope["source"] == "todo-api"
            assert envelope["detail-type"] == event["type"]
            assert envelope["detail"] == {"tenant": "demo", **event}

    def test_events_expire_after_the_retention(self, aws, consume, bus):
        assert consume(load_event("stream_batch")["Records"]) == {"batchItemFailures": []}
        items = feed_items(aws)
        assert len(items) == 3
        for item in items:
            at = datetime.fromisoformat(item["at"]["S"].replace("Z", "+00:00"))
            assert int(item["expires_at"]["N"]) == int(at.timestamp()) + 90 * 86400

    @pytest.mark.parametrize(
        ("before", "after", "kind"),
        [
            ({"completed": True}, {"completed": False}, "todo.reopened"),
            ({"title": "old"}, {"title": "new"}, "todo.updated"),
        ],
    )
    def test_other_modifications(self, aws, api, consume, bus, before, after, kind):
        old = todo(**before)
        new = todo(**after, version=2, updated_at="2026-11-27T10:16:00.000Z")
        assert consume([modified("acme", old, new)]) == {"batchItemFailures": []}
        [event] = api("GET", "/activity").body["items"]
        assert event["type"] == kind
        assert [e["detail-type"] for e in bus()] == [kind]

    def test_poisoned_record_alone_in_batch_item_failures(self, aws, api, consume, bus):
        good, other = todo("01JD7Z6ZQ4N8Y3T5V2W9X0AAAA"), todo("01JD7Z6ZQ4N8Y3T5V2W9X0BBBB")
        poisoned = created("acme", todo("01JD7Z6ZQ4N8Y3T5V2W9X0CCCC"))
        del poisoned["dynamodb"]["NewImage"]["title"]
        records = [created("acme", good), poisoned, created("acme", other)]
        assert consume(records) == {"batchItemFailures": [{"itemIdentifier": sequence(poisoned)}]}
        ids = {e["todo_id"] for e in api("GET", "/activity").body["items"]}
        assert ids == {good.id, other.id}
        assert len(bus()) == 2

    def test_later_records_of_the_failed_todo_wait_for_it(self, aws, api, consume, bus):
        first = todo("01JD7Z6ZQ4N8Y3T5V2W9X0AAAA")
        done = first.model_copy(update={"completed": True, "version": 2, "updated_at": "2026-11-27T10:16:00.000Z"})
        poisoned = created("acme", first)
        del poisoned["dynamodb"]["NewImage"]["version"]
        later = modified("acme", first, done)
        independent = created("acme", todo("01JD7Z6ZQ4N8Y3T5V2W9X0BBBB"))
        failures = consume([poisoned, independent, later])["batchItemFailures"]
        assert failures == [{"itemIdentifier": sequence(poisoned)}, {"itemIdentifier": sequence(later)}]
        assert [e["todo_id"] for e in api("GET", "/activity").body["items"]] == ["01JD7Z6ZQ4N8Y3T5V2W9X0BBBB"]

    def test_all_failed_is_reported_not_raised(self, consume):
        poisoned = created("acme", todo())
        poisoned["dynamodb"]["NewImage"]["completed"] = {"S": "yes"}
        assert consume([poisoned]) == {"batchItemFailures": [{"itemIdentifier": sequence(poisoned)}]}

    def test_redelivered_batch_creates_no_duplicates(self, aws, api, consume, bus):
        records = load_event("stream_batch")["Records"]
        consume(records)
        first_ids = [e["detail"]["id"] for e in bus()]
        assert consume(records) == {"batchItemFailures": []}
        assert consume(records[1:]) == {"batchItemFailures": []}  # a retry from a later checkpoint
        assert len(feed_items(aws)) == 3
        items = api("GET", "/activity", tenant="demo").body["items"]
        assert len(items) == 3
        again = [e["detail"]["id"] for e in bus()]
        assert set(again) == set(first_ids) == {e["id"] for e in items}

    def test_non_todo_records_are_ignored(self, aws, consume, bus):
        key_record = load_event("stream_batch")["Records"][1]
        activity_record = created("acme", todo())
        activity_record["dynamodb"]["NewImage"] = {
            "PK": {"S": "ACTIVITY#acme"},
            "SK": {"S": "EVENT#x"},
            "entity": {"S": "activity"},
        }
        activity_record["dynamodb"]["Keys"] = {"PK": {"S": "ACTIVITY#acme"}, "SK": {"S": "EVENT#x"}}
        assert consume([key_record, activity_record]) == {"batchItemFailures": []}
        assert feed_items(aws, "acme") == feed_items(aws, "demo") == []
        assert bus() == []

    def test_eventbridge_rejection_fails_the_record(self, aws, consume, bus, monkeypatch):
        monkeypatch.setenv("EVENT_BUS_NAME", "no-such-bus")
        wiring.reset()
        rec = created("acme", todo())
        assert consume([rec]) == {"batchItemFailures": [{"itemIdentifier": sequence(rec)}]}


class TestListActivity:
    def seed(self, consume, tenant, n, prefix="01JD7Z6ZQ4N8Y3T5V2W9X0"):
        todos = [todo(f"{prefix}{i:04d}", title=f"t{i}", created_at=f"2026-11-27T10:15:{i:02d}.000Z") for i in range(n)]
        todos = [t.model_copy(update={"updated_at": t.created_at}) for t in todos]
        assert consume([created(tenant, t) for t in todos]) == {"batchItemFailures": []}
        return todos

    def test_newest_first_and_tenant_scoped(self, api, consume):
        acme = self.seed(consume, "acme", 3)
        self.seed(consume, "globex", 2, prefix="01JD7Z6ZQ4N8Y3T5V2W9X1")
        reply = api("GET", "/activity")
        assert reply.status == 200
        assert [e["todo_id"] for e in reply.body["items"]] == [t.id for t in reversed(acme)]
        assert reply.body["next_cursor"] is None
        other = api("GET", "/activity", tenant="globex").body["items"]
        assert len(other) == 2
        assert not {e["todo_id"] for e in other} & {t.id for t in acme}

    def test_paginated_every_event_once(self, api, consume):
        todos = self.seed(consume, "acme", 7)
        seen, cursor = [], None
        while True:
            query = {"limit": "3", **({"cursor": cursor} if cursor else {})}
            page = api("GET", "/activity", query=query).body
            assert len(page["items"]) <= 3
            seen += [e["todo_id"] for e in page["items"]]
            if not (cursor := page["next_cursor"]):
                break
        assert seen == [t.id for t in reversed(todos)]

    def test_a_full_last_page_has_no_cursor(self, api, consume):
        self.seed(consume, "acme", 6)
        first = api("GET", "/activity", query={"limit": "3"}).body
        assert len(first["items"]) == 3
        last = api("GET", "/activity", query={"limit": "3", "cursor": first["next_cursor"]}).body
        assert len(last["items"]) == 3
        assert last["next_cursor"] is None

    def test_cursor_is_bound_to_tenant_and_tamper_proof(self, api, consume):
        self.seed(consume, "acme", 3)
        cursor = api("GET", "/activity", query={"limit": "1"}).body["next_cursor"]
        assert cursor
        tampered = cursor[:-2] + ("AA" if cursor[-2:] != "AA" else "BB")
        for query, tenant in [({"cursor": tampered}, "acme"), ({"cursor": cursor}, "globex")]:
            reply = api("GET", "/activity", query=query, tenant=tenant)
            assert reply.status == 400
            assert reply.body == {"error": "Invalid cursor"}
        # a todo list cursor is not an activity cursor
        api("POST", "/todos", {"title": "a"})
        api("POST", "/todos", {"title": "b"})
        todo_cursor = api("GET", "/todos", query={"limit": "1"}).body["next_cursor"]
        assert api("GET", "/activity", query={"cursor": todo_cursor}).status == 400

    @pytest.mark.parametrize("limit", ["0", "101", "x"])
    def test_invalid_limit(self, api, limit):
        assert api("GET", "/activity", query={"limit": limit}).status == 400

    def test_needs_a_tenant(self, api):
        assert api("GET", "/activity", tenant=None).status == 401

    def test_empty_feed(self, api):
        assert api("GET", "/activity").body == {"items": [], "next_cursor": None}


def test_end_to_end_through_the_api_and_moto_stream(aws, api, consume, consumer_module, bus):
    """Create, complete and delete through the API; Lambda's role is played by the stream poller."""
    todo_ = api("POST", "/todos", {"title": "Ship it"}).body
    assert api("PATCH", f"/todos/{todo_['id']}", {"completed": True}).status == 200
    assert api("DELETE", f"/todos/{todo_['id']}").status == 200
    poller = StreamPoller(
        lambda event: consumer_module.lambda_handler(event, Context()),
        table_name=TABLES["TodoTable"],
        dynamodb_client=aws,
        streams_client=boto3.client("dynamodbstreams"),
    )
    assert poller.poll_once() >= 3  # the API keys of the fixture are on the stream too
    poller.poll_once()  # the feed's own writes come back on the stream and are ignored
    items = api("GET", "/activity").body["items"]
    assert [e["type"] for e in items] == ["todo.deleted", "todo.completed", "todo.created"]
    assert {e["todo_id"] for e in items} == {todo_["id"]}
    assert items[2]["todo"] == todo_
    assert items[1]["changes"] == {"completed": [False, True]}
    assert items[0]["todo"]["version"] == 2
    assert [e["detail-type"] for e in bus()] == ["todo.created", "todo.completed", "todo.deleted"]
    assert api("GET", "/activity", tenant="globex").body["items"] == []


def test_template_wires_consumer_bus_and_dead_letter_queue():
    resources = document()["Resources"]
    consumer = resources["StreamConsumerFunction"]["Properties"]
    stream = consumer["Events"]["TableStream"]["Properties"]
    assert stream["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert stream["BisectBatchOnFunctionError"] is True
    assert stream["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["StreamDeadLetterQueue", "Arn"]}
    assert consumer["Environment"]["Variables"] == {
        "EVENT_BUS_NAME": {"Ref": "TodoEventBus"},
        "ACTIVITY_RETENTION_DAYS": {"Ref": "ActivityRetentionDays"},
    }
    ttl = resources["TodoTable"]["Properties"]["TimeToLiveSpecification"]
    assert ttl == {"AttributeName": "expires_at", "Enabled": True}
    actions = {str(s["Action"]) for s in consumer["Policies"][0]["Statement"]}
    # Feed writes and tombstone reads are two statements, each fenced to its keys (test_iam_fences.py).
    assert actions == {"dynamodb:PutItem", "dynamodb:GetItem", "events:PutEvents", "sqs:SendMessage"}
    queue = resources["StreamDeadLetterQueue"]["Properties"]
    assert queue["SqsManagedSseEnabled"] is True
    assert queue["MessageRetentionPeriod"] == 1209600
    reader = resources["ListActivityFunction"]["Properties"]
    assert [s["Action"] for s in reader["Policies"][0]["Statement"]] == ["dynamodb:Query"]
