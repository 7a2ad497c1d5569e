"""Builders of DynamoDB stream records (Lambda's event shape) for the activity tests."""

import itertools
from typing import Any

from todo_api.adapters.dynamodb import to_item
from todo_api.domain.models import Todo

STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/todo-test/stream/2026-11-27T08:00:00.000"
_sequence = itertools.count(1000)


def todo(todo_id: str = "01JD7Z6ZQ4N8Y3T5V2W9X0ABCD", **fields: Any) -> Todo:
    values: dict[str, Any] = {
        "id": todo_id,
        "title": "Read a book",
        "completed": False,
        "created_at": "2026-11-27T10:15:00.123Z",
        "updated_at": "2026-11-27T10:15:00.123Z",
        "version": 1,
    }
    return Todo(**{**values, **fields})


def record(
    name: str,
    old: dict[str, Any] | None = None,
    new: dict[str, Any] | None = None,
    *,
    at: int = 1795774500,
) -> dict[str, Any]:
    """A stream record of item images `old` -> `new` (attribute-value format)."""
    image = new or old or {}
    change: dict[str, Any] = {
        "ApproximateCreationDateTime": at,
        "Keys": {k: image[k] for k in ("PK", "SK") if k in image},
        "SequenceNumber": str(next(_sequence)).zfill(28),
        "SizeBytes": 100,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new is not None:
        change["NewImage"] = new
    if old is not None:
        change["OldImage"] = old
    return {
        "eventID": change["SequenceNumber"],
        "eventName": name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": change,
        "eventSourceARN": STREAM_ARN,
    }


def created(tenant: str, value: Todo) -> dict[str, Any]:
    return record("INSERT", new=to_item(tenant, value))


def modified(tenant: str, before: Todo, after: Todo) -> dict[str, Any]:
    return record("MODIFY", to_item(tenant, before), to_item(tenant, after))


def removed(tenant: str, before: Todo, at: int = 1795774500) -> dict[str, Any]:
    return record("REMOVE", old=to_item(tenant, before), at=at)


COMPLETED_ID = "01JD7Z6ZQ4N8Y3T5V2W9X0ABCD"


def completed_event() -> Any:
    """The event of a todo marked completed (version 1 -> 2 at 2026-11-27T10:16:00.456Z)."""
    from todo_api.domain.activity import TodoChange, event_for

    old = todo(COMPLETED_ID, title="Read", completed=False, version=1, updated_at="2026-11-27T10:15:00.123Z")
    new = todo(COMPLETED_ID, title="Read", completed=True, version=2, updated_at="2026-11-27T10:16:00.456Z")
    return event_for(TodoChange("MODIFY", "acme", old, new))


def completed_event_json(created_at: str) -> dict[str, Any]:
    """That event as JSON, written out by hand (the todo's creation time is the builder's)."""
    return {
        "id": f"20261127T101600456Z-{COMPLETED_ID}-0000000002",
        "type": "todo.completed",
        "todo_id": COMPLETED_ID,
        "at": "2026-11-27T10:16:00.456Z",
        "changes": {"completed": [False, True]},
        "todo": {
            "id": COMPLETED_ID,
            "title": "Read",
            "completed": True,
            "created_at": created_at,
            "updated_at": "2026-11-27T10:16:00.456Z",
            "version": 2,
        },
    }
