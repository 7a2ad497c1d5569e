"""The one reader of `template.yaml`: SAM CLI's own, with CloudFormation's language extensions on.

`LocalTemplate.load()` reads the template as `sam local` does (`SamLocalStackProvider.get_stacks`
with `language_extensions_enabled=True`: `Fn::ForEach` expanded, Globals merged, parameters
resolved), and `SamFunctionProvider` and `ApiProvider` give each function's CodeUri, Handler,
Layers, Environment and events, and the routes with their authorizer. Everything local reads the
template through it: the runner, the gateway, the stream pollers, DynamoDB Local's tables, the
tests' fixtures and the benchmark.

`document()` is the template as written (CloudFormation tags included) for what must see it so:
the SAM translator of `devtools.expand_template`, which expands the language extensions itself.
"""

from __future__ import annotations

import copy
import logging
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from samcli.lib.providers.api_provider import ApiProvider
from samcli.lib.providers.provider import Function, Stack
from samcli.lib.providers.sam_function_provider import SamFunctionProvider
from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider
from samcli.local.apigw.authorizers.lambda_authorizer import LambdaAuthorizer
from samcli.yamlhelper import yaml_parse

from devtools.loader import ROOT

TEMPLATE = ROOT / "template.yaml"
LOCAL_TABLE_PREFIX = "todo-local-"


class _NoAuthorizerFidelityBanner(logging.Filter):
    """SAM CLI warns, on reading a template with authorizers, that *it* does not guarantee their
    fidelity: about SAM CLI's emulator, not this runner's (whose gateway runs the template's authorizer as
    a function and caches its answers as API Gateway does): left out of make start, usage and bench."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "does not guarantee 100% fidelity between authorizers" not in str(record.msg)


AUTHORIZER_BANNER_LOGGER = "samcli.lib.providers.api_collector"
logging.getLogger(AUTHORIZER_BANNER_LOGGER).addFilter(_NoAuthorizerFidelityBanner())


class LocalServerError(RuntimeError):
    """The template asks for something the local runner cannot do."""


def document(path: Path | str = TEMPLATE) -> dict[str, Any]:
    """The template as written: a fresh copy on every call."""
    parsed: dict[str, Any] = yaml_parse(Path(path).read_text(encoding="utf-8"))
    return parsed


def local_table_name(logical_id: str) -> str:
    return f"{LOCAL_TABLE_PREFIX}{logical_id}"


def local_parameters() -> dict[str, str]:
    """Template parameters `make start` takes from its environment: CORS_ALLOW_ORIGIN -> CorsAllowOrigin,
    and any others from TEMPLATE_PARAMETERS, `Name=value` pairs separated by spaces or commas (as
    `sam deploy --parameter-overrides` takes them), e.g. `TenantRateLimit=2 TenantBurstLimit=4`."""
    parameters = {}
    for pair in os.environ.get("TEMPLATE_PARAMETERS", "").replace(",", " ").split():
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise LocalServerError(f"TEMPLATE_PARAMETERS: {pair!r} is not Name=value")
        parameters[name] = value
    origin = os.environ.get("CORS_ALLOW_ORIGIN", "").strip()
    if origin:
        parameters["CorsAllowOrigin"] = origin
    return parameters


@dataclass
class LocalTemplate:
    """The template as SAM CLI reads it."""

    path: Path
    stacks: list[Stack]
    functions: SamFunctionProvider
    apis: ApiProvider

    @classmethod
    def load(cls, template_path: Path | str = TEMPLATE) -> LocalTemplate:
        """A fresh read (the runner's hot reload and the tests' template copies want one)."""
        path = Path(template_path).resolve()
        stacks, remote = SamLocalStackProvider.get_stacks(
            str(path), parameter_overrides=local_parameters(), language_extensions_enabled=True
        )
        if remote or len(stacks) != 1:
            raise LocalServerError("nested or remote stacks are not supported by the local server")
        functions = SamFunctionProvider(stacks, ignore_code_extraction_warnings=True)
        local = cls(path, stacks, functions, ApiProvider(stacks, cwd=str(path.parent)))
        local.check_authorizers()
        return local

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return dict(self.stacks[0].resources)

    def resources_of(self, kind: str) -> dict[str, dict[str, Any]]:
        """The resources of one type (copies: callers may change them)."""
        return {name: copy.deepcopy(res) for name, res in self.resources.items() if res.get("Type") == kind}

    def table_definitions(self) -> dict[str, dict[str, Any]]:
        """The template's tables: logical id -> CloudFormation properties."""
        tables = self.resources_of("AWS::DynamoDB::Table").items()
        # SAM CLI adds its own `Metadata` (SamResourceId) to the properties it has read.
        return {name: {k: v for k, v in res.get("Properties", {}).items() if k != "Metadata"} for name, res in tables}

    def table_names(self) -> dict[str, str]:
        """Logical id -> local table name, for every table of the template."""
        return {logical_id: local_table_name(logical_id) for logical_id in self.table_definitions()}

    def serverless_api(self) -> dict[str, Any]:
        """Properties of the template's one AWS::Serverless::Api ({} if it has none)."""
        apis = [r for r in self.resources.values() if r.get("Type") == "AWS::Serverless::Api"]
        if len(apis) > 1:
            raise LocalServerError("the local server supports one AWS::Serverless::Api per template")
        return dict(apis[0].get("Properties", {})) if apis else {}

    def gateway_responses(self) -> dict[str, dict[str, Any]]:
        return dict(self.serverless_api().get("GatewayResponses", {}))

    def authorizer_ttls(self) -> dict[str, int]:
        """Authorizer name -> ReauthorizeEvery seconds (API Gateway's default is 300)."""
        authorizers = self.serverless_api().get("Auth", {}).get("Authorizers", {})
        return {name: int(spec.get("Identity", {}).get("ReauthorizeEvery", 300)) for name, spec in authorizers.items()}

    def all_functions(self) -> list[Function]:
        return list(self.functions.get_all())

    def api_functions(self) -> list[Function]:
        """The functions with an Api event, by logical id."""
        return sorted(
            (f for f in self.all_functions() if any(e.get("Type") == "Api" for e in (f.events or {}).values())),
            key=lambda f: f.name,
        )

    def check_authorizers(self) -> None:
        """SAM CLI skips, with a mere warning, an authorizer it cannot read: here that is an error."""
        declared = set(self.authorizer_ttls())
        attached = {
            route.authorizer_object.authorizer_name
            for route in self.apis.api.routes
            if isinstance(route.authorizer_object, LambdaAuthorizer)
        }
        if declared - attached:
            raise LocalServerError(
                f"authorizers {sorted(declared - attached)} are on no route: SAM CLI could not read their FunctionArn"
            )


@cache
def project() -> LocalTemplate:
    """The project's `template.yaml`, read once per process (for fixtures, tables and the benchmark)."""
    return LocalTemplate.load(TEMPLATE)


def read(path: Path | str = TEMPLATE) -> LocalTemplate:
    """The template at `path`: the project's is read once per process, any other afresh."""
    return project() if Path(path).resolve() == TEMPLATE.resolve() else LocalTemplate.load(path)


def api_functions() -> list[tuple[str, Path, str]]:
    """(logical id, code folder, handler) of every function of `template.yaml` with an Api event."""
    return [(f.name, Path(str(f.codeuri)), str(f.handler)) for f in project().api_functions()]
