"""The EventBridge adapter's request, checked by botocore's Stubber against the service model."""

import json
from datetime import UTC, datetime

import pytest

from tests.streams import completed_event, completed_event_json
from todo_api.adapters.event_bus import EventBridgeBus

TODO_ID = "01JD7Z6ZQ4N8Y3T5V2W9X0ABCD"


@pytest.fixture
def events(stubbed):
    return stubbed("events")


def test_an_event_is_put_with_its_tenant_type_time_and_compact_detail(events):
    client, stubber = events
    event = completed_event()
    detail = {"tenant": "acme", **completed_event_json(event.todo.created_at)}
    entry = {
        "Source": "todo-api",
        "DetailType": "todo.completed",
        "Detail": json.dumps(detail, separators=(",", ":")),
        "Time": datetime(2026, 11, 27, 10, 16, 0, 456000, tzinfo=UTC),
        "EventBusName": "todo-bus",
    }
    stubber.add_response("put_events", {"FailedEntryCount": 0, "Entries": [{"EventId": "e1"}]}, {"Entries": [entry]})
    EventBridgeBus(client, "todo-bus").publish("acme", event)
    assert " " not in entry["Detail"]


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        (
            {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "x"}]},
            "InternalFailure",
        ),
        ({"FailedEntryCount": 1, "Entries": []}, "None"),
    ],
)
def test_a_rejected_event_raises_with_its_id_and_code(events, answer, code):
    client, stubber = events
    event = completed_event()
    stubber.add_response("put_events", answer)
    with pytest.raises(RuntimeError) as raised:
        EventBridgeBus(client, "todo-bus").publish("acme", event)
    assert str(raised.value) == f"EventBridge rejected event {event.id}: {code}"


def test_an_answer_without_a_failure_count_is_a_success(events):
    client, stubber = events
    stubber.add_response("put_events", {"Entries": [{"EventId": "e1"}]})
    EventBridgeBus(client, "todo-bus").publish("acme", completed_event())
