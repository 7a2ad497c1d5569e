"""Stream records as Lambda's DynamoDB event source mapping delivers them, and what a handler answers.

- `lambda_record`: a GetRecords record with the fields Lambda adds (`eventSourceARN`, `awsRegion`,
  `eventSource: aws:dynamodb`) and `ApproximateCreationDateTime` in epoch seconds;
- `first_failure`: where a batch failed, from the handler's `batchItemFailures`;
- `sequence_number`, `is_after`: a record's place in its shard.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

Record = dict[str, Any]


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


def sequence_number(record: Record) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


def is_after(record: Record, checkpoint: str | None) -> bool:
    """Whether `record` comes after the checkpoint (sequence numbers of a shard grow as numbers)."""
    if checkpoint is None:
        return True
    try:
        return int(sequence_number(record)) > int(checkpoint)
    except ValueError:
        return sequence_number(record) != checkpoint
