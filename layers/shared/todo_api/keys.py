"""API keys: stored only as SHA-256 hashes, each mapped to exactly one tenant.

A key's record may also hold a usage key: the value and id of an API Gateway API key of the
stack's usage plan, which the authorizer names as `usageIdentifierKey` so that API Gateway
throttles and counts the key. The usage key is an identifier, not the client's secret; it is
never logged either.
"""

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from todo_api.repository import Table

TENANT_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def check_tenant(tenant: str) -> None:
    if not TENANT_PATTERN.match(tenant):
        raise ValueError(f"tenant must match {TENANT_PATTERN.pattern}")


def key_hash(api_key: str) -> str:
    return hashlib.sha256(api_key.encode("utf-8", errors="surrogatepass")).hexdigest()


def key_id(api_key: str) -> str:
    """A short, loggable identifier of a key (never the key itself)."""
    return key_hash(api_key)[:12]


def new_key() -> str:
    return "todo_" + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class UsageKey:
    """An API Gateway API key of the usage plan: its id and its value (`usageIdentifierKey`)."""

    id: str
    value: str = field(repr=False)


@dataclass(frozen=True)
class KeyRecord:
    tenant: str
    usage_key: UsageKey | None = None


def _item_key(api_key: str) -> dict[str, dict[str, str]]:
    return {"PK": {"S": f"APIKEY#{key_hash(api_key)}"}, "SK": {"S": "APIKEY"}}


def _record(item: dict[str, Any]) -> KeyRecord:
    usage = None
    if "usage_key" in item:
        usage = UsageKey(id=item["usage_key_id"]["S"], value=item["usage_key"]["S"])
    return KeyRecord(tenant=item["tenant"]["S"], usage_key=usage)


class KeyStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def find(self, api_key: str) -> KeyRecord | None:
        result = self._table.call("get_item", Key=_item_key(api_key), ConsistentRead=False)
        item = result.get("Item")
        return _record(item) if item else None

    def add(self, tenant: str, api_key: str, usage_key: UsageKey | None = None) -> None:
        check_tenant(tenant)
        usage = {"usage_key": {"S": usage_key.value}, "usage_key_id": {"S": usage_key.id}} if usage_key else {}
        self._table.call(
            "put_item",
            Item={
                **_item_key(api_key),
                "entity": {"S": "apikey"},
                "tenant": {"S": tenant},
                "key_id": {"S": key_id(api_key)},
                "created_at": {"S": datetime.now(UTC).isoformat(timespec="seconds")},
                **usage,
            },
        )

    def revoke(self, api_key: str) -> KeyRecord | None:
        """Delete the key; its former record (None if there was none), whose usage key is the caller's to delete."""
        result = self._table.call("delete_item", Key=_item_key(api_key), ReturnValues="ALL_OLD")
        old = result.get("Attributes")
        return _record(old) if old else None
