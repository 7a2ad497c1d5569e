"""The event bus on EventBridge (the domain's `EventBus`): `Source` todo-api, `DetailType` the event type."""

import json
from typing import Any

from todo_api.domain.clock import parse_timestamp
from todo_api.domain.models import ActivityEvent

SOURCE = "todo-api"


class EventBridgeBus:
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
                    "Time": parse_timestamp(event.at),
                    "EventBusName": self.name,
                }
            ]
        )
        if result.get("FailedEntryCount", 0):
            entry = (result.get("Entries") or [{}])[0]
            raise RuntimeError(f"EventBridge rejected event {event.id}: {entry.get('ErrorCode')}")
