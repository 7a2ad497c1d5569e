"""The activity feed: changes of todos as domain events, stored per tenant and published.

A change of one todo becomes one event:

| change | event type |
|---|---|
| insert | `todo.created` |
| modify, `completed` false -> true | `todo.completed` |
| modify, `completed` true -> false | `todo.reopened` |
| modify, anything else | `todo.updated` |
| remove | `todo.deleted` |

An event's id is derived from the change alone (change time, todo id, version, and a suffix for
deletes), so a redelivered change yields the same id: storing it again is a no-op, and event bus
subscribers can drop repeats by `detail.id` (publishing is at least once). Ids sort by change time,
then version, so the feed lists newest first. The change time of an update is the todo's
`updated_at`, which the todo store never lets go backward (`TodoStore.update`): a todo's events are
in commit (version) order whatever the writers' clocks did, and the feed is newest first across
todos within the precision of the writers' clocks.
"""

import re
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from todo_api.domain.clock import format_timestamp, parse_timestamp
from todo_api.domain.cursor import CursorSigner
from todo_api.domain.models import ULID_PATTERN, ActivityEvent, EventType, Todo
from todo_api.domain.ports import ActivityStore, EventBus, Tombstones

CURSOR_SCOPE = "activity"
TRACKED_FIELDS = ("title", "completed")  # what `changes` reports; id, timestamps and version always move

ChangeKind = Literal["INSERT", "MODIFY", "REMOVE"]


class ActivityPage(BaseModel):
    items: list[ActivityEvent]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")


class PoisonRecord(ValueError):
    """A todo's change that cannot become an event (it fails, so that it is retried and kept)."""


class OutOfOrder(RuntimeError):
    """An earlier change of the same todo failed in this batch: this one must wait for it."""


@dataclass(frozen=True)
class TodoChange:
    """One committed change of one tenant's todo, as the change stream reports it."""

    kind: ChangeKind
    tenant: str
    old: Todo | None
    new: Todo | None
    recorded_at: datetime | None = None  # the stream's approximate time of the change, if it gives one


# What `event_id` makes, matched whole: the only start key a feed's cursor may carry.
EVENT_ID_PATTERN = re.compile(rf"[0-9]{{8}}T[0-9]{{9}}Z-{ULID_PATTERN.pattern}-[0-9]{{10,19}}(?:-deleted)?")


def event_id(at: str, todo_id: str, version: int, deleted: bool) -> str:
    """`<compact UTC time>-<todo id>-<version>[-deleted]`: sorts by time, then version, delete last."""
    moment = parse_timestamp(at).astimezone(UTC)
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


def _delete_time(change: TodoChange, old: Todo, deleted_at: str | None) -> str:
    """When the delete happened: its tombstone's time (milliseconds) where there is one, else the
    stream record's (seconds); never before the todo's last change, so it sorts after it."""
    last_change = parse_timestamp(old.updated_at)
    if deleted_at is not None:
        return format_timestamp(max(parse_timestamp(deleted_at), last_change))
    if change.recorded_at is not None:
        return format_timestamp(max(change.recorded_at, last_change))
    return format_timestamp(last_change)


def event_for(change: TodoChange, deleted_at: str | None = None) -> ActivityEvent:
    """The domain event of one change; PoisonRecord when the change is not a coherent one."""
    old, new = change.old, change.new
    kind: EventType
    if change.kind == "INSERT" and new:
        kind, todo, at = "todo.created", new, new.updated_at
    elif change.kind == "MODIFY" and old and new:
        was, now = old.completed, new.completed
        kind = "todo.completed" if now and not was else "todo.reopened" if was and not now else "todo.updated"
        todo, at = new, new.updated_at
    elif change.kind == "REMOVE" and old:
        kind, todo, at = "todo.deleted", old, _delete_time(change, old, deleted_at)
    else:
        raise PoisonRecord(f"unexpected {change.kind} record of a todo")
    at = format_timestamp(parse_timestamp(at))
    return ActivityEvent(
        id=event_id(at, todo.id, todo.version, kind == "todo.deleted"),
        type=kind,
        todo_id=todo.id,
        at=at,
        changes=_changes(old, new),
        todo=todo,
    )


class ActivityFeed:
    """Reading the feed: one tenant's events, newest first, a page at a time."""

    def __init__(self, store: ActivityStore, cursors: CursorSigner) -> None:
        self._store = store
        self._cursors = cursors

    def list(self, tenant: str, limit: int, cursor_token: str | None) -> ActivityPage:
        cursors = self._cursors
        after = cursors.decode(tenant, CURSOR_SCOPE, cursor_token, EVENT_ID_PATTERN) if cursor_token else None
        items, last = self._store.list(tenant, limit, after)
        return ActivityPage(items=items, next_cursor=cursors.encode(tenant, CURSOR_SCOPE, last) if last else None)


ReadChange = Callable[[], TodoChange | None]


class StreamConsumer:
    """Writing the feed: each change is stored once and published on every delivery."""

    def __init__(self, store: ActivityStore, bus: EventBus, tombstones: Tombstones | None = None) -> None:
        self._store = store
        self._bus = bus
        self._tombstones = tombstones

    def apply(self, change: TodoChange) -> ActivityEvent:
        deleted_at = None
        if change.kind == "REMOVE" and change.old is not None and self._tombstones is not None:
            deleted_at = self._tombstones.deleted_at(change.tenant, change.old.id)
        event = event_for(change, deleted_at)
        self._store.add(change.tenant, event)  # False for a redelivery: the feed keeps its one copy
        # Published on every delivery: a redelivery after a failed publish must not lose the event.
        self._bus.publish(change.tenant, event)
        return event

    def in_order(self) -> Callable[[Hashable | None, ReadChange], ActivityEvent | None]:
        """A handler for one batch, in order: once a change fails, later changes of the same item
        fail too (unapplied), so a todo's events are never applied ahead of an earlier one.

        It takes the item's key and a function that reads the change (None: not a todo's change),
        so that a change that cannot even be read blocks its item too.
        """
        blocked: set[Hashable] = set()

        def handle(key: Hashable | None, read: ReadChange) -> ActivityEvent | None:
            if key is not None and key in blocked:
                raise OutOfOrder("an earlier record of this item failed in this batch")
            try:
                change = read()
                return None if change is None else self.apply(change)
            except Exception:
                if key is not None:
                    blocked.add(key)
                raise

        return handle
