"""Fixtures of the local server tests: DynamoDB Local (started once) and the gateway on it.

The gateway sets the functions' environment process-wide and imports the functions' modules
afresh; `isolated_process()` puts the environment, `sys.path` and the modules back afterwards,
so the other test folders see what they set up themselves.
"""

import json
import os
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from devtools.emulator import dynamodb
from devtools.emulator.bus import LocalEventBus
from devtools.emulator.gateway import LocalGateway, build_gateway
from devtools.local.keys import provision_keys

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"


def data(response: TestResponse) -> Any:
    """The JSON body of a test client response."""
    return json.loads(response.data)


@contextmanager
def isolated_process() -> Iterator[None]:
    environ, path = dict(os.environ), list(sys.path)
    modules = {name: module for name, module in sys.modules.items() if name.startswith(("todo_api", "functions_"))}
    folder = tempfile.TemporaryDirectory(prefix="todo-local-secrets-")
    # the template's generated secrets (devtools.emulator.secrets) in a file of the test's own, not .local/
    os.environ["TODO_LOCAL_SECRETS_FILE"] = str(Path(folder.name) / "secrets.json")
    try:
        yield
    finally:
        folder.cleanup()
        os.environ.clear()
        os.environ.update(environ)
        sys.path[:] = path
        for name in [n for n in sys.modules if n.startswith(("todo_api", "functions_"))]:
            del sys.modules[name]
        sys.modules.update(modules)


@dataclass
class Local:
    gateway: LocalGateway
    app: Flask
    client: FlaskClient
    keys: dict[str, str]  # tenant -> key
    log: list[str]
    bus: LocalEventBus

    def headers(self, tenant: str) -> dict[str, str]:
        return {"x-api-key": self.keys[tenant]}


@contextmanager
def local_api(template: Path, ddb: dynamodb.DynamoDBLocal, *, in_process: bool = False) -> Iterator[Local]:
    """The gateway of `template`: its functions in instances of their own (as `make start` runs them),
    or `in_process`, for the tests that reach into a function's modules."""
    with isolated_process(), LocalEventBus(path=None) as bus, ExitStack() as stack:
        log: list[str] = []
        gateway = build_gateway(
            template,
            ddb.endpoint,
            log=log.append,
            extra_env={"AWS_ENDPOINT_URL_EVENTBRIDGE": bus.endpoint},
            in_process=in_process,
        )
        stack.callback(gateway.runner.close)
        suffix = uuid.uuid4().hex[:8]
        keys = {f"alpha-{suffix}": f"key-a-{suffix}", f"beta-{suffix}": f"key-b-{suffix}"}
        provision_keys(ddb.endpoint, list(keys.items()))
        yield Local(gateway, gateway.app, gateway.app.test_client(), keys, log, bus)


@pytest.fixture(scope="module")
def local(ddb: dynamodb.DynamoDBLocal) -> Iterator[Local]:
    """The gateway of the real template.yaml, with two fresh tenants and their keys."""
    with local_api(TEMPLATE, ddb) as api:
        yield api


@pytest.fixture(scope="module")
def local_in_process(ddb: dynamodb.DynamoDBLocal) -> Iterator[Local]:
    """The same, its functions imported into this process (their modules can be patched)."""
    with local_api(TEMPLATE, ddb, in_process=True) as api:
        yield api
