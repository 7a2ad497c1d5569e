"""Create and revoke API keys of a tenant, in the local store or a deployed stack's table.

    python -m devtools.keys create --tenant acme            # prints the new key once
    python -m devtools.keys revoke --key todo_...
    TABLE_NAME=<TodoTableName output> python -m devtools.keys create --tenant acme   # deployed

Without TABLE_NAME the command works on the local store of `make start` (DynamoDB Local on
`.local/dynamodb` or DYNAMODB_LOCAL_DIR, reusing the running one when the server is up). With TABLE_NAME it uses boto3's
standard credentials, region and `AWS_ENDPOINT_URL_DYNAMODB`. Only the key's SHA-256 hash is
stored; the key itself is printed once and never again.

A key is one item of the table and nothing else: no API Gateway API key or usage plan, whose
10,000 keys per account and Region would cap the tenants (the authorizer limits each tenant
itself, docs/capacity.md). Only the table is written, deployed or not.
"""

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator

from devtools.loader import ensure_layer_on_path

ensure_layer_on_path()

from todo_api.adapters.key_store import DynamoDBKeyStore  # noqa: E402
from todo_api.domain.keys import check_tenant, key_id, new_key  # noqa: E402
from todo_api.domain.ports import KeyStore  # noqa: E402


@contextlib.contextmanager
def local_store() -> Iterator[KeyStore]:
    """The key store of `make start`'s local store (the running DynamoDB Local, or a short-lived one)."""
    from devtools.emulator import state
    from devtools.local import keys

    with state.opened() as endpoint:
        yield keys.key_store(endpoint)


@contextlib.contextmanager
def deployed_store(table_name: str) -> Iterator[KeyStore]:
    import boto3

    yield DynamoDBKeyStore(boto3.client("dynamodb"), table_name)


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
    where = f"table {table_name}" if table_name else "the local store"
    with store_cm as store:
        if args.command == "create":
            key = args.key or new_key()
            try:
                check_tenant(args.tenant)
            except ValueError as error:
                print(f"error: {error}", file=sys.stderr)
                return 2
            store.add(args.tenant, key)
            print(f"created key {key_id(key)} for tenant {args.tenant} in {where}; it is shown only once:")
            print(key)
            return 0
        if store.revoke(args.key) is not None:
            print(f"revoked key {key_id(args.key)} in {where}")
            return 0
        print(f"no such key ({key_id(args.key)}) in {where}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
