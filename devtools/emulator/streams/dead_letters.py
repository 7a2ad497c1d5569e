"""The on-failure destination of an event source mapping, locally: the records that failed every
retry, appended to a JSON-lines file with Lambda's invocation record."""

from __future__ import annotations

import json
import os
import sys
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path

from devtools.emulator.context import ACCOUNT, REGION
from devtools.emulator.streams.records import Record, sequence_number


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
                "startSequenceNumber": sequence_number(records[0]),
                "endSequenceNumber": sequence_number(records[-1]),
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
            f"sequence numbers {sequence_number(records[0])}..{sequence_number(records[-1])}: sent to "
            f"{self.destination} (locally {self.path})",
            file=sys.stderr,
            flush=True,
        )
