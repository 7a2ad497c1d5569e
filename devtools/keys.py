"""Create and revoke API keys of a tenant, in the local store or a deployed stack's table.

    python -m devtools.keys create --tenant acme            # prints the new key once
    python -m devtools.keys revoke --key todo_...
    TABLE_NAME=<TodoTableName output> python -m devtools.keys create --tenant acme   # deployed

Without TABLE_NAME the command works on the local store of `make start` (DynamoDB Local under
`.local/`, reusing the running one when the server is up). With TABLE_NAME it uses boto3's
standard credentials, region and `AWS_ENDPOINT_URL_DYNAMODB`. Only the key's SHA-256 hash is
stored; the key itself is printed once and never again.
"""

import argparse
import contextlib
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

from devtools.loader import ROOT, ensure_layer_on_path

ensure_layer_on_path()

from todo_api.keys import KeyStore, key_id, new_key  # noqa: E402
from todo_api.repository import Table  # noqa: E402

ENDPOINT_FILE = ROOT / ".local" / "dynamodb.endpoint"


def _answers(endpoint: str) -> bool:
    host, _, port = endpoint.removeprefix("http://").partition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=0.5):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def local_store() -> Iterator[KeyStore]:
    """The key store of the local server: the running DynamoDB Local, or a short-lived one."""
    from devtools import dynamodb_local

    running = ENDPOINT_FILE.read_text().strip() if ENDPOINT_FILE.exists() else ""
    with contextlib.ExitStack() as stack:
        if running and _answers(running):
            endpoint = running
        else:
            dynamodb_local.ensure_installed()
            endpoint = stack.enter_context(dynamodb_local.DynamoDBLocal()).endpoint
        tables = dynamodb_local.ensure_tables(endpoint)
        yield KeyStore(Table(dynamodb_local.client(endpoint), tables["TodoTable"]))


@contextlib.contextmanager
def deployed_store(table_name: str) -> Iterator[KeyStore]:
    import boto3

    yield KeyStore(Table(boto3.client("dynamodb"), table_name))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.keys", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create", help="create a key for a tenant and print it")
    create.add_argument("--tenant", required=True)
    create.add_argument("--key", help="use this key instead of a random one (for local demos)")
    revoke = sub.add_parser("revoke", help="revoke a key")
    revoke.add_argument("--key", required=True)
    args = parser.parse_args(argv)

    table_name = os.environ.get("TABLE_NAME")
    store_cm = deployed_store(table_name) if table_name else local_store()
    where = f"table {table_name}" if table_name else f"the local store ({Path('.local').resolve()})"
    with store_cm as store:
        if args.command == "create":
            key = args.key or new_key()
            try:
                store.add(args.tenant, key)
            except ValueError as error:
                print(f"error: {error}", file=sys.stderr)
                return 2
            print(f"created key {key_id(key)} for tenant {args.tenant} in {where}; it is shown only once:")
            print(key)
            return 0
        if store.revoke(args.key):
            print(f"revoked key {key_id(args.key)} in {where}")
            return 0
        print(f"no such key ({key_id(args.key)}) in {where}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
