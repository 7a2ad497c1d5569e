"""The API key store on DynamoDB (the domain's `KeyStore`): items `APIKEY#<sha256 of key>`."""

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from todo_api.adapters.dynamodb import STORE_ERRORS, Item, api_key_key, s, string
from todo_api.domain.keys import KeyRecord, check_tenant, key_hash, key_id

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def _item_key(api_key: str) -> Item:
    return api_key_key(key_hash(api_key))


def _record(item: Item) -> KeyRecord:
    # Keys made while the API used API Gateway usage plans also hold `usage_key`/`usage_key_id`:
    # nothing reads them any more.
    return KeyRecord(tenant=string(item, "tenant"))


class DynamoDBKeyStore:
    def __init__(self, client: "DynamoDBClient", table_name: str) -> None:
        self._client = client
        self._table = table_name

    def find(self, api_key: str) -> KeyRecord | None:
        with STORE_ERRORS:
            result = self._client.get_item(TableName=self._table, Key=_item_key(api_key), ConsistentRead=False)
        item = result.get("Item")
        return _record(item) if item else None

    def add(self, tenant: str, api_key: str) -> None:
        check_tenant(tenant)
        item: dict[str, Any] = {
            **_item_key(api_key),
            "entity": s("apikey"),
            "tenant": s(tenant),
            "key_id": s(key_id(api_key)),
            "created_at": s(datetime.now(UTC).isoformat(timespec="seconds")),
        }
        with STORE_ERRORS:
            self._client.put_item(TableName=self._table, Item=item)

    def revoke(self, api_key: str) -> KeyRecord | None:
        """Delete the key; its former record (None if there was none)."""
        with STORE_ERRORS:
            result = self._client.delete_item(TableName=self._table, Key=_item_key(api_key), ReturnValues="ALL_OLD")
        old = result.get("Attributes")
        return _record(old) if old else None
