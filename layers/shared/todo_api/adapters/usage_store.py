"""The callers' usage on DynamoDB (the domain's `UsageStore`), in a table of its own.

One item per subject (`tenant#<tenant>`, `user#<sub>`): `id`, `tat` (the token bucket's
theoretical arrival time, epoch milliseconds), `day` (days since the epoch, UTC) and `used` (the
requests counted on that day), and `expires_at` for the table's TTL, two days after the day it
counts: an idle caller's item goes away by itself, and no item ever grows.

Spending is one UpdateItem whose condition is the domain's `Window`; a state outside it comes
back with the failed condition (`ReturnValuesOnConditionCheckFailure`), so the refusal needs no
extra read. A caller idle today is served by a second conditional UpdateItem (tat becomes now
plus one interval); a new day's state is written with a compare-and-set PutItem, and a new
caller's item is first made with zeros (an UpdateItem that keeps what is there), then compared and set.
"""

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from todo_api.adapters.dynamodb import STORE_ERRORS, Item, failure_item, is_condition_failure, n, s
from todo_api.domain.capacity import DAY_MS, Usage, Window

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_NAMES = {"#t": "tat", "#d": "day", "#u": "used", "#e": "expires_at"}
_KEEP_DAYS = 2


def _expires_at(day: int) -> dict[str, str]:
    return n((day + _KEEP_DAYS) * DAY_MS // 1000)


def _usage(item: Item | None) -> Usage | None:
    if not item:
        return None
    return Usage(tat_ms=int(item["tat"]["N"]), day=int(item["day"]["N"]), used=int(item["used"]["N"]))


class DynamoDBUsageStore:
    def __init__(self, client: "DynamoDBClient", table_name: str) -> None:
        self._client = client
        self._table = table_name

    def spend_within(self, subject: str, window: Window) -> tuple[bool, Usage | None]:
        spent, old = self._spend(
            subject,
            window,
            "SET #t = #t + :i, #u = #u + :one, #e = :e",
            "#t BETWEEN :lo AND :hi AND #d = :d AND #u < :q",
            {":i": n(window.interval_ms), ":hi": n(window.tat_ceiling)},
            old_on_failure=True,
        )
        return spent, _usage(old)

    def spend_idle(self, subject: str, window: Window) -> bool:
        spent, _ = self._spend(
            subject,
            window,
            "SET #t = :t, #u = #u + :one, #e = :e",
            "#t < :lo AND #d = :d AND #u < :q",
            {":t": n(window.tat_floor + window.interval_ms)},
        )
        return spent

    def _spend(
        self, subject: str, window: Window, update: str, condition: str, values: Item, old_on_failure: bool = False
    ) -> tuple[bool, Item | None]:
        """One conditional UpdateItem that counts a request of `window`'s day within its quota:
        whether it was written, else the item as it was (`old_on_failure`: none is read otherwise)."""
        try:
            with STORE_ERRORS:
                self._client.update_item(
                    TableName=self._table,
                    Key={"id": s(subject)},
                    UpdateExpression=update,
                    ConditionExpression=condition,
                    ExpressionAttributeNames=_NAMES,
                    ExpressionAttributeValues={
                        ":one": n(1),
                        ":e": _expires_at(window.day),
                        ":lo": n(window.tat_floor),
                        ":d": n(window.day),
                        ":q": n(window.quota),
                        **values,
                    },
                    ReturnValuesOnConditionCheckFailure="ALL_OLD" if old_on_failure else "NONE",
                )
        except ClientError as error:
            if not is_condition_failure(error):
                raise
            return False, failure_item(error)
        return True, None

    def replace(self, subject: str, expected: Usage | None, new: Usage) -> tuple[bool, Usage | None]:
        if expected is None:
            return False, self._seed(subject, new.day)
        item: Item = {
            "id": s(subject),
            "tat": n(new.tat_ms),
            "day": n(new.day),
            "used": n(new.used),
            "expires_at": _expires_at(new.day),
        }
        try:
            with STORE_ERRORS:
                self._client.put_item(
                    TableName=self._table,
                    Item=item,
                    ConditionExpression="#t = :t AND #d = :d AND #u = :u",
                    ExpressionAttributeNames={k: _NAMES[k] for k in ("#t", "#d", "#u")},
                    ExpressionAttributeValues={":t": n(expected.tat_ms), ":d": n(expected.day), ":u": n(expected.used)},
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
        except ClientError as error:
            if not is_condition_failure(error):
                raise
            return False, _usage(failure_item(error))
        return True, None

    def _seed(self, subject: str, day: int) -> Usage | None:
        """A new caller's item, all zeros (a state of no day, long idle), or the item another request
        made first: the state to compare-and-set. Seeding keeps what is there, so the first requests
        of a new caller, racing, all meet one item and only one compare-and-set wins each state."""
        zero = n(0)
        with STORE_ERRORS:
            result = self._client.update_item(
                TableName=self._table,
                Key={"id": s(subject)},
                UpdateExpression="SET #t = if_not_exists(#t, :z), #d = if_not_exists(#d, :z), "
                "#u = if_not_exists(#u, :z), #e = if_not_exists(#e, :e)",
                ExpressionAttributeNames=_NAMES,
                ExpressionAttributeValues={":z": zero, ":e": _expires_at(day)},
                ReturnValues="ALL_NEW",
            )
        return _usage(result.get("Attributes"))
