"""DynamoDB's side of the domain: the one attribute-value codec, the keys, and error mapping.

Single-table design, partitioned by tenant:

| item | PK | SK | LSI1SK (index ByCompleted) |
|---|---|---|---|
| todo | `TENANT#<tenant>` | `TODO#<id>` | `C#<0 or 1>#<id>` |
| tombstone of a deleted todo | `TENANT#<tenant>` | `DELETED#<id>` | |
| tenant's todo count | `TENANT#<tenant>` | `COUNTER#todos` | |
| API key | `APIKEY#<sha256 of key>` | `APIKEY` | |
| activity event | `ACTIVITY#<tenant>` | `EVENT#<event id>` | |

and in the idempotency table, a claim's `id` is `<tenant>#<sha256 of key>`.

The functions below are the only place these prefixes are spelled (tests/unit/test_dynamodb_keys.py
fails on a prefix literal anywhere else among the adapters).
"""

from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from todo_api.domain.errors import StoreUnavailable, TenantStorageFull

if TYPE_CHECKING:
    from todo_api.domain.models import Todo

Item = dict[str, Any]

BY_COMPLETED_INDEX = "ByCompleted"
_UNAVAILABLE = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "Throttling",  # STS's code, for the per-tenant sessions (todo_api.adapters.tenant_credentials)
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "LimitExceededException",
    "TransactionInProgressException",  # botocore backs off on it as on throttling: busy, retry later
}


def tenant_pk(tenant: str) -> str:
    return f"TENANT#{tenant}"


def todo_sk(todo_id: str) -> str:
    return f"TODO#{todo_id}"


TODO_SK_PREFIX = todo_sk("")


def completed_sk(completed: bool, todo_id: str) -> str:
    return f"C#{int(completed)}#{todo_id}"


def completed_prefix(completed: bool) -> str:
    """The LSI1SK prefix of a tenant's todos that are (or are not) completed."""
    return completed_sk(completed, "")


def todo_key(tenant: str, todo_id: str) -> Item:
    return {"PK": {"S": tenant_pk(tenant)}, "SK": {"S": todo_sk(todo_id)}}


def is_todo_key(pk: str, sk: str) -> bool:
    """Whether an item's keys are a todo's (not a tombstone, a counter, a key or an event)."""
    return pk.startswith(tenant_pk("")) and sk.startswith(TODO_SK_PREFIX)


def tombstone_sk(todo_id: str) -> str:
    return f"DELETED#{todo_id}"


def counter_key(tenant: str) -> Item:
    """The item counting a tenant's stored todos (not a todo: its SK is outside `TODO#`)."""
    return {"PK": {"S": tenant_pk(tenant)}, "SK": {"S": "COUNTER#todos"}}


def api_key_key(hashed_key: str) -> Item:
    """The key of an API key's item, by the key's SHA-256 (`todo_api.domain.keys.key_hash`)."""
    return {"PK": {"S": f"APIKEY#{hashed_key}"}, "SK": {"S": "APIKEY"}}


def activity_pk(tenant: str) -> str:
    return f"ACTIVITY#{tenant}"


def event_sk(event_id: str) -> str:
    return f"EVENT#{event_id}"


EVENT_SK_PREFIX = event_sk("")


def event_id_of(sk: str) -> str:
    """The event id an activity item's SK holds."""
    return sk.removeprefix(EVENT_SK_PREFIX)


def claim_id_of(tenant: str, hashed_key: str) -> str:
    """An idempotency claim's id: the tenant's, for the key's SHA-256 (or a pattern standing for one)."""
    return f"{tenant}#{hashed_key}"


def s(value: str) -> dict[str, str]:
    return {"S": value}


def n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def to_item(tenant: str, todo: "Todo") -> Item:
    return {
        "PK": s(tenant_pk(tenant)),
        "SK": s(todo_sk(todo.id)),
        "LSI1SK": s(completed_sk(todo.completed, todo.id)),
        "entity": s("todo"),
        "tenant": s(tenant),
        "id": s(todo.id),
        "title": s(todo.title),
        "completed": {"BOOL": todo.completed},
        "created_at": s(todo.created_at),
        "updated_at": s(todo.updated_at),
        "version": n(todo.version),
    }


def from_item(item: Mapping[str, Any]) -> "Todo":
    """A stored todo, validated: pydantic's validator (compiled) costs a third of `model_construct`,
    which loops over the fields in Python, so checking what `to_item` wrote is also the cheaper way."""
    from todo_api.domain.models import Todo  # here: the key store (the authorizer) needs no models

    return Todo(
        id=item["id"]["S"],
        title=item["title"]["S"],
        completed=item["completed"]["BOOL"],
        created_at=item["created_at"]["S"],
        updated_at=item["updated_at"]["S"],
        version=int(item["version"]["N"]),
    )


def string(item: Mapping[str, Any], name: str) -> str:
    return str(item[name]["S"])


def is_condition_failure(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def failure_item(error: ClientError) -> Item | None:
    """The item a condition failed on (`ReturnValuesOnConditionCheckFailure=ALL_OLD`), if any."""
    item: Item | None = error.response.get("Item")  # type: ignore[assignment]
    return item or None


# The item collection (a partition key's items, with an LSI) is at its 10 GB: a write that would grow
# it fails with this error (a transaction with this cancellation reason), until items are deleted.
STORAGE_FULL = "ItemCollectionSizeLimitExceededException"
STORAGE_FULL_REASON = "ItemCollectionSizeLimitExceeded"


def _unavailable(error: BaseException) -> StoreUnavailable | TenantStorageFull | None:
    if isinstance(error, BotoCoreError):
        return StoreUnavailable()
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        if code == STORAGE_FULL:
            return TenantStorageFull()
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code in _UNAVAILABLE or status >= 500:
            return StoreUnavailable()
    return None


class _StoreErrors:
    """`with STORE_ERRORS:` around a call: throttling and outages (after botocore's retries, and
    any connection or timeout error) become StoreUnavailable, a full item collection
    TenantStorageFull; other errors pass unchanged."""

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if error is not None and (mapped := _unavailable(error)) is not None:
            raise mapped from error


STORE_ERRORS = _StoreErrors()
