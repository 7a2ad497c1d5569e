"""The activity feed: the table's change stream as domain events, stored per tenant and published.

A stream record (NEW_AND_OLD_IMAGES, DynamoDB's attribute-value format) of a todo item becomes
one event; records of any other item (API keys, the feed's own items) are ignored:

| stream event | event type |
|---|---|
| INSERT | `todo.created` |
| MODIFY, `completed` false -> true | `todo.completed` |
| MODIFY, `completed` true -> false | `todo.reopened` |
| MODIFY, anything else | `todo.updated` |
| REMOVE | `todo.deleted` |

An event's id is derived from the record alone (change time, todo id, version, and a suffix for
deletes), so a redelivered record yields the same id: the feed write is conditional and becomes a
no-op, and EventBridge subscribers can drop repeats by `detail.id` (publishing is at least once).
Ids sort by change time, so the feed lists newest first with one Query per page:

| item | PK | SK |
|---|---|---|
| activity event | `ACTIVITY#<tenant>` | `EVENT#<event id>` |
"""

import json
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import Annotated, Any, Literal, TypeGuard

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError
from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from todo_api import cursor
from todo_api.clients import dynamodb, events
from todo_api.models import Timestamp, Todo
from todo_api.repository import Item, Table, from_item
from todo_api.settings import get_settings

logger = Logger(child=True)

SOURCE = "todo-api"
CURSOR_SCOPE = "activity"
TRACKED_FIELDS = ("title", "completed")  # what `changes` reports; id, timestamps and version always move

EventType = Literal["todo.created", "todo.updated", "todo.completed", "todo.reopened", "todo.deleted"]


class ActivityEvent(BaseModel):
    id: str = Field(description="Unique per change, stable across redeliveries; sorts by change time")
    type: EventType
    todo_id: str
    at: Timestamp
    changes: dict[str, tuple[Any, Any]] = Field(
        description="Changed fields (title, completed) as [old, new]; null where there is no old or new todo",
        examples=[{"completed": [False, True]}],
    )
    todo: Todo = Field(description="The todo after the change, or before a delete")


class ActivityPage(BaseModel):
    items: list[ActivityEvent]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")


class PoisonRecord(ValueError):
    """A todo's stream record that cannot become an event (it fails, so that it is retried and kept)."""


class OutOfOrder(RuntimeError):
    """An earlier record of the same todo failed in this batch: this one must wait for it."""


# ------------------------------------------------------------------ stream record -> event


def _timestamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _is_todo(image: Item | None) -> TypeGuard[Item]:
    return image is not None and image.get("entity", {}).get("S") == "todo"


def _todo(image: Item) -> tuple[str, Todo]:
    """The tenant and the validated todo of an item image."""
    try:
        tenant = image["tenant"]["S"]
        todo = Todo.model_validate(from_item(image).model_dump())
        for stamp in (todo.created_at, todo.updated_at):
            _parse_time(stamp)  # raises ValueError unless RFC 3339
    except (KeyError, TypeError, ValueError) as error:
        raise PoisonRecord(f"malformed todo image: {type(error).__name__}") from error
    if not tenant:
        raise PoisonRecord("todo image without tenant")
    return tenant, todo


def event_id(at: str, todo_id: str, version: int, deleted: bool) -> str:
    """`<compact UTC time>-<todo id>-<version>[-deleted]`: sorts by time, then version, delete last."""
    moment = _parse_time(at).astimezone(UTC)
    stamp = moment.strftime("%Y%m%dT%H%M%S") + f"{moment.microsecond // 1000:03d}Z"
    return f"{stamp}-{todo_id}-{version:010d}" + ("-deleted" if deleted else "")


def _changes(old: Todo | None, new: Todo | None) -> dict[str, tuple[Any, Any]]:
    result: dict[str, tuple[Any, Any]] = {}
    for field in TRACKED_FIELDS:
        before = getattr(old, field) if old else None
        after = getattr(new, field) if new else None
        if old is None or new is None or before != after:
            result[field] = (before, after)
    return result


def _delete_time(record: dict[str, Any], old: Todo) -> str:
    """When the delete happened: the record's approximate time (seconds), never before the last change."""
    approximate = record.get("dynamodb", {}).get("ApproximateCreationDateTime")
    last_change = _parse_time(old.updated_at)
    if isinstance(approximate, int | float):
        return _timestamp(max(datetime.fromtimestamp(approximate, UTC), last_change))
    return _timestamp(last_change)


def _has_todo_key(keys: Item) -> bool:
    pk, sk = keys.get("PK", {}).get("S", ""), keys.get("SK", {}).get("S", "")
    return str(pk).startswith("TENANT#") and str(sk).startswith("TODO#")


def event_from_record(record: dict[str, Any]) -> tuple[str, ActivityEvent] | None:
    """The tenant and the domain event of a todo's stream record; None for any other item."""
    change = record.get("dynamodb") or {}
    name = record.get("eventName")
    old_image, new_image = change.get("OldImage"), change.get("NewImage")
    if not (_is_todo(old_image) or _is_todo(new_image)):
        if _has_todo_key(change.get("Keys") or {}):
            raise PoisonRecord("todo record without images: the stream must be NEW_AND_OLD_IMAGES")
        return None
    old = _todo(old_image) if _is_todo(old_image) else None
    new = _todo(new_image) if _is_todo(new_image) else None
    kind: EventType
    if name == "INSERT" and new:
        kind, (tenant, todo), at = "todo.created", new, new[1].updated_at
    elif name == "MODIFY" and old and new:
        was, now = old[1].completed, new[1].completed
        kind = "todo.completed" if now and not was else "todo.reopened" if was and not now else "todo.updated"
        (tenant, todo), at = new, new[1].updated_at
    elif name == "REMOVE" and old:
        kind, (tenant, todo) = "todo.deleted", old
        at = _delete_time(record, old[1])
    else:
        raise PoisonRecord(f"unexpected {name} record of a todo")
    at = _timestamp(_parse_time(at))
    event = ActivityEvent(
        id=event_id(at, todo.id, todo.version, kind == "todo.deleted"),
        type=kind,
        todo_id=todo.id,
        at=at,
        changes=_changes(old[1] if old else None, new[1] if new else None),
        todo=todo,
    )
    return tenant, event


def todo_key(record: dict[str, Any]) -> tuple[str, str] | None:
    """(PK, SK) of the record's item, the unit whose events must keep their order; never raises."""
    keys = (record.get("dynamodb") or {}).get("Keys") or {}
    try:
        return str(keys["PK"]["S"]), str(keys["SK"]["S"])
    except (KeyError, TypeError):
        return None


# ------------------------------------------------------------------ feed and bus adapters


def activity_pk(tenant: str) -> str:
    return f"ACTIVITY#{tenant}"


def event_sk(event_id: str) -> str:
    return f"EVENT#{event_id}"


def _body(event: ActivityEvent) -> str:
    return json.dumps(event.model_dump(mode="json"), separators=(",", ":"))


class ActivityFeed:
    """The tenant's events in the todo table, newest first."""

    def __init__(self, table: Table, retention_days: int | None = None) -> None:
        self.call = table.call
        self._retention_seconds = retention_days * 86400 if retention_days else None

    def add(self, tenant: str, event: ActivityEvent) -> bool:
        """Store the event once; False when it was already there (a redelivery).

        With a retention, the item carries `expires_at` (epoch seconds), the table's TTL attribute:
        DynamoDB deletes it, usually within two days of that time, without a write of ours.
        """
        expiry = {}
        if self._retention_seconds:
            expires = int(_parse_time(event.at).timestamp()) + self._retention_seconds
            expiry = {"expires_at": {"N": str(expires)}}
        try:
            self.call(
                "put_item",
                Item={
                    **expiry,
                    "PK": {"S": activity_pk(tenant)},
                    "SK": {"S": event_sk(event.id)},
                    "entity": {"S": "activity"},
                    "tenant": {"S": tenant},
                    "id": {"S": event.id},
                    "type": {"S": event.type},
                    "todo_id": {"S": event.todo_id},
                    "at": {"S": event.at},
                    "event": {"S": _body(event)},
                },
                ConditionExpression="attribute_not_exists(PK)",
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def list(self, tenant: str, limit: int, after_id: str | None) -> tuple[list[ActivityEvent], str | None]:
        """One Query, newest first; returns the page and the event id to continue after, if any."""
        pk = {"S": activity_pk(tenant)}
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
            "ExpressionAttributeValues": {":pk": pk, ":prefix": {"S": "EVENT#"}},
            "ScanIndexForward": False,
            "Limit": limit,
            "ConsistentRead": True,
        }
        if after_id:
            kwargs["ExclusiveStartKey"] = {"PK": pk, "SK": {"S": event_sk(after_id)}}
        result = self.call("query", **kwargs)
        items = [ActivityEvent.model_validate_json(item["event"]["S"]) for item in result.get("Items", [])]
        last = result.get("LastEvaluatedKey")
        return items, (last["SK"]["S"].removeprefix("EVENT#") if last else None)


class EventBus:
    """Publishes events to EventBridge: `Source` todo-api, `DetailType` the event type."""

    def __init__(self, client: Any, bus_name: str) -> None:
        self._client = client
        self.name = bus_name

    def publish(self, tenant: str, event: ActivityEvent) -> None:
        detail = {"tenant": tenant, **event.model_dump(mode="json")}
        result = self._client.put_events(
            Entries=[
                {
                    "Source": SOURCE,
                    "DetailType": event.type,
                    "Detail": json.dumps(detail, separators=(",", ":")),
                    "Time": _parse_time(event.at),
                    "EventBusName": self.name,
                }
            ]
        )
        if result.get("FailedEntryCount", 0):
            entry = (result.get("Entries") or [{}])[0]
            raise RuntimeError(f"EventBridge rejected event {event.id}: {entry.get('ErrorCode')}")


# ------------------------------------------------------------------ the consumer


class StreamConsumer:
    def __init__(self, feed: ActivityFeed, bus: EventBus) -> None:
        self._feed = feed
        self._bus = bus

    def apply(self, record: dict[str, Any]) -> ActivityEvent | None:
        """Record one stream record's event and publish it; None for records that are not todo changes."""
        found = event_from_record(record)
        if found is None:
            return None
        tenant, event = found
        if not self._feed.add(tenant, event):
            logger.info("event already in the feed", extra={"event_id": event.id})
        # Published on every delivery: a redelivery after a failed publish must not lose the event.
        self._bus.publish(tenant, event)
        return event

    def batch_handler(self) -> Callable[[dict[str, Any]], ActivityEvent | None]:
        """A record handler for one batch, in order: once a record fails, later records of the same
        item fail too (unapplied), so a todo's events are never applied ahead of an earlier one."""
        blocked: set[tuple[str, str]] = set()

        def handle(record: dict[str, Any]) -> ActivityEvent | None:
            key = todo_key(record)
            if key is not None and key in blocked:
                raise OutOfOrder("an earlier record of this item failed in this batch")
            try:
                return self.apply(record)
            except Exception as error:
                if key is not None:
                    blocked.add(key)
                logger.warning(
                    "stream record failed",
                    extra={
                        "event_id": record.get("eventID"),
                        "sequence_number": (record.get("dynamodb") or {}).get("SequenceNumber"),
                        "error": f"{type(error).__name__}: {error}",
                    },
                )
                raise

        return handle


class ConsumerSettings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, extra="ignore")

    event_bus_name: Annotated[str, Field(validation_alias="EVENT_BUS_NAME", min_length=1)]
    activity_retention_days: Annotated[int, Field(validation_alias="ACTIVITY_RETENTION_DAYS", gt=0)]


@cache
def consumer_settings() -> ConsumerSettings:
    return ConsumerSettings()


def feed() -> ActivityFeed:
    return ActivityFeed(Table(dynamodb(), get_settings().table_name))


def consumer() -> StreamConsumer:
    settings = consumer_settings()
    activity = ActivityFeed(Table(dynamodb(), get_settings().table_name), settings.activity_retention_days)
    return StreamConsumer(activity, EventBus(events(), settings.event_bus_name))


def list_activity(tenant: str, limit: int, cursor_token: str | None) -> ActivityPage:
    after = cursor.decode(tenant, CURSOR_SCOPE, cursor_token) if cursor_token else None
    items, last = feed().list(tenant, limit, after)
    return ActivityPage(items=items, next_cursor=cursor.encode(tenant, CURSOR_SCOPE, last) if last else None)
