"""Lambda's DynamoDB stream event source mapping, locally: a poller per stream event of a function.

`StreamPoller` reads a table's stream (DynamoDB Local, or any endpoint) and invokes a handler with
the event Lambda would send, with the same batch semantics:

- records of a shard in order, at most `batch_size` per invocation, parent shards before children,
  each shard polled every `interval` seconds (Lambda polls four times a second);
- each record as Lambda delivers it (`eventSourceARN`, `awsRegion`, `eventSource: aws:dynamodb`,
  `dynamodb.SequenceNumber`, `ApproximateCreationDateTime` in epoch seconds);
- the handler's `{"batchItemFailures": [{"itemIdentifier": <sequence number>}]}` checkpoints before
  the first failed record and retries from it; an exception, or an identifier that is not in the
  batch, fails the whole batch;
- `bisect` (BisectBatchOnFunctionError): a batch whose invocation raised is split in two and each
  half retried on its own, until the failing record is alone; splitting does not count as a retry;
- after `max_retries` retries (MaximumRetryAttempts) the failed records are skipped and passed to
  `dead_letters` (the on-failure destination; locally a JSON-lines file with Lambda's invocation
  record: shard and sequence numbers) and to `on_discard` (by default: logged);
- `checkpoints`: the sequence number of the last record processed, per shard, kept in a file, so
  that a restart (even after `kill -9`) resumes right after it: nothing is processed twice by a
  restart, and a long stream is not read again from its start.

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
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from devtools.emulator import dynamodb
from devtools.emulator.context import ACCOUNT, REGION
from devtools.emulator.template import LocalServerError, LocalTemplate, local_table_name

if TYPE_CHECKING:
    from devtools.emulator.runner import InProcessLambdaRunner

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
    pending: list[Record] = field(default_factory=list)  # read, not yet processed, in order
    read_to: str | None = None  # sequence number of the last record read (where to re-open an iterator)
    checkpoint: str | None = None  # sequence number of the last record processed
    splits: list[int] = field(default_factory=list)  # sizes of the next batches, after a bisection
    attempts: int = 0


def _sequence(record: Record) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


def _after(record: Record, checkpoint: str | None) -> bool:
    """Whether `record` comes after the checkpoint (sequence numbers of a shard grow as numbers)."""
    if checkpoint is None:
        return True
    try:
        return int(_sequence(record)) > int(checkpoint)
    except ValueError:
        return _sequence(record) != checkpoint


class Checkpoints:
    """The last processed sequence number per shard of each event source mapping, in one JSON file,
    replaced atomically (written, flushed to disk, renamed) after every processed batch, so that a
    `kill -9` at any moment leaves the previous or the new checkpoint, never a torn file."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def _read(self) -> dict[str, dict[str, str]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        return data if isinstance(data, dict) else {}

    def load(self, mapping: str) -> dict[str, str]:
        with self._lock:
            return dict(self._read().get(mapping, {}))

    def save(self, mapping: str, shard_id: str, sequence_number: str) -> None:
        with self._lock:
            data = self._read()
            data.setdefault(mapping, {})[shard_id] = sequence_number
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_name(self.path.name + ".tmp")
            with temporary.open("w", encoding="utf-8") as out:
                json.dump(data, out, indent=1, sort_keys=True)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.path)


class DeadLetterFile:
    """A local stand-in of the on-failure destination (an SQS queue on AWS): one line per failed
    range, Lambda's invocation record for a DynamoDB stream (`DDBStreamBatchInfo` with the shard and
    the first and last sequence numbers), plus the records themselves for replaying them."""

    def __init__(self, path: Path | str, destination: str, function: str) -> None:
        self.path = Path(path)
        self.destination = destination
        self.function = function
        self._lock = threading.Lock()

    def send(self, records: list[Record], shard_id: str, condition: str, invocations: int, error: str | None) -> None:
        def arrival(record: Record) -> str | None:
            when = record.get("dynamodb", {}).get("ApproximateCreationDateTime")
            if not isinstance(when, int | float):
                return None
            return datetime.fromtimestamp(when, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")

        message = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function}",
                "condition": condition,
                "approximateInvokeCount": invocations,
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                **({"functionError": error} if error else {}),
            },
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "DDBStreamBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": _sequence(records[0]),
                "endSequenceNumber": _sequence(records[-1]),
                "approximateArrivalOfFirstRecord": arrival(records[0]),
                "approximateArrivalOfLastRecord": arrival(records[-1]),
                "batchSize": len(records),
                "streamArn": records[0].get("eventSourceARN"),
            },
            "records": records,
        }
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as out:
                out.write(json.dumps(message, default=str) + "\n")
                out.flush()
                os.fsync(out.fileno())
        print(
            f"STREAM {len(records)} records of shard {shard_id} failed every retry ({condition}), "
            f"sequence numbers {_sequence(records[0])}..{_sequence(records[-1])}: sent to {self.destination} "
            f"(locally {self.path})",
            file=sys.stderr,
            flush=True,
        )


class StreamPoller:
    def __init__(
        self,
        handler: Handler,
        *,
        table_name: str,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        batch_size: int = 25,
        interval: float = 0.25,
        max_retries: int = 5,
        bisect: bool = False,
        starting_position: str = "TRIM_HORIZON",
        on_discard: Callable[[list[Record]], None] | None = None,
        dead_letters: DeadLetterFile | None = None,
        checkpoints: Checkpoints | None = None,
        name: str = "",
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
        self.bisect = bisect
        self.starting_position = starting_position
        self.on_discard = on_discard or self._log_discard
        self.dead_letters = dead_letters
        self.checkpoints = checkpoints
        self.name = name or table_name
        self.stream_arn: str | None = None
        self._saved: dict[str, str] = {}
        self._shards: dict[str, _Shard] = {}
        self._known_at_start: set[str] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        # Told of each batch delivered: (poller, shard id, batch, index of its first failure or None, error).
        self.observer: Callable[[StreamPoller, str, list[Record], int | None, str | None], None] | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> StreamPoller:
        if self._thread is not None:
            return self
        with self._lock:
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
        failing = False
        while not self._stop.is_set():
            try:
                self.poll_once()
                if failing:
                    logger.warning("stream %s: polling again", self.table_name)
                failing = False
            except Exception as error:
                if not failing:  # once per outage, not four times a second
                    logger.warning("stream %s: poll failed (%s); retrying", self.table_name, error)
                failing = True
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

    @property
    def _mapping(self) -> str:
        """The checkpoints' key: one event source mapping is one consumer on one stream."""
        return f"{self.name} {self.stream_arn}"

    def _refresh_shards(self) -> None:
        if self.stream_arn is None:
            table = self._ddb.describe_table(TableName=self.table_name)["Table"]
            if not table.get("LatestStreamArn"):
                raise RuntimeError(f"table {self.table_name} has no stream")
            self.stream_arn = table["LatestStreamArn"]
            self._saved = self.checkpoints.load(self._mapping) if self.checkpoints else {}
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
                saved = self._saved.get(shard["ShardId"])
                self._shards[shard["ShardId"]] = _Shard(
                    shard["ShardId"], shard.get("ParentShardId"), read_to=saved, checkpoint=saved
                )

    def _iterator(self, shard: _Shard) -> str | None:
        if shard.read_to is not None:
            kwargs = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": shard.read_to}
        elif self.starting_position == "LATEST" and shard.shard_id in (self._known_at_start or set()):
            kwargs = {"ShardIteratorType": "LATEST"}
        else:
            kwargs = {"ShardIteratorType": "TRIM_HORIZON"}
        try:
            result = self._streams.get_shard_iterator(StreamArn=self.stream_arn, ShardId=shard.shard_id, **kwargs)
        except ClientError as error:
            if kwargs["ShardIteratorType"] != "AFTER_SEQUENCE_NUMBER" or error.response.get("Error", {}).get(
                "Code"
            ) not in ("ValidationException", "TrimmedDataAccessException", "ResourceNotFoundException"):
                raise
            # The checkpoint's record is gone (trimmed, or lost by the store): read the shard from its
            # start and skip what the checkpoint covers (`_fill`), rather than replay or lose anything.
            logger.warning(
                "stream %s: shard %s has no record %s; reading it from its start",
                self.table_name,
                shard.shard_id,
                shard.read_to,
            )
            result = self._streams.get_shard_iterator(
                StreamArn=self.stream_arn, ShardId=shard.shard_id, ShardIteratorType="TRIM_HORIZON"
            )
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
            shard.started = False  # open a new iterator after the last record read, on this poll or the next
            if error.response.get("Error", {}).get("Code") != "ExpiredIteratorException":
                raise
            return
        except Exception:
            shard.started = False  # the store restarted, or does not answer: its iterators are gone
            raise
        records = [lambda_record(r, str(self.stream_arn), self.region) for r in result.get("Records", [])]
        if records:
            shard.read_to = _sequence(records[-1])
        shard.pending += [r for r in records if _after(r, shard.checkpoint)]
        shard.iterator = result.get("NextShardIterator")

    def _commit(self, shard: _Shard, records: list[Record]) -> None:
        """Checkpoint after `records` (the first records of `pending`, processed or sent to the DLQ)."""
        shard.pending = shard.pending[len(records) :]
        shard.checkpoint = _sequence(records[-1])
        if self.checkpoints is not None:
            self.checkpoints.save(self._mapping, shard.shard_id, shard.checkpoint)

    def _poll_shard(self, shard: _Shard) -> int:
        delivered = 0
        for _ in range(_MAX_BATCHES_PER_SHARD_AND_POLL):
            self._fill(shard)
            if not shard.pending:
                shard.done = shard.iterator is None
                return delivered
            batch = shard.pending[: shard.splits[0] if shard.splits else self.batch_size]
            error: str | None = None
            try:
                failed_at = first_failure(batch, self.handler({"Records": copy.deepcopy(batch)}))
            except Exception as exception:
                logger.warning("stream handler raised on %d records: %s", len(batch), exception)
                failed_at, error = 0, "Unhandled"
            if self.observer is not None:
                self.observer(self, shard.shard_id, batch, failed_at, error)
            if failed_at is None:  # all processed
                self._commit(shard, batch)
                delivered += len(batch)
                shard.attempts = 0
                if shard.splits:
                    shard.splits.pop(0)
                continue
            if failed_at:  # a partial failure: checkpoint before the first failed record
                self._commit(shard, batch[:failed_at])
                delivered += failed_at
                if shard.splits:
                    shard.splits[0] -= failed_at
            if error and self.bisect and len(batch) > 1:
                half = (len(batch) + 1) // 2
                shard.splits[:1] = [half, len(batch) - half]
                continue  # the halves are tried now: splitting does not count as a retry
            shard.attempts += 1
            if shard.attempts > self.max_retries:
                dropped = batch[failed_at:]
                if self.dead_letters is not None:
                    self.dead_letters.send(dropped, shard.shard_id, "RetryAttemptsExhausted", shard.attempts, error)
                self.on_discard(dropped)
                self._commit(shard, dropped)
                shard.attempts = 0
                if shard.splits:
                    shard.splits.pop(0)
                continue
            return delivered  # retry on the next poll, as Lambda retries after a back-off
        return delivered

    @staticmethod
    def _log_discard(records: list[Record]) -> None:
        first, last = _sequence(records[0]), _sequence(records[-1])
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


def _destination(props: dict[str, Any], where: str) -> str | None:
    """The name of the on-failure destination (`!GetAtt <Queue>.Arn`, which SAM CLI resolves to an
    ARN ending in the logical id), or None."""
    destination = (props.get("DestinationConfig") or {}).get("OnFailure", {}).get("Destination")
    if destination is None:
        return None
    if isinstance(destination, str):
        return destination.rsplit(":", 1)[-1]
    target = destination.get("Fn::GetAtt") if isinstance(destination, dict) else None
    if not (isinstance(target, list) and len(target) == 2):
        raise LocalServerError(f"{where}: only `Destination: !GetAtt <Queue>.Arn` works locally")
    return str(target[0])


def stream_pollers(
    template: LocalTemplate,
    runner: InProcessLambdaRunner,
    ddb_endpoint: str,
    *,
    checkpoints: Path | None = None,
    dead_letters: Path | None = None,
) -> list[StreamPoller]:
    """A `StreamPoller` (not started) per DynamoDB stream event of a function.

    Written by hand: SAM CLI runs no event source mappings locally. The event's BatchSize,
    StartingPosition, MaximumRetryAttempts, BisectBatchOnFunctionError, FilterCriteria (exact-value
    patterns) and DestinationConfig.OnFailure apply: the records that failed every retry are
    appended to `dead_letters` (the destination's local stand-in) and the log names the destination.
    With `checkpoints` (a file), each mapping resumes after its last processed record on a restart.
    """
    pollers = []
    saved = Checkpoints(checkpoints) if checkpoints is not None else None
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
            destination = _destination(props, where)
            pollers.append(
                StreamPoller(
                    _stream_handler(runner, function.name, patterns),
                    table_name=local_table_name(target[0]),
                    endpoint_url=ddb_endpoint,
                    region=REGION,
                    batch_size=int(props.get("BatchSize", 100)),
                    max_retries=10_000 if retries < 0 else retries,
                    bisect=bool(props.get("BisectBatchOnFunctionError", False)),
                    starting_position=props.get("StartingPosition", "LATEST"),
                    dead_letters=(
                        DeadLetterFile(dead_letters, destination, function.name)
                        if destination and dead_letters is not None
                        else None
                    ),
                    checkpoints=saved,
                    name=f"{function.name}.{name}",
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
            return json.loads(runner.run(function, json.dumps({**event, "Records": records})))
        finally:
            millis = (time.perf_counter() - started) * 1000
            print(f"STREAM {len(records)} records {function} {millis:.0f}ms", file=sys.stderr, flush=True)

    return handle
