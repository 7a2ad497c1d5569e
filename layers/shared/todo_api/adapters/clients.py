"""boto3 clients and their one botocore configuration; `todo_api.wiring` caches them per container.

Endpoints come from boto3's standard `AWS_ENDPOINT_URL_*` variables, so the same code runs
on AWS, on DynamoDB Local and on moto.
"""

from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# Retry semantics, stated once: `total_max_attempts` counts every attempt, the first included,
# so a call is tried at most 3 times (standard mode backs off on throttling, 5xx and connection
# errors) before the error reaches an adapter. A request waits at most 2 s to connect and 3 s
# for each answer.
MAX_ATTEMPTS = 3
CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
    connect_timeout=2,
    read_timeout=3,
)


def dynamodb_client(credentials: dict[str, str] | None = None) -> "DynamoDBClient":
    """The function role's client, or one on the given credentials (`aws_access_key_id`, ...)."""
    if credentials is None:
        return boto3.client("dynamodb", config=CONFIG)
    return boto3.client(
        "dynamodb",
        config=CONFIG,
        aws_access_key_id=credentials["aws_access_key_id"],
        aws_secret_access_key=credentials["aws_secret_access_key"],
        aws_session_token=credentials["aws_session_token"],
    )


def sts_client() -> Any:  # no mypy_boto3_sts stubs in the lock file
    return boto3.client("sts", config=CONFIG)


def events_client() -> Any:  # no mypy_boto3_events stubs in the lock file
    return boto3.client("events", config=CONFIG)
