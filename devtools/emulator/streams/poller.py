"""Lambda's DynamoDB stream event source mapping, locally: `StreamPoller` reads a table's stream
(DynamoDB Local, or any endpoint) and invokes a handler with the event Lambda would send, with the
same batch semantics:

- records of a shard in order, at most `batch_size` per invocation, parent shards before children,
  each shard polled every `interval` seconds (Lambda polls four times a second);
- each record as Lambda delivers it (`records.lambda_record`);
- the handler's `{"batchItemFailures": [{"itemIdentifier": <sequence number>}]}` checkpoints before
  the first failed record and retries from it; an exception, or an identifier that is not in the
  batch, fails the whole batch;
- `bisect` (BisectBatchOnFunctionError): a batch whose invocation raised is split in two and each
  half retried on its own, until the failing record is alone; splitting does not count as a retry;
- after `max_retries` retries (MaximumRetryAttempts) the failed records are skipped and passed to
  `dead_letters` (the on-failure destination, a `DeadLetterFile`) and to `on_discard` (by default:
  logged);
- `checkpoints` (`Checkpoints`): the sequence number of the last record processed, per shard, kept in
  a file, so that a restart resumes right after it.

    poller = StreamPoller(handler, table_name="todo-local-TodoTable", endpoint_url="http://127.0.0.1:8000")
    poller.start()   # polls every `interval` seconds in a daemon thread
    ...
    poller.stop()

The handler takes the event only (bind a context yourself: `lambda event: fn(event, context)`).
`poll_once()` runs one round synchronously, for tests.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from devtools.emulator import dynamodb
from devtools.emulator.streams.checkpoints import Checkpoints
from devtools.emulator.streams.dead_letters import DeadLetterFile
from devtools.emulator.streams.records import Record, first_failure, is_after, lambda_record, sequence_number

logger = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], Any]

_MAX_BATCHES_PER_SHARD_AND_POLL = 20


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

    def positions(self) -> list[dict[str, Any]]:
        """Each shard's position, as the event source mapping would report it: a copy, read without
        waiting for a batch being delivered (the local console shows it while the poller runs)."""
        return [
            {
                "shard_id": shard.shard_id,
                "parent_id": shard.parent_id,
                "checkpoint": shard.checkpoint,
                "read_to": shard.read_to,
                "pending": len(shard.pending),
                "attempts": shard.attempts,
                "closed": shard.done,
            }
            for shard in list(self._shards.values())
        ]

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
            shard.read_to = sequence_number(records[-1])
        shard.pending += [r for r in records if is_after(r, shard.checkpoint)]
        shard.iterator = result.get("NextShardIterator")

    def _commit(self, shard: _Shard, records: list[Record]) -> None:
        """Checkpoint after `records` (the first records of `pending`, processed or sent to the DLQ)."""
        shard.pending = shard.pending[len(records) :]
        shard.checkpoint = sequence_number(records[-1])
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
        first, last = sequence_number(records[0]), sequence_number(records[-1])
        logger.error(
            "stream records dropped after all retries (on AWS: sent to the on-failure destination): %d records, "
            "sequence numbers %s..%s",
            len(records),
            first,
            last,
        )
