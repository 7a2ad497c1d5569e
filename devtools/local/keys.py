"""This project's API keys in the local store (`devtools.emulator.state`): the one parser of
TODO_LOCAL_API_KEYS (`tenant:key,...`, default `demo:local-dev-key`) and the one provisioning, used by
`make start`, `make invoke`, `make key` (`devtools.keys`), `make sam-local-deps` and the tests.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from devtools.emulator import dynamodb
from devtools.emulator.template import LocalServerError, local_table_name

if TYPE_CHECKING:
    from todo_api.domain.ports import KeyStore

DEFAULT_KEYS = "demo:local-dev-key"


def key_store(endpoint: str, table_name: str | None = None) -> KeyStore:
    """The project's own key store on the local TodoTable (or `table_name`) of the DynamoDB Local at `endpoint`."""
    from todo_api.adapters.key_store import DynamoDBKeyStore

    return DynamoDBKeyStore(dynamodb.client(endpoint), table_name or local_table_name("TodoTable"))


def parse_keys(spec: str) -> list[tuple[str, str]]:
    """`tenant:key,...` (TODO_LOCAL_API_KEYS) as pairs; blanks around each part are dropped."""
    pairs = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        tenant, sep, key = (part.strip() for part in item.partition(":"))
        if not sep or not tenant or not key:
            raise LocalServerError(f"TODO_LOCAL_API_KEYS: {item!r} is not tenant:key")
        pairs.append((tenant, key))
    return pairs


def configured_keys() -> list[tuple[str, str]]:
    """The keys of TODO_LOCAL_API_KEYS, else the docs' demo key."""
    return parse_keys(os.environ.get("TODO_LOCAL_API_KEYS", DEFAULT_KEYS))


def provision_keys(endpoint: str, pairs: list[tuple[str, str]], table_name: str | None = None) -> None:
    """Store each key's hash for its tenant (idempotent)."""
    store = key_store(endpoint, table_name)
    for tenant, key in pairs:
        store.add(tenant, key)
