"""The todo store on DynamoDB (the domain's `TodoStore`).

Every operation is one call: conditional writes report the item they failed on
(`ReturnValuesOnConditionCheckFailure`), so 404 and 412 need no extra read.

A todo's `updated_at` never goes backward, so that its changes sort in version order (the activity
feed's event ids begin with it): an update whose time is earlier than the stored one (its writer
took the time before another writer's update committed, or its clock is behind) fails its
condition and is made again at the stored time, or the writer's clock now if later (equal times
sort by version); only that case costs a second call.

botocore retries a call whose answer was lost (a timeout, a reset), so every write recognises its
own earlier attempt: a create meets its identical item, an update its request token (the item's
`request` attribute, new per call), and the transactions carry botocore's `ClientRequestToken`.

A delete is one transaction too: the todo goes, and a tombstone (`DELETED#<id>`, with the time of
the delete and the call's token, expiring by TTL after two days) records when, to the millisecond, for the activity
feed: the stream's own record time has second precision.

A create with an `Idempotency-Key` is one transaction of two puts: the todo, and the key's claim
in the idempotency table (`<tenant>#<sha256 of key>`, the body's fingerprint, the todo as first
answered, an `expiration` for the table's TTL). Both land or neither does, so a retry after any
crash or lost answer either finds the claim (and answers its todo) or finds nothing and creates.

Every create and delete also counts the tenant's stored todos, in the same transaction, on one
item (`COUNTER#todos`): a create adds one under the condition that the count is below the cap
(`TodoCapReached` otherwise, and nothing is written), a delete takes one off. So the cap holds
whatever runs at the same time, still in one call. Two transactions of one tenant that meet on
the counter at the same moment cancel one of them (TransactionConflict); that one is tried again
a few times before it is "busy" (503). botocore gives each call its own ClientRequestToken, so a
retry of a call whose answer was lost does not count twice. Todos stored before the counter
existed are not in its count (a backfill sets it; docs/capacity.md).
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from todo_api.adapters.dynamodb import (
    BY_COMPLETED_INDEX,
    STORAGE_FULL_REASON,
    STORE_ERRORS,
    TODO_SK_PREFIX,
    Item,
    claim_id_of,
    completed_prefix,
    completed_sk,
    counter_key,
    failure_item,
    from_item,
    is_condition_failure,
    n,
    s,
    string,
    tenant_pk,
    to_item,
    todo_key,
    todo_sk,
    tombstone_sk,
)
from todo_api.domain.clock import now
from todo_api.domain.errors import (
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    StoreUnavailable,
    TenantStorageFull,
    TodoCapReached,
    TodoNotFound,
    VersionConflict,
)
from todo_api.domain.keys import key_hash
from todo_api.domain.models import Todo
from todo_api.domain.ports import Versions

if TYPE_CHECKING:
    from collections.abc import Sequence

    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import DeleteTypeDef, TransactWriteItemTypeDef


def _version_in(expected: frozenset[int], values: Item) -> str:
    """`#v IN (...)` over the expected versions, adding them to `values`; no version is 0, so an
    empty set becomes a condition that never holds."""
    names = []
    for index, version in enumerate(sorted(expected) or [0]):
        values[f":e{index}"] = n(version)
        names.append(f":e{index}")
    return f"#v IN ({', '.join(names)})"


def _cancellation(error: ClientError) -> tuple[list[dict[str, Any]], list[str]] | None:
    """The reasons of a cancelled transaction, one per item, and their codes; None for other errors."""
    if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return None
    reasons: list[dict[str, Any]] = error.response.get("CancellationReasons", [])  # type: ignore[assignment]
    return reasons, [str(reason.get("Code")) for reason in reasons]


def _cancelled(error: ClientError, token: str) -> Exception | None:
    """The domain error of a cancelled delete transaction (the todo, then its tombstone), or None
    when the tombstone already holds this call's token: botocore's retry of a delete that landed."""
    if (cancelled := _cancellation(error)) is None:
        return error
    reasons, codes = cancelled
    own_retry = len(reasons) >= 2 and (reasons[1].get("Item") or {}).get("request") == s(token)
    if own_retry and codes[1] == "ConditionalCheckFailed":
        return None
    if STORAGE_FULL_REASON in codes:
        return TenantStorageFull()
    if _BUSY_REASONS.intersection(codes) or "TransactionConflict" in codes:
        return StoreUnavailable()  # throttled, or a concurrent write of the same todo: retry
    if codes and codes[0] == "ConditionalCheckFailed":
        return VersionConflict() if reasons[0].get("Item") else TodoNotFound()
    return error


def _condition_error(error: ClientError) -> Exception:
    if not is_condition_failure(error):
        return error
    return VersionConflict() if failure_item(error) else TodoNotFound()


TOMBSTONE_SECONDS = 2 * 86400  # longer than the stream keeps a record (24 hours)


# Updates made again at the stored time before giving up (StoreUnavailable, retryable): each one
# means another writer committed in between, so this bounds only a pathological contention.
CLOCK_ATTEMPTS = 32


def _stored_time(current: Item | None, expected: Versions, updated_at: str) -> str | None:
    """The stored `updated_at` when it, not a version or a missing todo, failed the update's condition."""
    if current is None or "updated_at" not in current:
        return None
    if expected is not None and int(current["version"]["N"]) not in expected:
        return None
    stored = string(current, "updated_at")
    return stored if stored > updated_at else None


# Cancellation reasons of a transaction that mean "busy, retry later" (botocore does not retry them).
_BUSY_REASONS = {"ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"}
COUNTER_ATTEMPTS = 5  # tries of a transaction that met another one on the tenant's counter alone


def _counter_conflict(error: ClientError) -> bool:
    """A cancelled transaction whose only trouble is its last item, the counter, in another transaction."""
    if (cancelled := _cancellation(error)) is None:
        return False
    codes = cancelled[1]
    return bool(codes) and codes[-1] == "TransactionConflict" and all(code == "None" for code in codes[:-1])


def _cap_reached(error: ClientError) -> bool:
    """A cancelled create whose counter (its last item) was at the cap."""
    cancelled = _cancellation(error)
    return cancelled is not None and bool(cancelled[1]) and cancelled[1][-1] == "ConditionalCheckFailed"


class DynamoDBTodoStore:
    def __init__(
        self,
        client: DynamoDBClient | None,
        table_name: str,
        idempotency_table: str | None = None,
        idempotency_ttl_seconds: int = 86400,
        clock: Callable[[], str] = now,
        *,
        todo_cap: int | None = None,
        tenant_clients: Callable[[str], DynamoDBClient] | None = None,
    ) -> None:
        """`tenant_clients`, when given, gives each call the client of its tenant (credentials scoped
        to that tenant: `todo_api.adapters.tenant_credentials`); else every call uses `client`."""
        self._client = client
        self._clock = clock  # the time of an update made again (see `update`)
        self._tenant_clients = tenant_clients
        self._table = table_name
        self._claims = idempotency_table
        self._claim_ttl = idempotency_ttl_seconds
        self._cap = todo_cap

    def _count(self, tenant: str, step: int) -> TransactWriteItemTypeDef:
        """The transaction's item that counts the tenant's todos: +1 under the cap, or -1."""
        update: dict[str, Any] = {
            "TableName": self._table,
            "Key": counter_key(tenant),
            "UpdateExpression": "SET #e = :e, #t = :t ADD #n :step",
            "ExpressionAttributeNames": {"#e": "entity", "#t": "tenant", "#n": "todos"},
            "ExpressionAttributeValues": {":e": s("counter"), ":t": s(tenant), ":step": n(step)},
        }
        if step > 0 and self._cap is not None:
            update["ConditionExpression"] = "attribute_not_exists(#n) OR #n < :cap"
            update["ExpressionAttributeValues"][":cap"] = n(self._cap)
        return {"Update": update}  # type: ignore[typeddict-item]

    def _transact(self, tenant: str, items: Sequence[TransactWriteItemTypeDef]) -> None:
        """One TransactWriteItems; tried again (a new call, a new token) while it meets another
        transaction on the counter alone."""
        for attempt in range(1, COUNTER_ATTEMPTS + 1):
            try:
                with STORE_ERRORS:
                    self._for(tenant).transact_write_items(TransactItems=list(items))
                return
            except ClientError as error:
                if attempt == COUNTER_ATTEMPTS or not _counter_conflict(error):
                    raise
                time.sleep(random.uniform(0.005, 0.02) * attempt)  # noqa: S311  # jitter, not a secret

    def _for(self, tenant: str) -> DynamoDBClient:
        if self._tenant_clients is not None:
            return self._tenant_clients(tenant)
        if self._client is None:
            raise RuntimeError("a todo store needs a client or tenant clients")
        return self._client

    def create(self, tenant: str, todo: Todo) -> Todo:
        item = to_item(tenant, todo)
        put: TransactWriteItemTypeDef = {
            "Put": {
                "TableName": self._table,
                "Item": item,
                "ConditionExpression": "attribute_not_exists(PK)",
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }
        try:
            self._transact(tenant, [put, self._count(tenant, +1)])
        except ClientError as error:
            # A retried request whose first attempt landed meets its own todo (a new id every create):
            # that is success, and its count was taken once, by that first attempt.
            cancelled = _cancellation(error)
            own = cancelled is not None and cancelled[1][:1] == ["ConditionalCheckFailed"]
            if own and cancelled is not None and cancelled[0][0].get("Item") == item:
                return todo
            if _cap_reached(error):
                raise TodoCapReached(int(self._cap or 0)) from error
            if cancelled is not None and STORAGE_FULL_REASON in cancelled[1]:
                raise TenantStorageFull() from error
            if cancelled is not None and (
                _BUSY_REASONS.intersection(cancelled[1]) or "TransactionConflict" in cancelled[1]
            ):
                raise StoreUnavailable() from error
            raise
        return todo

    def create_once(self, tenant: str, todo: Todo, key: str, fingerprint: str) -> Todo:
        if self._claims is None:
            raise RuntimeError("IDEMPOTENCY_TABLE_NAME is not set")
        now = int(time.time())
        claim_id = claim_id_of(tenant, key_hash(key))
        claim: Item = {
            "id": s(claim_id),
            "tenant": s(tenant),
            "todo_id": s(todo.id),
            "fingerprint": s(fingerprint),
            "response": s(todo.model_dump_json()),
            "expiration": n(now + self._claim_ttl),
        }
        try:
            self._transact(
                tenant,
                [
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": to_item(tenant, todo),
                            "ConditionExpression": "attribute_not_exists(PK)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._claims,
                            "Item": claim,
                            # An expired claim that TTL has not deleted yet counts as none.
                            "ConditionExpression": "attribute_not_exists(id) OR expiration < :now",
                            "ExpressionAttributeValues": {":now": n(now)},
                            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                        }
                    },
                    self._count(tenant, +1),
                ],
            )
        except ClientError as error:
            return self._earlier_claim(error, tenant, claim_id, fingerprint)
        return todo

    def _earlier_claim(self, error: ClientError, tenant: str, claim_id: str, fingerprint: str) -> Todo:
        """The todo of the key's earlier claim, from a cancelled transaction; or the right error."""
        if (cancelled := _cancellation(error)) is None:
            raise error
        reasons, codes = cancelled
        if STORAGE_FULL_REASON in codes:
            raise TenantStorageFull() from error
        if _BUSY_REASONS.intersection(codes):
            raise StoreUnavailable() from error
        if len(codes) == 3 and codes[1] == "TransactionConflict":
            raise IdempotencyKeyInUse() from error  # another request is writing the same claim now
        if "TransactionConflict" in codes:
            raise StoreUnavailable() from error  # the counter, busy with the tenant's other writes
        if len(codes) == 3 and codes[1] == "None" and codes[2] == "ConditionalCheckFailed":
            raise TodoCapReached(int(self._cap or 0)) from error
        if len(codes) != 3 or codes[1] != "ConditionalCheckFailed":
            raise error
        earlier = reasons[1].get("Item") or self._claim(tenant, claim_id)
        if earlier is None:
            raise IdempotencyKeyInUse() from error  # the claim expired and vanished meanwhile: retry
        if string(earlier, "fingerprint") != fingerprint:
            raise IdempotencyKeyReused() from error
        return Todo.model_validate_json(string(earlier, "response"))

    def _claim(self, tenant: str, claim_id: str) -> Item | None:
        with STORE_ERRORS:
            result = self._for(tenant).get_item(
                TableName=str(self._claims), Key={"id": s(claim_id)}, ConsistentRead=True
            )
        return result.get("Item")

    def get(self, tenant: str, todo_id: str) -> Todo:
        with STORE_ERRORS:
            result = self._for(tenant).get_item(
                TableName=self._table, Key=todo_key(tenant, todo_id), ConsistentRead=True
            )
        if "Item" not in result:
            raise TodoNotFound()
        return from_item(result["Item"])

    def update(
        self,
        tenant: str,
        todo_id: str,
        changes: dict[str, Any],
        updated_at: str,
        expected: Versions,
    ) -> Todo:
        token = uuid.uuid4().hex  # the same in botocore's retries of this call, new for the next call
        names = {"#v": "version", "#u": "updated_at", "#r": "request"}
        values: Item = {":one": n(1), ":u": s(updated_at), ":r": s(token)}
        sets = ["#u = :u", "#v = #v + :one", "#r = :r"]
        if "title" in changes:
            names["#t"] = "title"
            values[":t"] = s(changes["title"])
            sets.append("#t = :t")
        if "completed" in changes:
            names["#c"] = "completed"
            values[":c"] = {"BOOL": changes["completed"]}
            values[":lsi"] = s(completed_sk(changes["completed"], todo_id))
            sets += ["#c = :c", "LSI1SK = :lsi"]
        # Not our own earlier attempt (a retry whose first attempt landed already holds our token),
        # and never back in time (fixed-width RFC 3339 UTC strings compare as their times do).
        condition = "attribute_exists(PK) AND (attribute_not_exists(#r) OR #r <> :r) AND #u <= :u"
        if expected is not None:
            condition += " AND " + _version_in(expected, values)
        for _ in range(CLOCK_ATTEMPTS):
            values[":u"] = s(updated_at)
            try:
                with STORE_ERRORS:
                    result = self._for(tenant).update_item(
                        TableName=self._table,
                        Key=todo_key(tenant, todo_id),
                        UpdateExpression="SET " + ", ".join(sets),
                        ConditionExpression=condition,
                        ExpressionAttributeNames=names,
                        ExpressionAttributeValues=values,
                        ReturnValues="ALL_NEW",
                        ReturnValuesOnConditionCheckFailure="ALL_OLD",
                    )
            except ClientError as error:
                current = failure_item(error) if is_condition_failure(error) else None
                if current is not None and current.get("request") == s(token):
                    return from_item(current)  # botocore's retry met the update its first attempt made
                later = _stored_time(current, expected, updated_at)
                if later is None:
                    raise _condition_error(error) from error
                # Overtaken by a later-stamped change: take its time, or this writer's clock now if that
                # is later still (what committed meanwhile took its time before now), so that under
                # contention the next attempt is not overtaken again by changes already in flight.
                updated_at = max(later, self._clock())
                continue
            return from_item(result["Attributes"])
        raise StoreUnavailable()

    def delete(self, tenant: str, todo_id: str, expected: Versions, deleted_at: str) -> None:
        delete: DeleteTypeDef = {
            "TableName": self._table,
            "Key": todo_key(tenant, todo_id),
            "ConditionExpression": "attribute_exists(PK)",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        if expected is not None:
            values: Item = {}
            delete["ConditionExpression"] = "attribute_exists(PK) AND " + _version_in(expected, values)
            delete["ExpressionAttributeNames"] = {"#v": "version"}
            delete["ExpressionAttributeValues"] = values
        token = uuid.uuid4().hex
        tombstone = {
            "request": s(token),
            "PK": s(tenant_pk(tenant)),
            "SK": s(tombstone_sk(todo_id)),
            "entity": s("tombstone"),
            "deleted_at": s(deleted_at),
            "expires_at": n(int(time.time()) + TOMBSTONE_SECONDS),
        }
        try:
            self._transact(
                tenant,
                [
                    {"Delete": delete},
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": tombstone,
                            # Fails only for a retry of this very call, whose first attempt landed.
                            "ConditionExpression": "attribute_not_exists(PK) OR #r <> :r",
                            "ExpressionAttributeNames": {"#r": "request"},
                            "ExpressionAttributeValues": {":r": s(token)},
                            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                        }
                    },
                    self._count(tenant, -1),
                ],
            )
        except ClientError as error:
            if (problem := _cancelled(error, token)) is not None:
                raise problem from error

    def deleted_at(self, tenant: str, todo_id: str) -> str | None:
        """When the todo was last deleted, from its tombstone (None when there is none)."""
        with STORE_ERRORS:
            result = self._for(tenant).get_item(
                TableName=self._table,
                Key={"PK": s(tenant_pk(tenant)), "SK": s(tombstone_sk(todo_id))},
                ConsistentRead=True,
            )
        item = result.get("Item")
        return string(item, "deleted_at") if item else None

    def list(
        self, tenant: str, limit: int, after_id: str | None, completed: bool | None
    ) -> tuple[list[Todo], str | None]:
        """One Query, oldest first; returns the page and the id to continue after, if any.

        It asks for one item more than the page holds: that item is read but never returned, and
        tells whether another page follows, so the last page has no cursor (DynamoDB's own
        `LastEvaluatedKey` is set whenever the limit is reached, even when nothing follows).
        """
        pk = s(tenant_pk(tenant))
        start: dict[str, Any] = {}
        if completed is None:
            query: dict[str, Any] = {
                "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
                "ExpressionAttributeValues": {":pk": pk, ":prefix": s(TODO_SK_PREFIX)},
            }
            if after_id:
                start = {"ExclusiveStartKey": {"PK": pk, "SK": s(todo_sk(after_id))}}
        else:
            query = {
                "IndexName": BY_COMPLETED_INDEX,
                "KeyConditionExpression": "PK = :pk AND begins_with(LSI1SK, :prefix)",
                "ExpressionAttributeValues": {":pk": pk, ":prefix": s(completed_prefix(completed))},
            }
            if after_id:
                start = {
                    "ExclusiveStartKey": {
                        "PK": pk,
                        "SK": s(todo_sk(after_id)),
                        "LSI1SK": s(completed_sk(completed, after_id)),
                    }
                }
        with STORE_ERRORS:
            result = self._for(tenant).query(
                TableName=self._table, Limit=limit + 1, ConsistentRead=True, **query, **start
            )
        todos = [from_item(item) for item in result.get("Items", [])[:limit]]
        return todos, (todos[-1].id if len(result.get("Items", [])) > limit else None)
