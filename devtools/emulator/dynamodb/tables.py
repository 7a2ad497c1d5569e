"""The template's `AWS::DynamoDB::Table` resources on DynamoDB Local.

`ensure_tables()` creates them from their own definitions in the template, under fixed local names
(`todo-local-<LogicalId>`); `running()` is DynamoDB Local started with them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from devtools.emulator.dynamodb.install import DynamoDBLocalError
from devtools.emulator.dynamodb.process import DEFAULT_DB_PATH, DynamoDBLocal, client
from devtools.emulator.template import TEMPLATE, local_table_name, read

# Table properties that only CloudFormation knows (DynamoDB Local has no use for them).
_CFN_ONLY = {
    "PointInTimeRecoverySpecification",
    "SSESpecification",
    "DeletionProtectionEnabled",
    "Tags",
    "ContributorInsightsSpecification",
    "KinesisStreamSpecification",
    "ResourcePolicy",
    "TableClass",
    "WarmThroughput",
    "OnDemandThroughput",
    "ImportSourceSpecification",
}
# Properties passed to CreateTable as they are written in the template.
_CREATE_TABLE = {
    "AttributeDefinitions",
    "KeySchema",
    "LocalSecondaryIndexes",
    "GlobalSecondaryIndexes",
    "BillingMode",
    "ProvisionedThroughput",
}


def table_definitions(template_path: Path | str = TEMPLATE) -> dict[str, dict[str, Any]]:
    """The template's tables: logical id -> CloudFormation properties."""
    return read(template_path).table_definitions()


def table_names(template_path: Path | str = TEMPLATE) -> dict[str, str]:
    """Logical id -> local table name, for every table of the template."""
    return read(template_path).table_names()


def create_table_request(logical_id: str, properties: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """CreateTable arguments and the TimeToLiveSpecification (or None) from a table's properties."""
    unknown = (
        set(properties) - _CFN_ONLY - _CREATE_TABLE - {"StreamSpecification", "TimeToLiveSpecification", "TableName"}
    )
    if unknown:
        raise DynamoDBLocalError(f"{logical_id}: no local equivalent for table properties {sorted(unknown)}")
    request: dict[str, Any] = {key: properties[key] for key in _CREATE_TABLE if key in properties}
    request["TableName"] = local_table_name(logical_id)
    request.setdefault("BillingMode", "PROVISIONED" if "ProvisionedThroughput" in properties else "PAY_PER_REQUEST")
    stream = properties.get("StreamSpecification")
    if stream:
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    _check_resolved(logical_id, request)
    return request, properties.get("TimeToLiveSpecification")


def _check_resolved(logical_id: str, value: Any) -> None:
    """Fail loudly on an intrinsic function (Ref, Fn::*) where a literal value is needed."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "Ref" or key.startswith("Fn::"):
                raise DynamoDBLocalError(f"{logical_id}: intrinsic {key} in a table property is not supported locally")
            _check_resolved(logical_id, item)
    elif isinstance(value, list):
        for item in value:
            _check_resolved(logical_id, item)


def ensure_tables(endpoint: str, template_path: Path | str = TEMPLATE) -> dict[str, str]:
    """Create the template's tables on `endpoint` if missing; return logical id -> local table name."""
    ddb = client(endpoint)
    existing: set[str] = set()
    for page in ddb.get_paginator("list_tables").paginate():
        existing.update(page["TableNames"])
    names = {}
    for logical_id, properties in table_definitions(template_path).items():
        request, ttl = create_table_request(logical_id, properties)
        name = request["TableName"]
        names[logical_id] = name
        if name in existing:
            continue
        try:
            ddb.create_table(**request)
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceInUseException":  # created concurrently
                raise
        ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 100})
        if ttl and ttl.get("Enabled"):
            ddb.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True}
            )
    return names


@contextlib.contextmanager
def running(db_path: Path | str = DEFAULT_DB_PATH, port: int | None = None) -> Iterator[DynamoDBLocal]:
    """DynamoDB Local, started with the template's tables, stopped on exit."""
    with DynamoDBLocal(db_path, port) as ddb:
        ensure_tables(ddb.endpoint)
        yield ddb
