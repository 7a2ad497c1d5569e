"""The local event source mapping on a real DynamoDB Local stream: bisecting a batch whose invocation
raises until the failing record is alone, the template's retry count, the failed record in the local
dead-letter file, and checkpoints that a new poller (a restart) resumes after."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devtools.emulator import dynamodb
from devtools.emulator.runner import InProcessLambdaRunner
from devtools.emulator.streams import Checkpoints, DeadLetterFile, StreamPoller, stream_pollers
from devtools.emulator.template import LocalTemplate
from tests.local.conftest import TEMPLATE


@pytest.fixture
def table(ddb: dynamodb.DynamoDBLocal) -> Iterator[str]:
    """A table of its own with a stream, so that no other test's records are on it."""
    name = f"bisect-{uuid.uuid4().hex[:8]}"
    client = dynamodb.client(ddb.endpoint)
    client.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 100})
    yield name
    client.delete_table(TableName=name)


def put(ddb: dynamodb.DynamoDBLocal, table: str, *names: str) -> None:
    for name in names:
        dynamodb.client(ddb.endpoint).put_item(TableName=table, Item={"PK": {"S": name}})


def names(records: list[dict[str, Any]]) -> list[str]:
    return [r["dynamodb"]["Keys"]["PK"]["S"] for r in records]


def poll_until(poller: StreamPoller, done: Any, rounds: int = 400) -> None:
    for _ in range(rounds):
        poller.poll_once()
        if done():
            return
        time.sleep(0.02)
    raise AssertionError("the poller did not get there")


def test_the_template_asks_for_bisecting_retries_and_a_destination(tmp_path: Path) -> None:
    """What the local mapping takes from the template's stream event of StreamConsumerFunction."""
    template = LocalTemplate.load(TEMPLATE)
    runner = InProcessLambdaRunner(template, hot_reload=False)
    [poller] = stream_pollers(template, runner, "http://127.0.0.1:9", dead_letters=tmp_path / "dlq.jsonl")
    assert (poller.batch_size, poller.max_retries, poller.bisect) == (25, 5, True)
    assert poller.starting_position == "TRIM_HORIZON"
    assert poller.dead_letters is not None
    assert poller.dead_letters.destination == "StreamDeadLetterQueue"
    assert poller.dead_letters.function == "StreamConsumerFunction"


def test_a_raising_batch_is_bisected_down_to_the_poisoned_record(
    ddb: dynamodb.DynamoDBLocal, table: str, tmp_path: Path
) -> None:
    records = [f"r{n}" for n in range(8)]
    put(ddb, table, *records)
    invocations: list[list[str]] = []
    delivered: list[str] = []

    def handler(event: dict[str, Any]) -> None:
        batch = names(event["Records"])
        invocations.append(batch)
        if "r5" in batch:
            raise RuntimeError("poisoned")
        delivered.extend(batch)

    dead_letters = tmp_path / "stream-dlq.jsonl"
    checkpoints = Checkpoints(tmp_path / "checkpoints.json")
    options: dict[str, Any] = {
        "table_name": table,
        "endpoint_url": ddb.endpoint,
        "batch_size": 8,
        "max_retries": 2,
        "bisect": True,
        "dead_letters": DeadLetterFile(dead_letters, "StreamDeadLetterQueue", "Consumer"),
        "checkpoints": checkpoints,
        "name": "Consumer.Stream",
    }
    poller = StreamPoller(handler, **options)
    poll_until(poller, lambda: len(delivered) == 7)
    assert delivered == ["r0", "r1", "r2", "r3", "r4", "r6", "r7"]  # in order, each once
    assert invocations[:4] == [records, records[:4], records[4:], records[4:6]]
    assert invocations.count(["r5"]) == 3  # alone: the first try and two retries
    [letter] = [json.loads(line) for line in dead_letters.read_text().splitlines()]
    assert names(letter["records"]) == ["r5"]
    info = letter["DDBStreamBatchInfo"]
    assert info["batchSize"] == 1
    assert (
        info["startSequenceNumber"] == info["endSequenceNumber"] == letter["records"][0]["dynamodb"]["SequenceNumber"]
    )
    assert letter["requestContext"]["approximateInvokeCount"] == 3
    assert letter["responseContext"]["functionError"] == "Unhandled"

    # A new poller on the same checkpoints (a restart) resumes after r7: nothing is delivered twice.
    restarted: list[str] = []
    again = StreamPoller(lambda event: restarted.extend(names(event["Records"])), **options)
    put(ddb, table, "r8")
    poll_until(again, lambda: restarted)
    assert restarted == ["r8"]
