"""The functions on moto, in this process: what the tests' `aws` fixture and the benchmark share.

    names = {"TodoTable": "todo-test", "IdempotencyTable": "todo-idem-test", "UsageTable": "todo-usage"}
    with moto_tables(names) as client:
        handlers = api_handlers("functions_")
        handlers["GetTodoFunction"].lambda_handler(event, LambdaContext())

The tables are the template's own definitions under the given names. The functions' environment
(TABLE_NAME and the rest) is the caller's to set before the first client is built; the wiring's
cached clients are dropped on entry and exit, so each block builds its own on moto.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from moto import mock_aws

from devtools.emulator.dynamodb import create_table_request, table_definitions
from devtools.emulator.template import api_functions
from devtools.loader import ensure_layer_on_path, load_module

ensure_layer_on_path()

from todo_api import wiring  # noqa: E402


def create_tables(client: Any, names: dict[str, str]) -> None:
    """Create every table of template.yaml from its own definition, as `names[logical id]`."""
    for logical_id, properties in table_definitions().items():
        request, _ttl = create_table_request(logical_id, properties)
        client.create_table(**{**request, "TableName": names[logical_id]})


@contextmanager
def moto_tables(names: dict[str, str]) -> Iterator[Any]:
    """moto for every AWS call of the block, with the template's tables; yields the wiring's DynamoDB client."""
    with mock_aws():
        wiring.reset()
        try:
            client = wiring.dynamodb()
            create_tables(client, names)
            yield client
        finally:
            wiring.reset()


def api_handlers(prefix: str) -> dict[str, ModuleType]:
    """The handler module of every function with an Api event, loaded as `<prefix><logical id>`."""
    return {name: load_module(code, handler, f"{prefix}{name}") for name, code, handler in api_functions()}
