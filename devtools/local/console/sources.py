"""What the console reads besides its recorder, when a page asks: the functions' pools, the stream
pollers' positions, the dead-letter and published-event files (their last lines only), and the
local tables (read-only, one page at a time)."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devtools.emulator import dynamodb
from devtools.emulator.template import local_table_name

if TYPE_CHECKING:
    from devtools.emulator.gateway import LocalGateway
    from devtools.emulator.streams import StreamPoller

TAIL_BYTES = 512 * 1024  # of a JSON-lines file, read from its end
TAIL_LINES = 100
PAGE_SIZE = 25
SCAN_ROUNDS = 40  # of PAGE_SIZE items read by a filtered scan for one page, at most


def tail_jsonl(path: Path, lines: int = TAIL_LINES, limit: int = TAIL_BYTES) -> list[Any]:
    """The last `lines` JSON lines of a file (reading at most its last `limit` bytes), oldest first."""
    try:
        with path.open("rb") as source:
            size = source.seek(0, os.SEEK_END)
            source.seek(max(0, size - limit))
            data = source.read()
    except FileNotFoundError:
        return []
    rows = data.split(b"\n")
    if len(data) == limit and rows:
        rows = rows[1:]  # the first one is cut
    out = []
    for row in rows[-lines - 1 :]:
        if row.strip():
            try:
                out.append(json.loads(row))
            except ValueError:
                continue
    return out[-lines:]


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    return {name: deserializer.deserialize(value) for name, value in sorted(item.items())}


class Sources:
    KINDS = ("todos", "activity", "keys", "claims")

    def __init__(
        self,
        gateway: LocalGateway,
        endpoint: str,
        pollers: list[StreamPoller],
        dead_letters: Path,
        events: Path,
        tenants: Callable[[], list[str]] = list,
    ) -> None:
        self.gateway = gateway
        self.endpoint = endpoint
        self.pollers = pollers
        self.dead_letters_file = dead_letters
        self.events_file = events
        self.tenants = tenants
        self._client: Any = None

    def routes(self) -> list[Any]:
        from devtools.usage import template_routes

        return template_routes()

    def functions(self) -> list[dict[str, Any]]:
        """Each function's limits and its instances now (idle, busy)."""
        runner = self.gateway.runner
        pools = dict(getattr(runner, "_pools", {}))
        out = []
        for function in runner.template.all_functions():
            pool = pools.get(function.name)
            idle = len(pool._idle) if pool is not None else 0
            busy = pool._busy if pool is not None else 0
            out.append(
                {
                    "name": function.name,
                    "memory_mb": int(function.memory or 128),
                    "timeout_s": float(function.timeout or 3),
                    "concurrency_limit": (pool.spec.reserved or pool.spec.local_limit) if pool is not None else None,
                    "instances": {"idle": idle, "busy": busy, "warm": idle + busy},
                    "idle_pids": [i.pid for i in list(pool._idle)] if pool is not None else [],
                }
            )
        return out

    def mappings(self) -> list[dict[str, Any]]:
        """Each stream mapping and its position (checkpoint) per shard."""
        out = []
        for poller in self.pollers:
            shards = poller.positions()
            out.append(
                {
                    "name": poller.name,
                    "table": poller.table_name,
                    "stream_arn": poller.stream_arn,
                    "batch_size": poller.batch_size,
                    "max_retries": poller.max_retries,
                    "bisect": poller.bisect,
                    "destination": poller.dead_letters.destination if poller.dead_letters else None,
                    "shards": shards,
                }
            )
        return out

    def dead_letters(self) -> list[Any]:
        return tail_jsonl(self.dead_letters_file, 50)

    def published(self) -> list[Any]:
        return tail_jsonl(self.events_file)

    # -- the tables
    def client(self) -> Any:
        if self._client is None:
            self._client = dynamodb.client(self.endpoint, attempts=1)
        return self._client

    def items(self, tenant: str, kind: str, token: str | None) -> dict[str, Any]:
        """One page of a tenant's items of one kind, and the token of the next page (None at the end)."""
        from todo_api.adapters.dynamodb import activity_pk, tenant_pk

        todo_table = local_table_name("TodoTable")
        if kind == "todos":
            request: dict[str, Any] = {
                "TableName": todo_table,
                "KeyConditionExpression": "PK = :pk",
                "ExpressionAttributeValues": {":pk": {"S": tenant_pk(tenant)}},
            }
            call = self.client().query
        elif kind == "activity":
            request = {
                "TableName": todo_table,
                "KeyConditionExpression": "PK = :pk",
                "ExpressionAttributeValues": {":pk": {"S": activity_pk(tenant)}},
                "ScanIndexForward": False,
            }
            call = self.client().query
        elif kind == "keys":  # stored as hashes (APIKEY#<sha256 of the key>): the key itself is nowhere
            request = {
                "TableName": todo_table,
                "FilterExpression": "entity = :entity AND tenant = :tenant",
                "ExpressionAttributeValues": {":entity": {"S": "apikey"}, ":tenant": {"S": tenant}},
            }
            call = self.client().scan
        else:  # idempotency claims: id `<tenant>#<sha256 of the Idempotency-Key>`
            request = {
                "TableName": local_table_name("IdempotencyTable"),
                "FilterExpression": "begins_with(id, :prefix)",
                "ExpressionAttributeValues": {":prefix": {"S": f"{tenant}#"}},
            }
            call = self.client().scan
        request["Limit"] = PAGE_SIZE
        if token:
            request["ExclusiveStartKey"] = json.loads(base64.urlsafe_b64decode(token.encode()))
        items: list[dict[str, Any]] = []
        for _ in range(SCAN_ROUNDS):  # a filtered scan reads on until a page is full (or the table ends)
            result = call(**request)
            items += result.get("Items", [])
            last = result.get("LastEvaluatedKey")
            if last is None or len(items) >= PAGE_SIZE or kind in ("todos", "activity"):
                break
            request["ExclusiveStartKey"] = last
        return {
            "tenant": tenant,
            "kind": kind,
            "items": [_plain(item) for item in items],
            "next": base64.urlsafe_b64encode(json.dumps(last).encode()).decode() if last else None,
        }
