"""`make invoke FUNCTION=<logical id> EVENT=events/x.json`: run one function on an event, locally.

The function runs in this process, as under `make start`, against the same local store: the
DynamoDB Local of a running `make start` if there is one, else one started for this call on the
same data folder (`.local/dynamodb`, or DYNAMODB_LOCAL_DIR), with the tables and the keys of `TODO_LOCAL_API_KEYS`.
EventBridge events it publishes are printed and appended to `.local/events.jsonl`.
Prints the function's result as JSON; on an error, prints errorType and errorMessage as the
Lambda runtime does and exits with status 1.

    python -m devtools.invoke CreateTodoFunction events/create_todo.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from devtools import dynamodb_local
from devtools.local_server import (
    DEFAULT_KEYS,
    TEMPLATE,
    FunctionError,
    InProcessLambdaRunner,
    LocalServerError,
    LocalTemplate,
    apply_environment,
    data_dir,
    endpoint_file,
    events_file,
    function_environment,
    parse_keys,
    provision_keys,
)


@contextlib.contextmanager
def local_store() -> Iterator[str]:
    endpoint = dynamodb_local.published_endpoint(endpoint_file())
    if endpoint is not None:
        yield endpoint
        return
    with dynamodb_local.running(data_dir()) as ddb:
        yield ddb.endpoint


def invoke(
    function: str, event: Any, endpoint: str, template_path: Path | str = TEMPLATE, events_endpoint: str | None = None
) -> Any:
    """Run `function` on `event`; published EventBridge events go to `events_endpoint` (a LocalEventBus)."""
    template = LocalTemplate.load(template_path)
    if template.functions.get(function) is None:
        names = ", ".join(sorted(f.name for f in template.all_functions()))
        raise LocalServerError(f"no function {function!r} in the template (functions: {names})")
    tables = dynamodb_local.table_names(template.path)
    variables = function_environment(template.all_functions(), tables, endpoint)
    if events_endpoint:
        variables["AWS_ENDPOINT_URL_EVENTBRIDGE"] = events_endpoint
    apply_environment({**variables, "AWS_LAMBDA_FUNCTION_NAME": function})
    provision_keys(endpoint, tables["TodoTable"], parse_keys(os.environ.get("TODO_LOCAL_API_KEYS", DEFAULT_KEYS)))
    return InProcessLambdaRunner(template, hot_reload=False).run(function, event)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.invoke", description=__doc__.split("\n")[0])
    parser.add_argument("function", help="logical id of the function in template.yaml, e.g. CreateTodoFunction")
    parser.add_argument("event", type=Path, help="event file, e.g. events/create_todo.json")
    args = parser.parse_args(argv)
    try:
        event = json.loads(args.event.read_text(encoding="utf-8"))
        from devtools.local_events import LocalEventBus

        with local_store() as endpoint, LocalEventBus(events_file(), echo=True) as bus:
            result = invoke(args.function, event, endpoint, events_endpoint=bus.endpoint)
    except FunctionError as error:
        print(json.dumps({"errorType": error.error_type, "errorMessage": error.message}))
        return 1
    except (OSError, ValueError, LocalServerError, dynamodb_local.DynamoDBLocalError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
