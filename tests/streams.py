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
