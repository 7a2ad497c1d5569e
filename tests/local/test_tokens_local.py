"""Signed-in users through the local gateway of the real template, on DynamoDB Local, with the
local OIDC issuer over HTTP: each user's todos and activity are their own, a team claim shares a
tenant, every bad token is a 401 JSON that reads and writes nothing, and keys work as before."""

import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from devtools import oidc
from devtools.emulator import dynamodb as dynamodb_local
from devtools.emulator.bus import LocalEventBus
from devtools.emulator.gateway import LocalGateway, build_gateway
from devtools.emulator.streams import stream_pollers
from devtools.emulator.template import local_table_name
from devtools.local.keys import provision_keys
from tests.integration.test_tokens import FORGED, _forged
from tests.local.conftest import TEMPLATE, data, isolated_process

UNAUTHORIZED = {"error": "Missing or invalid API key"}


@pytest.fixture(scope="module")
def signed_in(
    ddb: dynamodb_local.DynamoDBLocal, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LocalGateway, oidc.Issuer]]:
    folder: Path = tmp_path_factory.mktemp("oidc")
    with isolated_process(), LocalEventBus(path=None) as bus, oidc.Issuer(port=0, folder=folder) as issuer:
        env = {"AWS_ENDPOINT_URL_EVENTBRIDGE": bus.endpoint, **oidc.environment(issuer.url)}
        gateway = build_gateway(TEMPLATE, ddb.endpoint, log=lambda _line: None, extra_env=env)
        provision_keys(ddb.endpoint, [("tokens-team", "team-key-1")], local_table_name("TodoTable"))
        yield gateway, issuer


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def table_items(ddb: dynamodb_local.DynamoDBLocal) -> list[Any]:
    client = dynamodb_local.client(ddb.endpoint)
    return list(client.scan(TableName=local_table_name("TodoTable"), ConsistentRead=True)["Items"])


def test_each_users_todos_are_their_own(signed_in: tuple[LocalGateway, oidc.Issuer]) -> None:
    gateway, issuer = signed_in
    client = gateway.app.test_client()
    suffix = str(time.monotonic_ns())
    alice, bob = bearer(issuer.token(f"alice-{suffix}")), bearer(issuer.token(f"bob-{suffix}"))
    created = client.post("/todos", json={"title": "alice's"}, headers=alice)
    assert created.status_code == 201
    todo = data(created)
    assert client.post("/todos", json={"title": "bob's"}, headers=bob).status_code == 201

    assert [t["title"] for t in data(client.get("/todos", headers=alice))["items"]] == ["alice's"]
    assert [t["title"] for t in data(client.get("/todos", headers=bob))["items"]] == ["bob's"]
    for method in ("get", "put", "patch", "delete"):
        response = getattr(client, method)(f"/todos/{todo['id']}", json={"title": "bob was here"}, headers=bob)
        assert (response.status_code, data(response)) == (404, {"error": "Todo not found"})
    assert data(client.get(f"/todos/{todo['id']}", headers=alice)) == todo  # unchanged

    # a cursor of alice's list is bound to her: bob cannot page with it
    client.post("/todos", json={"title": "alice's second"}, headers=alice)
    page = data(client.get("/todos", query_string={"limit": "1"}, headers=alice))
    assert page["next_cursor"]
    stolen = client.get("/todos", query_string={"cursor": page["next_cursor"]}, headers=bob)
    assert stolen.status_code == 400


def test_each_users_activity_is_their_own(
    signed_in: tuple[LocalGateway, oidc.Issuer], ddb: dynamodb_local.DynamoDBLocal
) -> None:
    gateway, issuer = signed_in
    client = gateway.app.test_client()
    suffix = str(time.monotonic_ns())
    alice, bob = bearer(issuer.token(f"alice-{suffix}")), bearer(issuer.token(f"bob-{suffix}"))
    with ExitStack() as stack:
        for poller in stream_pollers(gateway.template, gateway.runner, ddb.endpoint):
            stack.enter_context(poller)
            poller.poll_once()
        todo = data(client.post("/todos", json={"title": "watched"}, headers=alice))
        deadline = time.monotonic() + 30
        seen: list[str] = []
        while time.monotonic() < deadline and not seen:
            seen = [e["todo_id"] for e in data(client.get("/activity", headers=alice))["items"]]
            time.sleep(0.1)
    assert seen == [todo["id"]]
    assert data(client.get("/activity", headers=bob))["items"] == []


def test_a_team_claim_shares_one_tenant_with_its_keys(signed_in: tuple[LocalGateway, oidc.Issuer]) -> None:
    gateway, issuer = signed_in
    client = gateway.app.test_client()
    todo = data(client.post("/todos", json={"title": "team's"}, headers=bearer(issuer.token("carol", "tokens-team"))))
    for headers in (bearer(issuer.token("dave", "tokens-team")), {"x-api-key": "team-key-1"}):
        assert data(client.get(f"/todos/{todo['id']}", headers=headers)) == todo
    assert client.get(f"/todos/{todo['id']}", headers=bearer(issuer.token("carol"))).status_code == 404


@pytest.mark.parametrize("tenant", ["tokens-team\n", "tokens-team\r\n"], ids=repr)
def test_a_team_claim_with_a_trailing_line_break_is_no_tenant(
    signed_in: tuple[LocalGateway, oidc.Issuer], ddb: dynamodb_local.DynamoDBLocal, tenant: str
) -> None:
    gateway, issuer = signed_in
    client = gateway.app.test_client()
    before = table_items(ddb)
    headers = bearer(issuer.token("erin", tenant))
    for response in (
        client.post("/todos", json={"title": "newline"}, headers=headers),
        client.get("/todos", headers=headers),
    ):
        assert (response.status_code, data(response)) == (401, UNAUTHORIZED)
    assert table_items(ddb) == before


@pytest.mark.parametrize("case", FORGED)
def test_a_bad_token_is_a_401_json_and_changes_nothing(
    signed_in: tuple[LocalGateway, oidc.Issuer], ddb: dynamodb_local.DynamoDBLocal, case: str
) -> None:
    gateway, issuer = signed_in
    client = gateway.app.test_client()
    headers = bearer(_forged(issuer, case))
    before = table_items(ddb)
    for response in (
        client.post("/todos", json={"title": "forged"}, headers=headers),
        client.get("/todos", headers=headers),
        client.get("/activity", headers=headers),
    ):
        assert (response.status_code, response.content_type, data(response)) == (
            401,
            "application/json",
            UNAUTHORIZED,
        )
    assert table_items(ddb) == before
