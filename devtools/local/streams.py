"""Lambda's DynamoDB stream event source mapping, locally: a poller per stream event of a function.

`StreamPoller` reads a table's stream (DynamoDB Local, or any endpoint) and invokes a handler with
the event Lambda would send, with the same batch semantics:

- records of a shard in order, at most `batch_size` per invocation, parent shards before children;
- each record as Lambda delivers it (`eventSourceARN`, `awsRegion`, `eventSource: aws:dynamodb`,
  `dynamodb.SequenceNumber`, `ApproximateCreationDateTime` in epoch seconds);
- the handler's `{"batchItemFailures": [{"itemIdentifier": <sequence number>}]}` checkpoints before
  the first failed record and retries from it; an exception, or an identifier that is not in the
  batch, retries the whole batch;
- after `max_retries` retries the failed records are dropped and passed to `on_discard` (Lambda's
  on-failure destination; by default they are logged). Bisecting is not simulated.

    poller = StreamPoller(handler, table_name="todo-local-TodoTable", endpoint_url="http://127.0.0.1:8000")
    poller.start()   # polls every `interval` seconds in a daemon thread
    ...
    poller.stop()

The handler takes the event only (bind a context yourself: `lambda event: fn(event, context)`).
`poll_once()` runs one round synchronously, for tests. `stream_pollers()` makes one poller per
`DynamoDB` event of the template's functions (written by hand: SAM CLI runs no event sources).
"""

from __future__ import annotations

import copy
import json
import logging
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from devtools.local import dynamodb
from devtools.local.context import REGION
from devtools.local.template import LocalServerError, LocalTemplate, local_table_name

if TYPE_CHECKING:
    from devtools.local.runner import InProcessLambdaRunner

logger = logging.getLogger(__name__)

Record = dict[str, Any]
Handler = Callable[[dict[str, Any]], Any]

_MAX_BATCHES_PER_SHARD_AND_POLL = 20


def lambda_record(record: Record, stream_arn: str, region: str) -> Record:
    """A GetRecords record as Lambda's event source mapping delivers it."""
    out = copy.deepcopy(record)
    change = out.setdefault("dynamodb", {})
    when = change.get("ApproximateCreationDateTime")
    if isinstance(when, datetime):
        change["ApproximateCreationDateTime"] = int(when.timestamp())
    out.setdefault("eventVersion", "1.1")
    out["eventSource"] = "aws:dynamodb"
    out["awsRegion"] = out.get("awsRegion") or region
    out["eventSourceARN"] = stream_arn
    return out


def first_failure(batch: list[Record], response: Any) -> int | None:
    """Index of the first record to retry, from a handler's response; None when all succeeded."""
    if not isinstance(response, dict) or not response.get("batchItemFailures"):
        return None
    positions = {r["dynamodb"]["SequenceNumber"]: i for i, r in enumerate(batch)}
    indexes = []
    for failure in response["batchItemFailures"]:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if identifier not in positions:
            return 0  # as Lambda does: an unknown identifier fails the whole batch
        indexes.append(positions[identifier])
    return min(indexes)


@dataclass
class _Shard:
    shard_id: str
    parent_id: str | None
    iterator: str | None = None
    started: bool = False
    done: bool = False
    pending: list[Record] = field(default_factory=list)
    last_sequence: str | None = None
    attempts: int = 0


class StreamPoller:
    def __init__(
        self,
        handler: Handler,
        *,
        table_name: str,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        batch_size: int = 25,
        interval: float = 0.3,
        max_retries: int = 5,
        starting_position: str = "TRIM_HORIZON",
        on_discard: Callable[[list[Record]], None] | None = None,
        dynamodb_client: Any = None,
        streams_client: Any = None,
    ) -> None:
        if not 1 <= batch_size <= 10_000:
            raise ValueError("batch_size must be 1..10000")
        if starting_position not in ("TRIM_HORIZON", "LATEST"):
            raise ValueError("starting_position must be TRIM_HORIZON or LATEST")
        if endpoint_url is None and (dynamodb_client is None or streams_client is None):
            raise ValueError("give endpoint_url, or both clients")
        self._ddb = dynamodb_client or dynamodb.client(str(endpoint_url))
        self._streams = streams_client or dynamodb.client(str(endpoint_url), service="dynamodbstreams")
        self.handler = handler
        self.table_name = table_name
        self.region = region
        self.batch_size = batch_size
        self.interval = interval
        self.max_retries = max_retries
        self.starting_position = starting_position
        self.on_discard = on_discard or self._log_discard
        self.stream_arn: str | None = None
        self._shards: dict[str, _Shard] = {}
        self._known_at_start: set[str] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> StreamPoller:
        if self._thread is not None:
            return self
        self._refresh_shards()  # fail early (no stream, endpoint down), in the caller's thread
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"stream-poller-{self.table_name}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)

    def __enter__(self) -> StreamPoller:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:
                logger.exception("stream poll failed; retrying")
            self._stop.wait(self.interval)

    # ------------------------------------------------------------------ one round

    def poll_once(self) -> int:
        """Read every shard once and invoke the handler; returns how many records were checkpointed."""
        with self._lock:
            self._refresh_shards()
            delivered = 0
            for shard in list(self._shards.values()):
                parent = self._shards.get(shard.parent_id or "")
                if shard.done or (parent is not None and not parent.done):
                    continue
                delivered += self._poll_shard(shard)
            return delivered

    def _refresh_shards(self) -> None:
        if self.stream_arn is None:
            table = self._ddb.describe_table(TableName=self.table_name)["Table"]
            if not table.get("LatestStreamArn"):
                raise RuntimeError(f"table {self.table_name} has no stream")
            self.stream_arn = table["LatestStreamArn"]
        kwargs: dict[str, Any] = {"StreamArn": self.stream_arn}
        found: list[dict[str, Any]] = []
        while True:
            description = self._streams.describe_stream(**kwargs)["StreamDescription"]
            found += description.get("Shards", [])
            if not description.get("LastEvaluatedShardId"):
                break
            kwargs["ExclusiveStartShardId"] = description["LastEvaluatedShardId"]
        if self._known_at_start is None:
            self._known_at_start = {s["ShardId"] for s in found}
        for shard in found:
            if shard["ShardId"] not in self._shards:
                self._shards[shard["ShardId"]] = _Shard(shard["ShardId"], shard.get("ParentShardId"))

    def _iterator(self, shard: _Shard) -> str | None:
        if shard.last_sequence is not None:
            kwargs = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": shard.last_sequence}
        elif self.starting_position == "LATEST" and shard.shard_id in (self._known_at_start or set()):
            kwargs = {"ShardIteratorType": "LATEST"}
        else:
            kwargs = {"ShardIteratorType": "TRIM_HORIZON"}
        result = self._streams.get_shard_iterator(StreamArn=self.stream_arn, ShardId=shard.shard_id, **kwargs)
        iterator: str | None = result.get("ShardIterator")
        return iterator

    def _fill(self, shard: _Shard) -> None:
        if not shard.started:
            shard.iterator, shard.started = self._iterator(shard), True
        if shard.iterator is None or len(shard.pending) >= self.batch_size:
            return
        try:
            result = self._streams.get_records(ShardIterator=shard.iterator, Limit=self.batch_size - len(shard.pending))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ExpiredIteratorException":
                raise
            shard.iterator = self._iterator(shard)
            return
        records = [lambda_record(r, str(self.stream_arn), self.region) for r in result.get("Records", [])]
        shard.pending += records
        if records:
            shard.last_sequence = records[-1]["dynamodb"]["SequenceNumber"]
        shard.iterator = result.get("NextShardIterator")

    def _poll_shard(self, shard: _Shard) -> int:
        delivered = 0
        for _ in range(_MAX_BATCHES_PER_SHARD_AND_POLL):
            self._fill(shard)
            if not shard.pending:
                shard.done = shard.iterator is None
                return delivered
            batch = shard.pending[: self.batch_size]
            try:
                failed_at = first_failure(batch, self.handler({"Records": copy.deepcopy(batch)}))
            except Exception:
                logger.exception("stream handler raised; the whole batch is retried")
                failed_at = 0
            if failed_at is None:
                shard.pending, shard.attempts = shard.pending[len(batch) :], 0
                delivered += len(batch)
                continue
            delivered += failed_at
            shard.pending = shard.pending[failed_at:]
            shard.attempts += 1
            if shard.attempts > self.max_retries:
                dropped = batch[failed_at:]
                shard.pending, shard.attempts = shard.pending[len(dropped) :], 0
                self.on_discard(dropped)
                continue
            return delivered  # retry on the next poll, as Lambda retries after a back-off
        return delivered

    @staticmethod
    def _log_discard(records: list[Record]) -> None:
        first, last = records[0]["dynamodb"]["SequenceNumber"], records[-1]["dynamodb"]["SequenceNumber"]
        logger.error(
            "stream records dropped after all retries (on AWS: sent to the on-failure destination): %d records, "
            "sequence numbers %s..%s",
            len(records),
            first,
            last,
        )


def _check_pattern(pattern: Any, where: str) -> None:
    if isinstance(pattern, dict):
        for value in pattern.values():
            _check_pattern(value, where)
    elif not isinstance(pattern, list) or any(isinstance(v, (dict, list)) for v in pattern):
        raise LocalServerError(f"{where}: only exact-value filter patterns work locally, not {pattern!r}")


def matches(pattern: Any, value: Any) -> bool:
    """Lambda event filtering, for the subset `_check_pattern` admits: nested keys, lists of exact values."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(k in value and matches(p, value[k]) for k, p in pattern.items())
    return value in pattern


def stream_pollers(template: LocalTemplate, runner: InProcessLambdaRunner, ddb_endpoint: str) -> list[StreamPoller]:
    """A `StreamPoller` (not started) per DynamoDB stream event of a function.

    Written by hand: SAM CLI runs no event source mappings locally. The event's BatchSize,
    StartingPosition, MaximumRetryAttempts and FilterCriteria (exact-value patterns) apply; bisecting
    and the on-failure destination do not (discarded records are logged).
    """
    pollers = []
    for function in template.all_functions():
        for name, event in (function.events or {}).items():
            props = event.get("Properties", {})
            if event.get("Type") != "DynamoDB" or props.get("Enabled") is False:
                continue
            where = f"{function.name}.Events.{name}"
            stream = props.get("Stream")
            target = stream.get("Fn::GetAtt") if isinstance(stream, dict) else None
            if not (isinstance(target, list) and len(target) == 2 and target[1] == "StreamArn"):
                raise LocalServerError(f"{where}: only `Stream: !GetAtt <Table>.StreamArn` works locally")
            patterns = [json.loads(f["Pattern"]) for f in props.get("FilterCriteria", {}).get("Filters", [])]
            for pattern in patterns:
                _check_pattern(pattern, where)
            retries = int(props.get("MaximumRetryAttempts", -1))
            pollers.append(
                StreamPoller(
                    _stream_handler(runner, function.name, patterns),
                    table_name=local_table_name(target[0]),
                    endpoint_url=ddb_endpoint,
                    region=REGION,
                    batch_size=int(props.get("BatchSize", 100)),
                    max_retries=10_000 if retries < 0 else retries,
                    starting_position=props.get("StartingPosition", "LATEST"),
                )
            )
    return pollers


def _stream_handler(runner: InProcessLambdaRunner, function: str, patterns: list[Any]) -> Callable[[Any], Any]:
    def handle(event: dict[str, Any]) -> Any:
        records = [r for r in event["Records"] if not patterns or any(matches(p, r) for p in patterns)]
        if not records:
            return {"batchItemFailures": []}
        started = time.perf_counter()
        try:
            return runner.run(function, {**event, "Records": records})
        finally:
            millis = (time.perf_counter() - started) * 1000
            print(f"STREAM {len(records)} records {function} {millis:.0f}ms", file=sys.stderr, flush=True)

    return handle
