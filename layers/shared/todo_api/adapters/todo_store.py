"""The todo store on DynamoDB (the domain's `TodoStore`).

Every operation is one call: conditional writes report the item they failed on
(`ReturnValuesOnConditionCheckFailure`), so 404 and 412 need no extra read.
"""

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from todo_api.adapters.dynamodb import (
    BY_COMPLETED_INDEX,
    STORE_ERRORS,
    Item,
    completed_sk,
    failure_item,
    from_item,
    is_condition_failure,
    n,
    s,
    tenant_pk,
    to_item,
    todo_key,
    todo_sk,
)
from todo_api.domain.errors import TodoNotFound, VersionConflict
from todo_api.domain.models import Todo

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def _condition_error(error: ClientError) -> Exception:
    if not is_condition_failure(error):
        return error
    return VersionConflict() if failure_item(error) else TodoNotFound()


class DynamoDBTodoStore:
    def __init__(self, client: "DynamoDBClient", table_name: str) -> None:
        self._client = client
        self._table = table_name

    def create(self, tenant: str, todo: Todo) -> Todo:
        item = to_item(tenant, todo)
        try:
            with STORE_ERRORS:
                self._client.put_item(
                    TableName=self._table,
                    Item=item,
                    ConditionExpression="attribute_not_exists(PK)",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
        except ClientError as error:
            # A retried request whose first attempt landed meets its own item: that is success.
            if is_condition_failure(error) and failure_item(error) == item:
                return todo
            raise
        return todo

    def get(self, tenant: str, todo_id: str) -> Todo:
        with STORE_ERRORS:
            result = self._client.get_item(TableName=self._table, Key=todo_key(tenant, todo_id), ConsistentRead=True)
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
        values: Item = {":one": n(1), ":u": s(updated_at)}
        sets = ["#u = :u", "#v = #v + :one"]
        if "title" in changes:
            names["#t"] = "title"
            values[":t"] = s(changes["title"])
            sets.append("#t = :t")
        if "completed" in changes:
            names["#c"] = "completed"
            values[":c"] = {"BOOL": changes["completed"]}
            values[":lsi"] = s(completed_sk(changes["completed"], todo_id))
            sets += ["#c = :c", "LSI1SK = :lsi"]
        condition = "attribute_exists(PK)"
        if expected_version is not None:
            condition += " AND #v = :expected"
            values[":expected"] = n(expected_version)
        try:
            with STORE_ERRORS:
                result = self._client.update_item(
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
            raise _condition_error(error) from error
        return from_item(result["Attributes"])

    def delete(self, tenant: str, todo_id: str, expected_version: int | None) -> None:
        condition: dict[str, Any] = {"ConditionExpression": "attribute_exists(PK)"}
        if expected_version is not None:
            condition = {
                "ConditionExpression": "attribute_exists(PK) AND #v = :expected",
                "ExpressionAttributeNames": {"#v": "version"},
                "ExpressionAttributeValues": {":expected": n(expected_version)},
            }
        try:
            with STORE_ERRORS:
                self._client.delete_item(
                    TableName=self._table,
                    Key=todo_key(tenant, todo_id),
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                    **condition,
                )
        except ClientError as error:
            raise _condition_error(error) from error

    def list(
        self, tenant: str, limit: int, after_id: str | None, completed: bool | None
    ) -> tuple[list[Todo], str | None]:
        """One Query, oldest first; returns the page and the id to continue after, if any."""
        pk = s(tenant_pk(tenant))
        start: dict[str, Any] = {}
        if completed is None:
            query: dict[str, Any] = {
                "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
                "ExpressionAttributeValues": {":pk": pk, ":prefix": s("TODO#")},
            }
            if after_id:
                start = {"ExclusiveStartKey": {"PK": pk, "SK": s(todo_sk(after_id))}}
        else:
            query = {
                "IndexName": BY_COMPLETED_INDEX,
                "KeyConditionExpression": "PK = :pk AND begins_with(LSI1SK, :prefix)",
                "ExpressionAttributeValues": {":pk": pk, ":prefix": s(f"C#{int(completed)}#")},
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
            result = self._client.query(TableName=self._table, Limit=limit, ConsistentRead=True, **query, **start)
        todos = [from_item(item) for item in result.get("Items", [])]
        last = result.get("LastEvaluatedKey")
        return todos, (str(last["SK"]["S"]).removeprefix("TODO#") if last else None)
