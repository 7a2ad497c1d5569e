"""DynamoDB stream records (NEW_AND_OLD_IMAGES, attribute-value format) as the domain's changes.

A record of a todo item becomes one `TodoChange`; records of any other item (API keys, the
feed's own items) are not changes of todos and are skipped.
"""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeGuard

from aws_lambda_powertools import Logger

from todo_api.adapters.dynamodb import Item, from_item, is_todo_key
from todo_api.domain.activity import PoisonRecord, StreamConsumer, TodoChange, event_for
from todo_api.domain.clock import parse_timestamp
from todo_api.domain.models import ActivityEvent, Todo

logger = Logger(child=True)


def _is_todo(image: Item | None) -> TypeGuard[Item]:
    return image is not None and image.get("entity", {}).get("S") == "todo"


def _todo(image: Item) -> tuple[str, Todo]:
    """The tenant and the validated todo of an item image."""
    try:
        tenant = image["tenant"]["S"]
        todo = Todo.model_validate(from_item(image).model_dump())
        for stamp in (todo.created_at, todo.updated_at):
            parse_timestamp(stamp)  # raises ValueError unless RFC 3339
    except (KeyError, TypeError, ValueError) as error:
        raise PoisonRecord(f"malformed todo image: {type(error).__name__}") from error
    if not tenant:
        raise PoisonRecord("todo image without tenant")
    return tenant, todo


def _has_todo_key(keys: Item) -> bool:
    pk, sk = keys.get("PK", {}).get("S", ""), keys.get("SK", {}).get("S", "")
    return is_todo_key(str(pk), str(sk))


def change_from_record(record: dict[str, Any]) -> TodoChange | None:
    """The todo change of a stream record; None for any other item; PoisonRecord if unreadable."""
    change = record.get("dynamodb") or {}
    old_image, new_image = change.get("OldImage"), change.get("NewImage")
    if not (_is_todo(old_image) or _is_todo(new_image)):
        if _has_todo_key(change.get("Keys") or {}):
            raise PoisonRecord("todo record without images: the stream must be NEW_AND_OLD_IMAGES")
        return None
    old = _todo(old_image) if _is_todo(old_image) else None
    new = _todo(new_image) if _is_todo(new_image) else None
    name = record.get("eventName")
    if name not in ("INSERT", "MODIFY", "REMOVE"):
        raise PoisonRecord(f"unexpected {name} record of a todo")
    approximate = change.get("ApproximateCreationDateTime")
    tenant = new[0] if new else old[0] if old else ""
    return TodoChange(
        kind=name,
        tenant=tenant,
        old=old[1] if old else None,
        new=new[1] if new else None,
        recorded_at=datetime.fromtimestamp(approximate, UTC) if isinstance(approximate, int | float) else None,
    )


def event_from_record(record: dict[str, Any]) -> tuple[str, ActivityEvent] | None:
    """The tenant and the domain event of a todo's stream record; None for any other item."""
    change = change_from_record(record)
    return None if change is None else (change.tenant, event_for(change))


def item_key(record: dict[str, Any]) -> tuple[str, str] | None:
    """(PK, SK) of the record's item, the unit whose events must keep their order; never raises."""
    keys = (record.get("dynamodb") or {}).get("Keys") or {}
    try:
        return str(keys["PK"]["S"]), str(keys["SK"]["S"])
    except (KeyError, TypeError):
        return None


def batch_handler(consumer: StreamConsumer) -> Callable[[dict[str, Any]], ActivityEvent | None]:
    """A record handler for one batch of stream records, in order (see `StreamConsumer.in_order`)."""
    handle = consumer.in_order()

    def handle_record(record: dict[str, Any]) -> ActivityEvent | None:
        try:
            return handle(item_key(record), lambda: change_from_record(record))
        except Exception as error:
            logger.warning(
                "stream record failed",
                extra={
                    "event_id": record.get("eventID"),
                    "sequence_number": (record.get("dynamodb") or {}).get("SequenceNumber"),
                    "error": f"{type(error).__name__}: {error}",
                },
            )
            raise

    return handle_record
