"""Per-tenant credentials: one STS AssumeRole per cold tenant, its session policy naming that tenant's
keys, the client kept until shortly before the credentials expire; and the wiring that uses them.

STS is botocore's Stubber: every call the code makes must be one the test expects, with exactly
these parameters, and a call it does not expect fails the test.
"""

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from todo_api import wiring
from todo_api.adapters import clients
from todo_api.adapters.tenant_credentials import TenantClients, session_name, session_policy
from todo_api.domain.errors import StoreUnavailable

ROLE = "arn:aws:iam::123456789012:role/stack-TenantDataRole-ABC"
EXPIRES = 1_900_000_000  # epoch seconds of the stubbed credentials' expiry
HASH_PATTERN = "?" * 64


def _answer(n: int) -> dict[str, Any]:
    return {
        "Credentials": {
            "AccessKeyId": f"ASIA{n:016d}",
            "SecretAccessKey": f"secret-{n}",
            "SessionToken": f"token-{n}",
            "Expiration": datetime.fromtimestamp(EXPIRES, UTC),
        }
    }


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def sts():
    client = boto3.client("sts", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def _expect(stubber: Stubber, tenant: str, n: int, policy: Any = ANY) -> None:
    expected = {"RoleArn": ROLE, "RoleSessionName": f"tenant-{tenant}", "Policy": policy, "DurationSeconds": 3600}
    stubber.add_response("assume_role", _answer(n), expected)


def _clients(sts_client: Any, made: list[dict[str, str]], clock: Clock, **options: Any) -> TenantClients:
    def make(credentials: dict[str, str]) -> Any:
        made.append(credentials)
        return f"client-{len(made)}"

    return TenantClients(lambda: sts_client, make, ROLE, "todos", "claims", clock=clock, **options)


def test_a_cold_tenant_costs_one_assume_role_and_a_warm_one_none(sts):
    client, stubber = sts
    made: list[dict[str, str]] = []
    tenants = _clients(client, made, Clock(EXPIRES - 3600))
    _expect(stubber, "acme", 1)
    _expect(stubber, "globex", 2)
    assert tenants.for_tenant("acme") == "client-1"
    assert tenants.for_tenant("acme") == "client-1"  # no second call: the Stubber has none queued
    assert tenants.for_tenant("globex") == "client-2"
    assert tenants.for_tenant("acme") == "client-1"
    assert made == [
        {
            "aws_access_key_id": "ASIA0000000000000001",
            "aws_secret_access_key": "secret-1",
            "aws_session_token": "token-1",
        },
        {
            "aws_access_key_id": "ASIA0000000000000002",
            "aws_secret_access_key": "secret-2",
            "aws_session_token": "token-2",
        },
    ]


def test_the_session_policy_names_exactly_the_tenants_keys(sts):
    client, stubber = sts
    seen: list[str] = []
    stubber.add_response("assume_role", _answer(1), None)
    client.meta.events.register(
        "provide-client-params.sts.AssumeRole", lambda params, **_: seen.append(params["Policy"])
    )
    _clients(client, [], Clock(0)).for_tenant("acme")
    (policy,) = (json.loads(text) for text in seen)
    table, feed, claims = policy["Statement"]
    assert table["Resource"] == ["arn:*:dynamodb:*:*:table/todos", "arn:*:dynamodb:*:*:table/todos/index/*"]
    assert table["Condition"] == {
        "ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["TENANT#acme"]},
        "Null": {"dynamodb:LeadingKeys": "false"},
    }
    assert (feed["Action"], feed["Resource"]) == ("dynamodb:Query", "arn:*:dynamodb:*:*:table/todos")
    assert feed["Condition"]["ForAllValues:StringEquals"] == {"dynamodb:LeadingKeys": ["ACTIVITY#acme"]}
    assert claims["Resource"] == "arn:*:dynamodb:*:*:table/claims"
    assert claims["Action"] == ["dynamodb:GetItem", "dynamodb:PutItem"]
    assert claims["Condition"]["ForAllValues:StringLike"] == {"dynamodb:LeadingKeys": ["acme#" + HASH_PATTERN]}
    assert len(seen[0]) < 2048  # STS refuses a session policy over 2,048 characters


def test_credentials_are_renewed_shortly_before_they_expire(sts):
    client, stubber = sts
    clock = Clock(EXPIRES - 301)
    tenants = _clients(client, [], clock)
    _expect(stubber, "acme", 1)
    assert tenants.for_tenant("acme") == "client-1"
    clock.now = EXPIRES - 300  # within the last five minutes: a new session
    _expect(stubber, "acme", 2)
    assert tenants.for_tenant("acme") == "client-2"


def test_the_least_recently_used_tenant_leaves_a_full_cache(sts):
    client, stubber = sts
    tenants = _clients(client, [], Clock(0), max_tenants=2)
    _expect(stubber, "a", 1)
    _expect(stubber, "b", 2)
    _expect(stubber, "c", 3)
    _expect(stubber, "b", 4)
    for tenant in ["a", "b", "a", "c", "a"]:  # c pushes out b, the least recently used: a was used since
        tenants.for_tenant(tenant)
    assert tenants.for_tenant("b") == "client-4"  # b is cold again
    assert tenants.for_tenant("a") == "client-1"  # ... and pushed out c, not a (used after c)


def test_user_tenants_get_a_session_name_sts_accepts():
    assert session_name("user#0b5c-42") == "tenant-user-0b5c-42"
    assert len(session_name("x" * 100)) == 64


@pytest.mark.parametrize("tenant", ["user#*", "user#a?b", "user#${aws:username}"])
def test_a_tenant_with_a_wildcard_or_a_policy_variable_gets_no_session(sts, tenant):
    client, _ = sts
    with pytest.raises(ValueError, match="cannot be named in a session policy"):
        _clients(client, [], Clock(0)).for_tenant(tenant)
    with pytest.raises(ValueError, match="cannot be named in a session policy"):
        session_policy(tenant, "todos", None)


def test_sts_throttled_is_the_stores_503(sts):
    client, stubber = sts
    stubber.add_client_error("assume_role", "Throttling", http_status_code=400)
    with pytest.raises(StoreUnavailable):
        _clients(client, [], Clock(0)).for_tenant("acme")


def test_with_tenant_role_arn_the_api_functions_call_dynamodb_on_the_tenants_session(sts, monkeypatch):
    sts_client, stubber = sts
    monkeypatch.setenv("TENANT_ROLE_ARN", ROLE)
    monkeypatch.setenv("TABLE_NAME", "todos")
    ddb = boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    made: list[dict[str, str] | None] = []

    def dynamodb_client(credentials: dict[str, str] | None = None) -> Any:
        made.append(credentials)
        return ddb

    monkeypatch.setattr(clients, "sts_client", lambda: sts_client)
    monkeypatch.setattr(clients, "dynamodb_client", dynamodb_client)
    wiring.reset()
    try:
        _expect(stubber, "acme", 1)
        with Stubber(ddb) as table:
            table.add_response("get_item", {}, {"TableName": "todos", "Key": ANY, "ConsistentRead": True})
            assert wiring.todo_service()._store.deleted_at("acme", "01JD7Z6ZQ4N8Y3T5V2W9X0ABCD") is None
        # The session's client, and no client on the function's own role.
        assert made == [
            {
                "aws_access_key_id": "ASIA0000000000000001",
                "aws_secret_access_key": "secret-1",
                "aws_session_token": "token-1",
            }
        ]
    finally:
        wiring.reset()


def test_without_tenant_role_arn_the_api_functions_use_their_own_role(monkeypatch):
    monkeypatch.delenv("TENANT_ROLE_ARN", raising=False)
    monkeypatch.setenv("TABLE_NAME", "todos")
    wiring.reset()
    try:
        assert wiring.tenant_clients() is None
        assert wiring.todo_service()._store._client is wiring.dynamodb()  # type: ignore[attr-defined]
    finally:
        wiring.reset()
