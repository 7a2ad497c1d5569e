"""The functions' environment under the local runner: the template's variables, resolved locally."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING

from samcli.lib.providers.provider import Function

from devtools.emulator.context import REGION
from devtools.emulator.dynamodb import DUMMY_CREDENTIALS
from devtools.emulator.template import LocalServerError

if TYPE_CHECKING:
    from devtools.emulator.secrets import LocalSecrets

LOCAL_FUNCTION_NAME = "todo-local"
# Credentials variables a developer's shell may hold; the functions must never see them locally.
_SHELL_AWS_VARIABLES = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")
# Settings that only mean something on AWS, empty locally: TENANT_ROLE_ARN names the role of the
# API functions' per-tenant STS sessions, and DynamoDB Local checks no IAM (docs/tenancy.md).
AWS_ONLY_VARIABLES = ("TENANT_ROLE_ARN",)


def function_variables(
    function: Function, tables: dict[str, str], secrets: LocalSecrets | None = None
) -> dict[str, str]:
    """One function's own `Environment.Variables`, resolved locally (`!Ref <Table>` -> local name, a
    dynamic reference to a template's secret -> its local value, see `devtools.emulator.secrets`)."""
    resolved = {}
    for name, raw in ((function.environment or {}).get("Variables", {}) or {}).items():
        if isinstance(raw, (dict, list)):
            raise LocalServerError(f"{function.name}: {name} is not resolvable locally: {raw!r}")
        value = str(raw).lower() if isinstance(raw, bool) else str(raw)
        if "{{resolve:" in value:
            if secrets is None:
                raise LocalServerError(f"{function.name}: {name} is a dynamic reference: no local secrets given")
            value = secrets.resolve(value)
            if "{{resolve:" in value:
                raise LocalServerError(f"{function.name}: {name} is not resolvable locally: {value!r}")
        resolved[name] = "" if name in AWS_ONLY_VARIABLES else tables.get(value, value)
    return resolved


def function_environment(
    functions: Iterable[Function], tables: dict[str, str], ddb_endpoint: str, secrets: LocalSecrets | None = None
) -> dict[str, str]:
    """One environment for every function of the process (the in-process runner's, and the base of
    each instance's: `LambdaRunner` gives an instance only its own function's variables on top).

    SAM CLI resolves `!Ref <Table>` to the table's logical id; those become the local names. In
    one process two different values of one variable cannot be honoured and fail here, before any
    function runs.
    """
    merged: dict[str, str] = {}
    owners: dict[str, str] = {}
    for function in functions:
        for name, value in function_variables(function, tables, secrets).items():
            if name in merged and merged[name] != value:
                raise LocalServerError(
                    f"{name} differs between {owners[name]} ({merged[name]!r}) and {function.name} ({value!r}); "
                    "the local server runs every function in one process with one environment"
                )
            merged[name], owners[name] = value, function.name
    merged.update(
        AWS_ENDPOINT_URL_DYNAMODB=ddb_endpoint,
        AWS_ACCESS_KEY_ID=DUMMY_CREDENTIALS["aws_access_key_id"],
        AWS_SECRET_ACCESS_KEY=DUMMY_CREDENTIALS["aws_secret_access_key"],
        AWS_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
        # In process: one for all (the LambdaContext carries each function's name); each instance has its own.
        AWS_LAMBDA_FUNCTION_NAME=LOCAL_FUNCTION_NAME,
    )
    return merged


def apply_environment(variables: dict[str, str]) -> None:
    """Set the functions' environment process-wide, before any function module is loaded."""
    for name in _SHELL_AWS_VARIABLES:
        os.environ.pop(name, None)
    os.environ.update(variables)
