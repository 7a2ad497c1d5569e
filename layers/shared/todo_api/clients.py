"""boto3 clients, created on first use and reused across invocations.

Endpoints come from boto3's standard `AWS_ENDPOINT_URL_*` variables, so the same code runs
on AWS, on DynamoDB Local and on moto.
"""

from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# Standard retry mode backs off on throttling and 5xx before the error reaches the domain.
BOTO_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 3},
    connect_timeout=2,
    read_timeout=3,
)


@cache
def dynamodb() -> "DynamoDBClient":
    return boto3.client("dynamodb", config=BOTO_CONFIG)


@cache
def events() -> Any:  # no mypy_boto3_events stubs in the lock file
    return boto3.client("events", config=BOTO_CONFIG)
