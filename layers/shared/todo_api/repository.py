"""The DynamoDB adapter: the only module that speaks DynamoDB.

Single-table design, partitioned by tenant:

| item | PK | SK | LSI1SK (index ByCompleted) |
|---|---|---|---|
| todo | `TENANT#<tenant>` | `TODO#<id>` | `C#<0 or 1>#<id>` |
| API key | `APIKEY#<sha256 of key>` | `APIKEY` | |

Every operation is one call: conditional writes report the item they failed on
(`ReturnValuesOnConditionCheckFailure`), so 404 and 412 need no extra read.
"""

from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from todo_api.errors import StoreUnavailable, TodoNotFound, VersionConflict
from todo_api.models import Todo

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

Item = dict[str, Any]

BY_COMPLETED_INDEX = "ByCompleted"
_UNAVAILABLE = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "LimitExceededException",
}


def tenant_pk(tenant: str) -> str:
    return f"TENANT#{tenant}"


def todo_sk(todo_id: str) -> str:
    return f"TODO#{todo_id}"


def completed_sk(completed: bool, todo_id: str) -> str:
    return f"C#{int(completed)}#{todo_id}"


def to_item(tenant: str, todo: Todo) -> Item:
    return {
        "PK": {"S": tenant_pk(tenant)},
        "SK": {"S": todo_sk(todo.id)},
        "LSI1SK": {"S": completed_sk(todo.completed, todo.id)},
        "entity": {"S": "todo"},
        "tenant": {"S": tenant},
        "id": {"S": todo.id},
        "title": {"S": todo.title},
        "completed": {"BOOL": todo.completed},
        "created_at": {"S": todo.created_at},
        "updated_at": {"S": todo.updated_at},
        "version": {"N": str(todo.version)},
    }


def from_item(item: Item) -> Todo:
    return Todo.model_construct(
        id=item["id"]["S"],
        title=item["title"]["S"],
        completed=item["completed"]["BOOL"],
        created_at=item["created_at"]["S"],
        updated_at=item["updated_at"]["S"],
        version=int(item["version"]["N"]),
    )


def _failure_item(error: ClientError) -> Item | None:
    item: Item | None = error.response.get("Item")  # type: ignore[assignment]
    return item or None


def _is_condition_failure(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def _unavailable(error: Exception) -> StoreUnavailable | None:
    if isinstance(error, BotoCoreError):
        return StoreUnavailable()
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code in _UNAVAILABLE or status >= 500:
            return StoreUnavailable()
    return None


class Table:
    """One DynamoDB table; throttling and outages (after botocore's retries) become StoreUnavailable."""

    def __init__(self, client: "DynamoDBClient", name: str) -> None:
        self._client = client
        self.name = name

    def call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        try:
            result: dict[str, Any] = getattr(self._client, operation)(TableName=self.name, **kwargs)
        except (ClientError, BotoCoreError) as error:
            if (mapped := _unavailable(error)) is not None:
                raise mapped from error
            raise
        return result


class TodoRepository:
    def __init__(self, table: Table) -> None:
        self.call = table.call

    def create(self, tenant: str, todo: Todo) -> Todo:
        item = to_item(tenant, todo)
        try:
            self.call(
                "put_item",
                Item=item,
                ConditionExpression="attribute_not_exists(PK)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            # A retried request whose first attempt landed meets its own item: that is success.
            if _is_condition_failure(error) and _failure_item(error) == item:
                return todo
            raise
        return todo

    def get(self, tenant: str, todo_id: str) -> Todo:
        result = self.call(
            "get_item",
            Key={"PK": {"S": tenant_pk(tenant)}, "SK": {"S": todo_sk(todo_id)}},
            ConsistentRead=True,
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
        expected_version: int | None,
    ) -> Todo:
        names = {"#v": "version", "#u": "updated_at"}
        values: Item = {":one": {"N": "1"}, ":u": {"S": updated_at}}
        sets = ["#u = :u", "#v = #v + :one"]
        if "title" in changes:
            names["#t"] = "title"
            values[":t"] = {"S": changes["title"]}
            sets.append("#t = :t")
        if "completed" in changes:
            names["#c"] = "completed"
            values[":c"] = {"BOOL": changes["completed"]}
            values[":lsi"] = {"S": completed_sk(changes["completed"], todo_id)}
            sets += ["#c = :c", "LSI1SK = :lsi"]
        condition = "attribute_exists(PK)"
        if expected_version is not None:
            condition += " AND #v = :expected"
            values[":expected"] = {"N": str(expected_version)}
        try:
            result = self.call(
                "update_item",
                Key={"PK": {"S": tenant_pk(tenant)}, "SK": {"S": todo_sk(todo_id)}},
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            raise self._condition_error(error) from error
        return from_item(result["Attributes"])

    def delete(self, tenant: str, todo_id: str, expected_version: int | None) -> None:
        kwargs: dict[str, Any] = {"ConditionExpression": "attribute_exists(PK)"}
        if expected_version is not None:
            kwargs["ConditionExpression"] += " AND #v = :expected"
            kwargs["ExpressionAttributeNames"] = {"#v": "version"}
            kwargs["ExpressionAttributeValues"] = {":expected": {"N": str(expected_version)}}
        try:
            self.call(
                "delete_item",
                Key={"PK": {"S": tenant_pk(tenant)}, "SK": {"S": todo_sk(todo_id)}},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
                **kwargs,
            )
        except ClientError as error:
            raise self._condition_error(error) from error

    @staticmethod
    def _condition_error(error: ClientError) -> Exception:
        if not _is_condition_failure(error):
            return error
        return VersionConflict() if _failure_item(error) else TodoNotFound()

    def list(
        self, tenant: str, limit: int, after_id: str | None, completed: bool | None
    ) -> tuple[list[Todo], str | None]:
        """One Query, oldest first; returns the page and the id to continue after, if any."""
        pk = {"S": tenant_pk(tenant)}
        kwargs: dict[str, Any] = {"Limit": limit, "ConsistentRead": True}
        if completed is None:
            kwargs["KeyConditionExpression"] = "PK = :pk AND begins_with(SK, :prefix)"
            kwargs["ExpressionAttributeValues"] = {":pk": pk, ":prefix": {"S": "TODO#"}}
            if after_id:
                kwargs["ExclusiveStartKey"] = {"PK": pk, "SK": {"S": todo_sk(after_id)}}
        else:
            kwargs["IndexName"] = BY_COMPLETED_INDEX
            kwargs["KeyConditionExpression"] = "PK = :pk AND begins_with(LSI1SK, :prefix)"
            kwargs["ExpressionAttributeValues"] = {":pk": pk, ":prefix": {"S": f"C#{int(completed)}#"}}
            if after_id:
                kwargs["ExclusiveStartKey"] = {
                    "PK": pk,
                    "SK": {"S": todo_sk(after_id)},
                    "LSI1SK": {"S": completed_sk(completed, after_id)},
                }
        result = self.call("query", **kwargs)
        todos = [from_item(item) for item in result.get("Items", [])]
        last = result.get("LastEvaluatedKey")
        return todos, (last["SK"]["S"].removeprefix("TODO#") if last else None)
