"""Network faults below the SDK, between the functions and DynamoDB Local, for every operation.

The functions run in this process on DynamoDB Local through `tests.faultproxy.FaultProxy`:
connections refused, reset, answers that never come (the read timeout), slow answers and answers
lost after DynamoDB wrote. botocore's own retries run as configured; only the timeouts are scaled
down (0.5 s instead of 2 and 3 s), except in the one test that waits out the real read timeout.

Each answer is a success or 503 with Retry-After, never a 500; the store, read directly (not
through the proxy or the code under test), holds exactly what the answer says.
"""

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.config import Config

from devtools.emulator import dynamodb
from devtools.emulator.template import local_table_name
from tests.conftest import Api, Reply, gateway_caller
from tests.faultproxy import FaultProxy
from todo_api import wiring
from todo_api.adapters import clients

TABLE = local_table_name("TodoTable")
IDEMPOTENCY = local_table_name("IdempotencyTable")


@dataclass
class Net:
    proxy: FaultProxy
    api: Api
    direct: Any  # a client of DynamoDB Local that bypasses the proxy
    tenant: str

    def call(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Reply:
        return self.api(method, path, body, tenant=self.tenant, **kwargs)

    def todos(self) -> dict[str, dict[str, Any]]:
        """The tenant's todo items as stored, by id."""
        items = self.direct.query(
            TableName=TABLE,
            KeyConditionExpression="PK = :pk AND begins_with(SK, :todo)",
            ExpressionAttributeValues={":pk": {"S": f"TENANT#{self.tenant}"}, ":todo": {"S": "TODO#"}},
            ConsistentRead=True,
        )["Items"]
        return {item["id"]["S"]: item for item in items}


def scaled(read_timeout: float = 0.5) -> Config:
    return clients.CONFIG.merge(Config(connect_timeout=0.5, read_timeout=read_timeout))


@pytest.fixture
def net(ddb, functions, monkeypatch) -> Iterator[Net]:
    with FaultProxy(ddb.port) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", proxy.endpoint)
        monkeypatch.setenv("TABLE_NAME", TABLE)
        monkeypatch.setenv("IDEMPOTENCY_TABLE_NAME", IDEMPOTENCY)
        monkeypatch.setattr(clients, "CONFIG", scaled())
        monkeypatch.setattr("botocore.retries.standard.ExponentialBackoff.delay_amount", lambda *_: 0.0)
        wiring.reset()
        direct = boto3.client("dynamodb", endpoint_url=ddb.endpoint)
        yield Net(proxy, gateway_caller(functions), direct, f"net-{uuid.uuid4().hex[:12]}")
    wiring.reset()


# Each operation: how to call it (given an existing todo), and what a success leaves stored.
Check = Callable[[Net, dict[str, Any], Reply], None]


def _created(net: Net, existing: dict[str, Any], reply: Reply) -> None:
    assert set(net.todos()) == {existing["id"], reply.body["id"]}


def _unchanged(net: Net, existing: dict[str, Any], reply: Reply) -> None:
    assert int(net.todos()[existing["id"]]["version"]["N"]) == 1


def _updated(net: Net, existing: dict[str, Any], reply: Reply) -> None:
    stored = net.todos()[existing["id"]]
    assert (stored["title"]["S"], int(stored["version"]["N"])) == ("renamed", 2)
    assert reply.body["version"] == 2


def _deleted(net: Net, existing: dict[str, Any], reply: Reply) -> None:
    assert net.todos() == {}


OPERATIONS: dict[str, tuple[Callable[[Net, dict[str, Any]], Reply], int, Check]] = {
    "create": (lambda n, t: n.call("POST", "/todos", {"title": "new"}), 201, _created),
    "create with key": (
        lambda n, t: n.call("POST", "/todos", {"title": "new"}, headers={"Idempotency-Key": "k-net"}),
        201,
        _created,
    ),
    "get": (lambda n, t: n.call("GET", f"/todos/{t['id']}"), 200, _unchanged),
    "list": (lambda n, t: n.call("GET", "/todos"), 200, _unchanged),
    "update": (lambda n, t: n.call("PATCH", f"/todos/{t['id']}", {"title": "renamed"}), 200, _updated),
    "update if-match": (
        lambda n, t: n.call("PUT", f"/todos/{t['id']}", {"title": "renamed"}, headers={"If-Match": '"1"'}),
        200,
        _updated,
    ),
    "delete": (lambda n, t: n.call("DELETE", f"/todos/{t['id']}"), 200, _deleted),
}


def seeded(net: Net) -> dict[str, Any]:
    reply = net.call("POST", "/todos", {"title": "existing"})
    assert reply.status == 201, reply.body
    return reply.body


def assert_unavailable(reply: Reply) -> None:
    assert reply.status == 503, reply.body
    assert reply.headers["Retry-After"] == "1"
    assert isinstance(reply.body["error"], str)


@pytest.mark.parametrize("fault", ["reset", "hang"])
@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_a_persistent_fault_before_dynamodb_is_503_and_changes_nothing(net, operation, fault, figures) -> None:
    existing = seeded(net)
    before = net.todos()
    call, _, _ = OPERATIONS[operation]
    net.proxy.set(fault)
    forwarded = net.proxy.forwarded
    reply = call(net, existing)
    assert_unavailable(reply)
    assert net.proxy.requests >= clients.MAX_ATTEMPTS  # botocore tried every attempt
    assert net.proxy.forwarded == forwarded  # none reached DynamoDB
    assert net.todos() == before
    figures(f"{operation} under persistent {fault}", f"{reply.status}, store unchanged")


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_connection_refused_is_503_and_changes_nothing(net, ddb, operation, monkeypatch, figures) -> None:
    existing = seeded(net)
    before = net.todos()
    closed = socket_nobody_listens_on()
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", f"http://127.0.0.1:{closed}")
    wiring.reset()
    reply = OPERATIONS[operation][0](net, existing)
    assert_unavailable(reply)
    assert net.todos() == before
    figures(f"{operation} with DynamoDB refusing connections", f"{reply.status}, store unchanged")


@pytest.mark.parametrize("fault", ["reset", "hang", "lose_answer"])
@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_one_fault_then_the_sdks_retry_succeeds_with_exactly_one_change(net, operation, fault, figures) -> None:
    """`lose_answer` is the ambiguous case: the first attempt's write landed, botocore retries it."""
    existing = seeded(net)
    call, status, check = OPERATIONS[operation]
    net.proxy.set(fault, faults=1)
    reply = call(net, existing)
    assert reply.status == status, reply.body
    check(net, existing, reply)
    figures(f"{operation} after one {fault}", f"{reply.status}, exactly one change")


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_a_slow_answer_within_the_timeout_succeeds(net, operation) -> None:
    existing = seeded(net)
    call, status, check = OPERATIONS[operation]
    net.proxy.set("slow", delay=0.2)
    reply = call(net, existing)
    assert reply.status == status, reply.body
    check(net, existing, reply)


def test_the_real_read_timeout_gives_up_with_503(net, monkeypatch, figures) -> None:
    """With the shipped configuration (3 s per answer, 3 attempts): a DynamoDB that never answers."""
    monkeypatch.setattr(clients, "CONFIG", clients.CONFIG.merge(Config(connect_timeout=2)))
    wiring.reset()
    existing = seeded(net)
    net.proxy.set("hang")
    reply = net.call("GET", f"/todos/{existing['id']}")
    assert_unavailable(reply)
    assert net.proxy.requests - 1 == clients.MAX_ATTEMPTS  # the seed, then every attempt
    figures("GET with no answer, shipped timeouts", f"{reply.status} after {clients.MAX_ATTEMPTS} attempts")


def socket_nobody_listens_on() -> int:
    return dynamodb.free_port()
