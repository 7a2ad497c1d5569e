"""The activity feed's store on DynamoDB (the domain's `ActivityStore`), in the todo table.

| item | PK | SK |
|---|---|---|
| activity event | `ACTIVITY#<tenant>` | `EVENT#<event id>` |
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from todo_api.adapters.dynamodb import (
    EVENT_SK_PREFIX,
    STORE_ERRORS,
    Item,
    activity_pk,
    event_id_of,
    event_sk,
    is_condition_failure,
    n,
    s,
    string,
)
from todo_api.domain.clock import parse_timestamp
from todo_api.domain.models import ActivityEvent

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

logger = Logger(child=True)


def _body(event: ActivityEvent) -> str:
    return json.dumps(event.model_dump(mode="json"), separators=(",", ":"))


class DynamoDBActivityStore:
    """The tenant's events, newest first."""

    def __init__(
        self,
        client: DynamoDBClient | None,
        table_name: str,
        retention_days: int | None = None,
        *,
        tenant_clients: Callable[[str], DynamoDBClient] | None = None,
    ) -> None:
        """`tenant_clients`, when given, gives each call the client of its tenant (as the todo store's)."""
        self._client = client
        self._tenant_clients = tenant_clients
        self._table = table_name
        self._retention_seconds = retention_days * 86400 if retention_days else None

    def _for(self, tenant: str) -> DynamoDBClient:
        if self._tenant_clients is not None:
            return self._tenant_clients(tenant)
        if self._client is None:
            raise RuntimeError("an activity store needs a client or tenant clients")
        return self._client

    def add(self, tenant: str, event: ActivityEvent) -> bool:
        """Store the event once; False when it was already there (a redelivery).

        With a retention, the item carries `expires_at` (epoch seconds), the table's TTL attribute:
        DynamoDB deletes it, usually within two days of that time, without a write of ours.
        """
        expiry: Item = {}
        if self._retention_seconds:
            expires = int(parse_timestamp(event.at).timestamp()) + self._retention_seconds
            expiry = {"expires_at": n(expires)}
        item: dict[str, Any] = {
            **expiry,
            "PK": s(activity_pk(tenant)),
            "SK": s(event_sk(event.id)),
            "entity": s("activity"),
            "tenant": s(tenant),
            "id": s(event.id),
            "type": s(event.type),
            "todo_id": s(event.todo_id),
            "at": s(event.at),
            "event": s(_body(event)),
        }
        try:
            with STORE_ERRORS:
                self._for(tenant).put_item(
                    TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(PK)"
                )
        except ClientError as error:
            if is_condition_failure(error):
                logger.info("event already in the feed", extra={"event_id": event.id})
                return False
            raise
        return True

    def list(self, tenant: str, limit: int, after_id: str | None) -> tuple[list[ActivityEvent], str | None]:
        """One Query, newest first; returns the page and the event id to continue after, if any.

        One item more than the page is read (never returned): it tells whether another page follows.
        """
        pk = s(activity_pk(tenant))
        start: dict[str, Any] = {"ExclusiveStartKey": {"PK": pk, "SK": s(event_sk(after_id))}} if after_id else {}
        with STORE_ERRORS:
            result = self._for(tenant).query(
                TableName=self._table,
                KeyConditionExpression="PK = :pk AND begins_with(SK, :prefix)",
                ExpressionAttributeValues={":pk": pk, ":prefix": s(EVENT_SK_PREFIX)},
                ScanIndexForward=False,
                Limit=limit + 1,
                ConsistentRead=True,
                **start,
            )
        found = result.get("Items", [])
        items = [ActivityEvent.model_validate_json(string(item, "event")) for item in found[:limit]]
        return items, (event_id_of(string(found[limit - 1], "SK")) if len(found) > limit else None)
