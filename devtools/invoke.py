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
import json
import sys
from pathlib import Path
from typing import Any

from devtools.emulator import state
from devtools.emulator.bus import LocalEventBus
from devtools.emulator.dynamodb import DynamoDBLocalError
from devtools.emulator.environment import apply_environment, function_environment
from devtools.emulator.runner import FunctionError, InProcessLambdaRunner
from devtools.emulator.secrets import local_secrets
from devtools.emulator.template import TEMPLATE, LocalServerError, LocalTemplate
from devtools.local import keys


def invoke(
    function: str, event: Any, endpoint: str, template_path: Path | str = TEMPLATE, events_endpoint: str | None = None
) -> Any:
    """Run `function` on `event`; published EventBridge events go to `events_endpoint` (a LocalEventBus)."""
    template = LocalTemplate.load(template_path)
    if template.functions.get(function) is None:
        names = ", ".join(sorted(f.name for f in template.all_functions()))
        raise LocalServerError(f"no function {function!r} in the template (functions: {names})")
    variables = function_environment(
        template.all_functions(), template.table_names(), endpoint, local_secrets(template)
    )
    if events_endpoint:
        variables["AWS_ENDPOINT_URL_EVENTBRIDGE"] = events_endpoint
    apply_environment({**variables, "AWS_LAMBDA_FUNCTION_NAME": function})
    keys.provision_keys(endpoint, keys.configured_keys())
    return json.loads(InProcessLambdaRunner(template, hot_reload=False).run(function, json.dumps(event)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.invoke", description=__doc__.split("\n")[0])
    parser.add_argument("function", help="logical id of the function in template.yaml, e.g. CreateTodoFunction")
    parser.add_argument("event", type=Path, help="event file, e.g. events/create_todo.json")
    args = parser.parse_args(argv)
    try:
        event = json.loads(args.event.read_text(encoding="utf-8"))
        with state.opened() as endpoint, LocalEventBus(state.events_file(), echo=True) as bus:
            result = invoke(args.function, event, endpoint, events_endpoint=bus.endpoint)
    except FunctionError as error:
        print(json.dumps({"errorType": error.error_type, "errorMessage": error.message}))
        return 1
    except (OSError, ValueError, LocalServerError, DynamoDBLocalError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
