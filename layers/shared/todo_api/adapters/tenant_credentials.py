"""DynamoDB clients whose credentials reach one tenant's items only (the API functions on AWS).

With TENANT_ROLE_ARN set (the template sets it; `make start` does not: DynamoDB Local checks no
IAM), a store asks `TenantClients.for_tenant(tenant)` for its client. The first request of a
tenant in a container assumes the role (one STS AssumeRole call) with a session policy that allows
only that tenant's leading keys; the session's effective permissions are the role's policy and the
session policy together, so a bug that builds another tenant's key, an API key's or a feed key of
another tenant is refused by DynamoDB itself (AccessDeniedException). The client is kept per tenant
until shortly before its credentials expire, for at most `max_tenants` tenants (least recently used
first out).

The session policy, in the shape the role's own policy has (see template.yaml, TenantDataRole):

- the todo table and its indexes: partition key `TENANT#<tenant>`, exactly (StringEquals: no
  wildcard, so tenant `acme` never reaches `acme2`); and a Query of the feed, `ACTIVITY#<tenant>`;
- the idempotency table: claim ids `<tenant>#<64 hex digits>` (StringLike with 64 `?`, one per
  character of the key's SHA-256, so tenant `user` never reaches `user#<sub>#...`).

A tenant holding `*`, `?` or `$` gets no session (ValueError): the first two are wildcards of
StringLike, and `${...}` is a policy variable.
"""

from __future__ import annotations

import json
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from todo_api.adapters.dynamodb import STORE_ERRORS, activity_pk, claim_id_of, tenant_pk

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# Actions of the API functions on the todo table (one session serves every API function).
TABLE_ACTIONS = [
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:Query",
]
CLAIM_ACTIONS = ["dynamodb:GetItem", "dynamodb:PutItem"]
_KEY_HASH_LENGTH = 64  # hex digits of a SHA-256 (todo_api.domain.keys.key_hash)
_UNSAFE = re.compile(r"[*?$]")
_SESSION_NAME = re.compile(r"[^\w+=,.@-]")


def _table_arn(name: str) -> str:
    return f"arn:*:dynamodb:*:*:table/{name}"


def session_policy(tenant: str, table_name: str, idempotency_table_name: str | None) -> dict[str, Any]:
    """The session policy of `tenant`'s credentials (see the module docstring)."""
    if _UNSAFE.search(tenant):
        raise ValueError("a tenant holding *, ? or $ cannot be named in a session policy")
    present = {"dynamodb:LeadingKeys": "false"}
    statements: list[dict[str, Any]] = [
        {
            "Effect": "Allow",
            "Action": TABLE_ACTIONS,
            "Resource": [_table_arn(table_name), _table_arn(table_name) + "/index/*"],
            "Condition": {
                "ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [tenant_pk(tenant)]},
                "Null": present,
            },
        },
        {
            "Effect": "Allow",
            "Action": "dynamodb:Query",
            "Resource": _table_arn(table_name),
            "Condition": {
                "ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [activity_pk(tenant)]},
                "Null": present,
            },
        },
    ]
    if idempotency_table_name:
        statements.append(
            {
                "Effect": "Allow",
                "Action": CLAIM_ACTIONS,
                "Resource": _table_arn(idempotency_table_name),
                "Condition": {
                    "ForAllValues:StringLike": {"dynamodb:LeadingKeys": [claim_id_of(tenant, "?" * _KEY_HASH_LENGTH)]},
                    "Null": present,
                },
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def session_name(tenant: str) -> str:
    """A RoleSessionName (CloudTrail shows it) naming the tenant: 2..64 of [\\w+=,.@-]."""
    return ("tenant-" + _SESSION_NAME.sub("-", tenant))[:64]


class TenantClients:
    """One DynamoDB client per tenant, on credentials of an STS session scoped to that tenant."""

    def __init__(
        self,
        sts: Callable[[], Any],
        make_client: Callable[[dict[str, str]], DynamoDBClient],
        role_arn: str,
        table_name: str,
        idempotency_table_name: str | None = None,
        *,
        duration_seconds: int = 3600,
        refresh_seconds: int = 300,
        max_tenants: int = 256,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._sts = sts  # called on the first miss: a container that never needs it builds no STS client
        self._sts_client: Any = None
        self._make_client = make_client
        self._role_arn = role_arn
        self._table = table_name
        self._claims = idempotency_table_name
        self._duration = duration_seconds
        self._refresh = refresh_seconds
        self._max = max_tenants
        self._clock = clock
        self._clients: OrderedDict[str, tuple[DynamoDBClient, float]] = OrderedDict()

    def for_tenant(self, tenant: str) -> DynamoDBClient:
        held = self._clients.get(tenant)
        if held is not None and self._clock() < held[1] - self._refresh:
            self._clients.move_to_end(tenant)
            return held[0]
        client, expires = self._assume(tenant)
        self._clients[tenant] = (client, expires)
        self._clients.move_to_end(tenant)
        while len(self._clients) > self._max:
            self._clients.popitem(last=False)
        return client

    def _assume(self, tenant: str) -> tuple[DynamoDBClient, float]:
        if self._sts_client is None:
            self._sts_client = self._sts()
        policy = json.dumps(session_policy(tenant, self._table, self._claims), separators=(",", ":"))
        with STORE_ERRORS:  # STS throttled or unreachable: 503, as the store would be
            answer = self._sts_client.assume_role(
                RoleArn=self._role_arn,
                RoleSessionName=session_name(tenant),
                Policy=policy,
                DurationSeconds=self._duration,
            )
        credentials = answer["Credentials"]
        expiration = credentials["Expiration"]
        expires = expiration.timestamp() if isinstance(expiration, datetime) else float(expiration)
        client = self._make_client(
            {
                "aws_access_key_id": credentials["AccessKeyId"],
                "aws_secret_access_key": credentials["SecretAccessKey"],
                "aws_session_token": credentials["SessionToken"],
            }
        )
        return client, expires
