"""The local event source mapping on DynamoDB Local: a change reaches the feed (and the local event bus)
within two seconds. Skipped where DynamoDB Local cannot run (no Java or no jar)."""

import time

import pytest

from devtools.emulator import dynamodb
from devtools.emulator.bus import LocalEventBus
from devtools.emulator.streams import StreamPoller
from devtools.emulator.template import local_table_name
from devtools.loader import ROOT, load_module
from tests.conftest import Context
from todo_api import wiring
from todo_api.domain.models import TodoCreate, TodoUpdate

try:
    dynamodb.java_path()
    HAVE_DYNAMODB_LOCAL = dynamodb.JAR.is_file()
except dynamodb.DynamoDBLocalError:
    HAVE_DYNAMODB_LOCAL = False

pytestmark = pytest.mark.skipif(not HAVE_DYNAMODB_LOCAL, reason="DynamoDB Local is not installed")


@pytest.fixture(scope="module")
def ddb(tmp_path_factory):
    with dynamodb.running(tmp_path_factory.mktemp("ddb-streams")) as local:
        yield local


@pytest.fixture
def local_env(ddb, tmp_path, monkeypatch):
    with LocalEventBus(tmp_path / "events.jsonl") as bus:
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", ddb.endpoint)
        monkeypatch.setenv("AWS_ENDPOINT_URL_EVENTBRIDGE", bus.endpoint)
        monkeypatch.setenv("TABLE_NAME", local_table_name("TodoTable"))
        monkeypatch.setenv("EVENT_BUS_NAME", "todo-api-local")
        wiring.reset()
        yield bus
    wiring.reset()


def wait_for(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := predicate():
            return result
        time.sleep(0.05)
    return predicate()


def test_changes_reach_the_feed_in_order(ddb, local_env):
    consumer = load_module(ROOT / "functions/stream_consumer", "app.lambda_handler", "fn_stream_consumer")
    poller = StreamPoller(
        lambda event: consumer.lambda_handler(event, Context()),
        table_name=local_table_name("TodoTable"),
        endpoint_url=ddb.endpoint,
        interval=0.25,
        starting_position="LATEST",
    )
    tenant = f"t{time.time_ns()}"
    with poller:
        service = wiring.todo_service()
        todo = service.create(tenant, TodoCreate(title="Ship it"))
        started = time.monotonic()
        # The contract's two seconds are a figure to watch, not an assertion: a loaded machine may be
        # slower. The poll gives up well after it, and prints the delay seen.
        assert wait_for(lambda: wiring.activity_feed().list(tenant, 10, None).items, timeout=10.0)
        print(f"first change in the feed after {time.monotonic() - started:.2f} s")
        service.update(tenant, todo.id, TodoUpdate(completed=True), None)
        service.delete(tenant, todo.id, None)
        page = wait_for(lambda: len(wiring.activity_feed().list(tenant, 10, None).items) == 3, timeout=10.0)
        assert page
    items = wiring.activity_feed().list(tenant, 10, None).items
    assert [e.type for e in items] == ["todo.deleted", "todo.completed", "todo.created"]
    mine = [e for e in local_env.events if e["detail"]["tenant"] == tenant]
    assert [e["detail-type"] for e in mine] == ["todo.created", "todo.completed", "todo.deleted"]
    assert (local_env.path.read_text().count(tenant)) >= 3


def test_positions_show_each_shard_checkpointed_after_what_it_delivered(ddb, local_env):
    """What the console shows of a mapping: the shard's checkpoint is the last record delivered."""
    delivered: list[str] = []

    def handler(event):
        delivered.extend(record["dynamodb"]["SequenceNumber"] for record in event["Records"])
        return {"batchItemFailures": []}

    poller = StreamPoller(
        handler,
        table_name=local_table_name("TodoTable"),
        endpoint_url=ddb.endpoint,
        starting_position="TRIM_HORIZON",
    )
    wiring.todo_service().create(f"t{time.time_ns()}", TodoCreate(title="Watch me"))
    assert wait_for(lambda: poller.poll_once() or delivered, timeout=10.0)
    positions = poller.positions()
    assert delivered[-1] in {position["checkpoint"] for position in positions}
    assert all(position["pending"] == 0 and position["attempts"] == 0 for position in positions)
    assert all(position["read_to"] is not None for position in positions if position["checkpoint"])
