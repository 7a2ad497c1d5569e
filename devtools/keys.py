"""Create and revoke API keys of a tenant, in the local store or a deployed stack's table.

    python -m devtools.keys create --tenant acme            # prints the new key once
    python -m devtools.keys revoke --key todo_...
    TABLE_NAME=<TodoTableName output> USAGE_PLAN_ID=<UsagePlanId output> \
        python -m devtools.keys create --tenant acme        # deployed

Without TABLE_NAME the command works on the local store of `make start` (DynamoDB Local on
`.local/dynamodb` or DYNAMODB_LOCAL_DIR, reusing the running one when the server is up). With TABLE_NAME it uses boto3's
standard credentials, region and `AWS_ENDPOINT_URL_DYNAMODB`. Only the key's SHA-256 hash is
stored; the key itself is printed once and never again.

Deployed, every route but the docs requires an API Gateway API key of the stack's usage plan,
which the authorizer names for the client's key: `create` makes one (named
`todo-<tenant>-<key id>`), adds it to the plan USAGE_PLAN_ID and stores its value and id with
the key; `revoke` deletes it. `create --no-usage-plan` stores a key without one (it gets 403).
"""

import argparse
import contextlib
import os
import secrets
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

from devtools.loader import ensure_layer_on_path

ensure_layer_on_path()

from todo_api.adapters.key_store import DynamoDBKeyStore  # noqa: E402
from todo_api.domain.keys import UsageKey, check_tenant, key_id, new_key  # noqa: E402
from todo_api.domain.ports import KeyStore  # noqa: E402

if TYPE_CHECKING:
    from mypy_boto3_apigateway import APIGatewayClient


@contextlib.contextmanager
def local_store() -> Iterator[KeyStore]:
    """The key store of `make start`'s local store (the running DynamoDB Local, or a short-lived one)."""
    from devtools.local import store

    with store.opened() as endpoint:
        yield store.key_store(endpoint)


@contextlib.contextmanager
def deployed_store(table_name: str) -> Iterator[KeyStore]:
    import boto3

    yield DynamoDBKeyStore(boto3.client("dynamodb"), table_name)


def apigateway() -> "APIGatewayClient":
    import boto3

    return boto3.client("apigateway")


def issue_usage_key(client: "APIGatewayClient", usage_plan_id: str, tenant: str, key: str) -> UsageKey:
    """An enabled API Gateway API key in the usage plan; its random value is not the client's key."""
    value = secrets.token_urlsafe(36)  # 48 characters (API Gateway wants at least 20)
    created = client.create_api_key(name=f"todo-{tenant}-{key_id(key)}", enabled=True, value=value)
    try:
        client.create_usage_plan_key(usagePlanId=usage_plan_id, keyId=created["id"], keyType="API_KEY")
    except Exception:
        client.delete_api_key(apiKey=created["id"])
        raise
    return UsageKey(id=created["id"], value=value)


def delete_usage_key(client: "APIGatewayClient", usage_key: UsageKey) -> None:
    with contextlib.suppress(client.exceptions.NotFoundException):
        client.delete_api_key(apiKey=usage_key.id)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.keys", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create", help="create a key for a tenant and print it")
    create.add_argument("--tenant", required=True)
    create.add_argument("--key", help="use this key instead of a random one (for local demos)")
    create.add_argument(
        "--no-usage-plan",
        action="store_true",
        help="with TABLE_NAME but no USAGE_PLAN_ID: store the key without a usage key (the API answers it 403)",
    )
    revoke = sub.add_parser("revoke", help="revoke a key")
    revoke.add_argument("--key", required=True)
    args = parser.parse_args(argv)

    table_name = os.environ.get("TABLE_NAME")
    usage_plan_id = os.environ.get("USAGE_PLAN_ID") if table_name else None
    if args.command == "create" and table_name and not usage_plan_id and not args.no_usage_plan:
        print(
            "error: TABLE_NAME is set but USAGE_PLAN_ID (the stack's UsagePlanId output) is not: the deployed API"
            " answers 403 to a key without a usage key of that plan. Set USAGE_PLAN_ID, or pass --no-usage-plan.",
            file=sys.stderr,
        )
        return 2
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
            usage_key = issue_usage_key(apigateway(), usage_plan_id, args.tenant, key) if usage_plan_id else None
            try:
                store.add(args.tenant, key, usage_key)
            except Exception:
                if usage_key:
                    delete_usage_key(apigateway(), usage_key)
                raise
            usage = f" with usage key {usage_key.id} of usage plan {usage_plan_id}" if usage_key else ""
            print(f"created key {key_id(key)} for tenant {args.tenant} in {where}{usage}; it is shown only once:")
            print(key)
            return 0
        record = store.revoke(args.key)
        if record is not None:
            usage = ""
            if record.usage_key and table_name:
                delete_usage_key(apigateway(), record.usage_key)
                usage = f" and deleted its usage key {record.usage_key.id}"
            print(f"revoked key {key_id(args.key)} in {where}{usage}")
            return 0
        print(f"no such key ({key_id(args.key)}) in {where}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
