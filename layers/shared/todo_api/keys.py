"""API keys: stored only as SHA-256 hashes, each mapped to exactly one tenant."""

import hashlib
import re
import secrets
from datetime import UTC, datetime

from todo_api.repository import Table

TENANT_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def key_hash(api_key: str) -> str:
    return hashlib.sha256(api_key.encode("utf-8", errors="surrogatepass")).hexdigest()


def key_id(api_key: str) -> str:
    """A short, loggable identifier of a key (never the key itself)."""
    return key_hash(api_key)[:12]


def new_key() -> str:
    return "todo_" + secrets.token_urlsafe(32)


def _item_key(api_key: str) -> dict[str, dict[str, str]]:
    return {"PK": {"S": f"APIKEY#{key_hash(api_key)}"}, "SK": {"S": "APIKEY"}}


class KeyStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def tenant_for(self, api_key: str) -> str | None:
        result = self._table.call("get_item", Key=_item_key(api_key), ConsistentRead=False)
        item = result.get("Item")
        return item["tenant"]["S"] if item else None

    def add(self, tenant: str, api_key: str) -> None:
        if not TENANT_PATTERN.match(tenant):
            raise ValueError(f"tenant must match {TENANT_PATTERN.pattern}")
        self._table.call(
            "put_item",
            Item={
                **_item_key(api_key),
                "entity": {"S": "apikey"},
                "tenant": {"S": tenant},
                "key_id": {"S": key_id(api_key)},
                "created_at": {"S": datetime.now(UTC).isoformat(timespec="seconds")},
            },
        )

    def revoke(self, api_key: str) -> bool:
        result = self._table.call("delete_item", Key=_item_key(api_key), ReturnValues="ALL_OLD")
        return "Attributes" in result
