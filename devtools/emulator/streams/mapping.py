"""The template's DynamoDB stream event source mappings: a `StreamPoller` per `DynamoDB` event of a
function, with the event's settings, whose handler filters the records and invokes the function."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devtools.emulator.context import REGION
from devtools.emulator.streams.checkpoints import Checkpoints
from devtools.emulator.streams.dead_letters import DeadLetterFile
from devtools.emulator.streams.filters import check_pattern, matches
from devtools.emulator.streams.poller import StreamPoller
from devtools.emulator.template import LocalServerError, LocalTemplate, local_table_name

if TYPE_CHECKING:
    from devtools.emulator.runner import InProcessLambdaRunner


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
                check_pattern(pattern, where)
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
