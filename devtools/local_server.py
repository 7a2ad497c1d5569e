"""`make start`: the API of `template.yaml` on 127.0.0.1, without Docker.

SAM CLI's own pieces do the gateway's work, in this process:

- `SamLocalStackProvider.get_stacks`: the template after the SAM transform (Globals merged,
  parameters resolved);
- `SamFunctionProvider`: each function's CodeUri, Handler, Layers and Environment;
- `ApiProvider`: routes and the Lambda authorizer;
- `LocalApigwService`: the Flask app that builds API Gateway REST proxy events, runs the
  authorizer and calls `lambda_runner.invoke(...)`.

Written here by hand, because SAM CLI lacks it (each place says so):

- `InProcessLambdaRunner` stands in for SAM CLI's Docker-based `LocalLambdaRunner`: it imports
  each handler from its CodeUri (layers on `sys.path`), one request at a time per function,
  and reloads the code when a file under a CodeUri or a layer changes;
- `LocalGateway` adds what the deployed stage does and `sam local start-api` does not: the
  authorizer result cache (`ReauthorizeEvery`), the template's `GatewayResponses` and 502 on a
  function error, and logs one line per request;
- `stream_pollers`: DynamoDB stream events of functions, through `devtools.stream_poller`, with
  published EventBridge events going to `devtools.local_events` (SAM CLI runs no event sources).

    python -m devtools.local_server      # PORT (default 3000), TODO_LOCAL_API_KEYS (tenant:key,...)
"""

from __future__ import annotations

import os

os.environ.setdefault("SAM_CLI_TELEMETRY", "0")

import importlib
import json
import logging
import signal
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from flask import Flask, Response, g, request
from samcli.lib.providers.api_provider import ApiProvider
from samcli.lib.providers.provider import Function, Stack
from samcli.lib.providers.sam_function_provider import SamFunctionProvider
from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider
from samcli.lib.utils.stream_writer import StreamWriter
from samcli.local.apigw.authorizers.lambda_authorizer import LambdaAuthorizer
from samcli.local.apigw.event_constructor import _should_base64_encode
from samcli.local.apigw.local_apigw_service import LocalApigwService
from samcli.local.apigw.route import Route
from samcli.local.lambdafn.exceptions import FunctionNotFound
from werkzeug.serving import make_server

from devtools import dynamodb_local
from devtools.loader import ensure_layer_on_path, load_module

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
DEFAULT_KEYS = "demo:local-dev-key"
LOCAL_FUNCTION_NAME = "todo-local"
REGION = dynamodb_local.REGION
WATCHED_SUFFIXES = (".py", ".json")
MODULE_PREFIX = "functions_"
# Credentials variables a developer's shell may hold; the functions must never see them locally.
_SHELL_AWS_VARIABLES = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")


class LocalServerError(RuntimeError):
    """The template asks for something the local server cannot do."""


# ---------------------------------------------------------------------------------- template


@dataclass
class LocalTemplate:
    """The template as SAM CLI reads it."""

    path: Path
    stacks: list[Stack]
    functions: SamFunctionProvider
    apis: ApiProvider

    @classmethod
    def load(cls, template_path: Path | str = TEMPLATE) -> LocalTemplate:
        path = Path(template_path).resolve()
        stacks, remote = SamLocalStackProvider.get_stacks(str(path))
        if remote or len(stacks) != 1:
            raise LocalServerError("nested or remote stacks are not supported by the local server")
        functions = SamFunctionProvider(stacks, ignore_code_extraction_warnings=True)
        local = cls(path, stacks, functions, ApiProvider(stacks, cwd=str(path.parent)))
        local.check_authorizers()
        return local

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return dict(self.stacks[0].resources)

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


def function_environment(functions: Iterable[Function], tables: dict[str, str], ddb_endpoint: str) -> dict[str, str]:
    """One environment for every function of the process (see the module docstring).

    SAM CLI resolves `!Ref <Table>` to the table's logical id; those become the local names. All
    functions share this process, and so its environment: two different values of one variable
    cannot be honoured and fail here, before any function runs.
    """
    merged: dict[str, str] = {}
    owners: dict[str, str] = {}
    for function in functions:
        variables = (function.environment or {}).get("Variables", {}) or {}
        for name, raw in variables.items():
            if isinstance(raw, (dict, list)):
                raise LocalServerError(f"{function.name}: {name} is not resolvable locally: {raw!r}")
            value = str(raw).lower() if isinstance(raw, bool) else str(raw)
            value = tables.get(value, value)
            if name in merged and merged[name] != value:
                raise LocalServerError(
                    f"{name} differs between {owners[name]} ({merged[name]!r}) and {function.name} ({value!r}); "
                    "the local server runs every function in one process with one environment"
                )
            merged[name], owners[name] = value, function.name
    merged.update(
        AWS_ENDPOINT_URL_DYNAMODB=ddb_endpoint,
        AWS_ACCESS_KEY_ID="local",
        AWS_SECRET_ACCESS_KEY="local",  # noqa: S106  # dummy: DynamoDB Local accepts any credentials
        AWS_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
        # Per function in AWS; one process here. The LambdaContext carries each function's own name.
        AWS_LAMBDA_FUNCTION_NAME=LOCAL_FUNCTION_NAME,
    )
    return merged


def apply_environment(variables: dict[str, str]) -> None:
    """Set the functions' environment process-wide, before any function module is loaded."""
    for name in _SHELL_AWS_VARIABLES:
        os.environ.pop(name, None)
    os.environ.update(variables)


# ----------------------------------------------------------------------------- the runner


class FunctionError(Exception):
    """A function raised: what the Lambda runtime reports as errorType and errorMessage."""

    def __init__(self, function: str, error: BaseException) -> None:
        super().__init__(str(error))
        self.function = function
        self.error_type = type(error).__name__
        self.message = str(error)


@dataclass
class LambdaContext:
    """The parts of the Lambda context object that handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int
    timeout_seconds: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    client_context: Any = None
    identity: Any = None
    _deadline: float = 0.0

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:123456789012:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return "local"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class CodeWatcher:
    """Detects a change (edit, new or deleted file) under the watched folders by mtime and size."""

    def __init__(self, folders: Iterable[Path]) -> None:
        self.folders = sorted({Path(f).resolve() for f in folders})
        self._stamp = self._scan()

    def _scan(self) -> frozenset[tuple[str, int, int]]:
        stamp = set()
        for folder in self.folders:
            for path in folder.rglob("*"):
                if path.suffix in WATCHED_SUFFIXES and "__pycache__" not in path.parts:
                    try:
                        stat = path.stat()
                    except FileNotFoundError:
                        continue
                    stamp.add((str(path), stat.st_mtime_ns, stat.st_size))
        return frozenset(stamp)

    def changed(self) -> bool:
        stamp = self._scan()
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        return True


class InProcessLambdaRunner:
    """Stands in for `samcli.commands.local.lib.local_lambda.LocalLambdaRunner` (written by hand:
    SAM CLI can only run functions in Docker). Same `invoke` signature as the original: the event
    comes in as a JSON string and the handler's result goes out, as JSON, to `stdout`.

    Like one Lambda instance per function, a function serves one request at a time.
    """

    def __init__(self, template: LocalTemplate, hot_reload: bool = True) -> None:
        self.template = template
        self.hot_reload = hot_reload
        self._locks = {f.name: threading.Lock() for f in template.all_functions()}
        self._reload_lock = threading.Lock()
        self._generation = 0
        self._handlers: dict[str, tuple[int, Callable[[dict[str, Any], Any], Any]]] = {}
        self.layer_dirs = self._layer_dirs()
        self.watcher = CodeWatcher([*self.code_dirs(), *self.layer_dirs])

    def code_dirs(self) -> list[Path]:
        return [Path(f.codeuri) for f in self.template.all_functions() if f.codeuri]

    def _layer_dirs(self) -> list[Path]:
        dirs = []
        for function in self.template.all_functions():
            for layer in function.layers:
                if not layer.codeuri:
                    raise LocalServerError(f"{function.name}: layer {layer.name} has no local ContentUri")
                dirs.append(Path(layer.codeuri).resolve())
        return sorted(set(dirs))

    def layer_packages(self) -> set[str]:
        """Top-level module names that the layers provide (purged from sys.modules on reload)."""
        names = set()
        for folder in self.layer_dirs:
            for child in folder.iterdir():
                if child.is_dir() and (child / "__init__.py").exists():
                    names.add(child.name)
                elif child.suffix == ".py":
                    names.add(child.stem)
        return names

    # The LocalLambdaRunner interface used by LocalApigwService.
    def is_debugging(self) -> bool:
        return False

    def get_function(self, function_identifier: str, tenant_id: str | None = None) -> Function:
        function = self.template.functions.get(function_identifier)
        if function is None:
            raise FunctionNotFound(f"Unable to find a Function with name '{function_identifier}'")
        return function

    def invoke(
        self,
        function_identifier: str,
        event: str,
        tenant_id: str | None = None,
        stdout: StreamWriter | None = None,
        stderr: StreamWriter | None = None,
        **_ignored: Any,
    ) -> None:
        result = self.run(function_identifier, json.loads(event))
        if stdout is not None:
            stdout.write_str(json.dumps(result))

    def run(self, function_identifier: str, event: Any) -> Any:
        """Invoke a function with an event (a dict); return its result or raise FunctionError."""
        function = self.get_function(function_identifier)
        with self._locks[function.name]:
            handler = self.handler(function)
            context = LambdaContext(function.name, int(function.memory or 128), int(function.timeout or 3))
            try:
                return handler(event, context)
            except Exception as error:
                # The Lambda runtime logs the error and reports errorType/errorMessage to the caller.
                if str(error) == "Unauthorized":  # an authorizer's expected denial: one line is enough
                    print(f"[{function.name}] {type(error).__name__}: {error}", file=sys.stderr, flush=True)
                else:
                    traceback.print_exc(file=sys.stderr)
                raise FunctionError(function.name, error) from error

    def handler(self, function: Function) -> Callable[[dict[str, Any], Any], Any]:
        self.reload_if_changed()
        cached = self._handlers.get(function.name)
        if cached is not None and cached[0] == self._generation:
            return cached[1]
        for folder in self.layer_dirs:
            if str(folder) not in sys.path:
                sys.path.insert(0, str(folder))
        if not function.codeuri or not function.handler:
            raise LocalServerError(f"{function.name}: only zip functions with CodeUri and Handler run locally")
        module = load_module(Path(function.codeuri), function.handler, f"{MODULE_PREFIX}{function.name}", fresh=True)
        entry = getattr(module, function.handler.rsplit(".", 1)[1])
        self._handlers[function.name] = (self._generation, entry)
        return entry  # type: ignore[no-any-return]

    def reload_if_changed(self) -> None:
        if not self.hot_reload:
            return
        with self._reload_lock:
            if self.watcher.changed():
                purge_modules(self.layer_packages())
                importlib.invalidate_caches()
                self._generation += 1
                print("[local] code changed: functions reload on their next request", file=sys.stderr, flush=True)


def purge_modules(packages: Iterable[str]) -> None:
    """Forget the functions' modules and the layers' packages, so the next import reads the files again."""
    prefixes = tuple(packages)
    for name in list(sys.modules):
        if name.startswith(MODULE_PREFIX) or name in prefixes or name.startswith(tuple(p + "." for p in prefixes)):
            del sys.modules[name]


# ---------------------------------------------------------------------------- the gateway


class _QuietDenials(logging.Filter):
    """SAM CLI logs an authorizer's "Unauthorized" as an error; here it is an ordinary 401."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (str(record.msg).startswith("Lambda authorizer failed") and record.args == ("Unauthorized",))


logging.getLogger(LocalApigwService.__module__).addFilter(_QuietDenials())

# API Gateway's own status and message of each gateway response type used here.
_RESPONSE_DEFAULTS = {
    "UNAUTHORIZED": (401, "Unauthorized"),
    "ACCESS_DENIED": (403, "User is not authorized to access this resource"),
    "MISSING_AUTHENTICATION_TOKEN": (403, "Missing Authentication Token"),
    "AUTHORIZER_FAILURE": (500, "Internal server error"),
    "DEFAULT_4XX": (400, "Bad request"),
    "DEFAULT_5XX": (502, "Internal server error"),
}


class GatewayResponses:
    """The template's `GatewayResponses`, rendered as API Gateway does (written by hand: SAM CLI
    ignores them). Supports static header values and `$context.error.message(String)` /
    `$context.error.responseType` in the `application/json` template."""

    def __init__(self, spec: dict[str, dict[str, Any]]) -> None:
        self.spec = spec

    def render(self, response_type: str, status: int | None = None, message: str | None = None) -> Response:
        default_status, default_message = _RESPONSE_DEFAULTS.get(response_type, (status or 500, "Error"))
        own = self.spec.get(response_type, {})
        code = int(own.get("StatusCode") or status or default_status)
        family = self.spec.get("DEFAULT_4XX" if code < 500 else "DEFAULT_5XX", {})
        text = message or default_message
        templates = own.get("ResponseTemplates") or family.get("ResponseTemplates") or {}
        template = templates.get("application/json", '{"message": $context.error.messageString}')
        body = (
            template.replace("$context.error.messageString", json.dumps(text))
            .replace("$context.error.message", text)
            .replace("$context.error.responseType", response_type)
        )
        response = Response(body, status=code, content_type="application/json")
        for source in (family, own):
            for name, value in (source.get("ResponseParameters", {}).get("Headers", {}) or {}).items():
                value = str(value)
                if not (value.startswith("'") and value.endswith("'")):
                    raise LocalServerError(f"gateway response header {name}: only static 'values' work locally")
                response.headers[name] = value[1:-1]
        return response


class LocalGateway(LocalApigwService):  # type: ignore[misc]  # samcli ships no type hints
    """SAM CLI's gateway plus what the deployed stage does and SAM CLI does not (written by hand):

    - the authorizer result cache: `ReauthorizeEvery` seconds per identity value;
    - the template's GatewayResponses instead of SAM CLI's `{"message": ...}` bodies, and 404
      (MISSING_AUTHENTICATION_TOKEN) for an unknown route or method;
    - 502 with a JSON body when a function raises (SAM CLI answers 500);
    - one log line per request to stderr.
    """

    def __init__(
        self,
        template: LocalTemplate,
        runner: InProcessLambdaRunner,
        port: int = 3000,
        host: str = "127.0.0.1",
        log: Callable[[str], None] | None = None,
    ) -> None:
        api = template.apis.api
        if not api.routes:
            raise LocalServerError("no API routes in the template")
        super().__init__(api=api, lambda_runner=runner, port=port, host=host)
        self.template = template
        self.runner = runner
        self.responses = GatewayResponses(template.gateway_responses())
        self.authorizer_ttls = template.authorizer_ttls()
        self._auth_cache: dict[tuple[str, tuple[str | None, ...]], tuple[float, str | bytes]] = {}
        self._auth_lock = threading.Lock()
        self._local = threading.local()
        self.clock: Callable[[], float] = time.monotonic  # tests move it forward past ReauthorizeEvery
        self.log = log or (lambda line: print(line, file=sys.stderr, flush=True))

    @property
    def app(self) -> Flask:
        if self._app is None:
            self.create()
        return cast(Flask, self._app)

    def create(self) -> None:
        super().create()
        app = cast(Flask, self._app)
        not_found = lambda _error: self.responses.render("MISSING_AUTHENTICATION_TOKEN")  # noqa: E731
        app.register_error_handler(404, not_found)
        app.register_error_handler(405, not_found)
        app.register_error_handler(500, lambda _error: self.responses.render("DEFAULT_5XX", 500))
        app.before_request(self._start_timer)
        app.after_request(self._log_request)

    # -- logging
    @staticmethod
    def _start_timer() -> None:
        g.started = time.perf_counter()
        g.function = "-"

    def _log_request(self, response: Response) -> Response:
        millis = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
        path = request.full_path.rstrip("?")
        self.log(f"{request.method} {path} {response.status_code} {g.get('function')} {millis:.0f}ms")
        return response

    # -- responses
    @staticmethod
    def service_response(body: Any, headers: Any, status_code: int) -> Response:
        """The function's own response: marked, so that only SAM CLI's error responses are replaced."""
        response = cast(Response, LocalApigwService.service_response(body, headers, status_code))
        response.from_integration = True  # type: ignore[attr-defined]
        return response

    def _request_handler(self, **kwargs: Any) -> Response:
        try:
            route: Route = self._get_current_route(request)
        except KeyError:  # HEAD, which Flask adds to every GET route: no such method in the template
            return self.responses.render("MISSING_AUTHENTICATION_TOKEN")
        g.function = route.function_name
        self._replace_invalid_utf8_body()
        try:
            response = cast(Response, super()._request_handler(**kwargs))
        except FunctionError as error:
            authorizer = route.authorizer_object
            if isinstance(authorizer, LambdaAuthorizer) and error.function == authorizer.lambda_name:
                g.function = error.function
                # API Gateway answers 401 when an authorizer raises exactly "Unauthorized", else 500.
                if error.message == "Unauthorized":
                    return self.responses.render("UNAUTHORIZED")
                return self.responses.render("AUTHORIZER_FAILURE")
            return self.responses.render("DEFAULT_5XX", 502, "Internal server error")
        if getattr(response, "from_integration", False):
            return response
        return self._replace_service_error(response)

    def _replace_service_error(self, response: Response) -> Response:
        """Map a SAM CLI error response to the gateway response type API Gateway would use."""
        status = response.status_code
        if status == 401:  # identity source missing: the authorizer is not called
            return self.responses.render("UNAUTHORIZED")
        if status == 403:  # the authorizer's policy denies the method
            return self.responses.render("ACCESS_DENIED")
        if status >= 500:  # invalid function response and the like: API Gateway says 502
            return self.responses.render("DEFAULT_5XX", 502 if status in (500, 502) else status)
        message = (response.get_json(silent=True) or {}).get("message")
        return self.responses.render("DEFAULT_4XX", status, message)

    def _replace_invalid_utf8_body(self) -> None:
        """API Gateway hands a text (non-binary) body that is not valid UTF-8 to the function with U+FFFD in
        place of the bad bytes; SAM CLI answers 502 instead (written by hand: SAM CLI has no such option)."""
        if _should_base64_encode(self.api.binary_media_types, request.mimetype):
            return
        data = request.get_data(cache=True)
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            request._cached_data = data.decode("utf-8", errors="replace").encode("utf-8")

    # -- authorizer cache
    def _invoke_parse_lambda_authorizer(
        self,
        lambda_authorizer: LambdaAuthorizer,
        auth_lambda_event: dict[str, Any],
        route_lambda_event: dict[str, Any],
        route: Route,
    ) -> None:
        ttl = self.authorizer_ttls.get(lambda_authorizer.authorizer_name, 300)
        if ttl > 0:
            identity = tuple(s.find_identity_value(headers=request.headers) for s in lambda_authorizer.identity_sources)
            self._local.auth = ((lambda_authorizer.authorizer_name, identity), ttl)
        try:
            super()._invoke_parse_lambda_authorizer(lambda_authorizer, auth_lambda_event, route_lambda_event, route)
        finally:
            self._local.auth = None

    def _invoke_lambda_function(
        self, lambda_function_name: str, event: dict[str, Any], tenant_id: str | None = None
    ) -> str | bytes:
        pending = getattr(self._local, "auth", None)
        if pending is None:
            return cast(str | bytes, super()._invoke_lambda_function(lambda_function_name, event, tenant_id))
        self._local.auth = None  # only the authorizer's own invocation is cached
        key, ttl = pending
        now = self.clock()
        with self._auth_lock:
            hit = self._auth_cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        result = cast(str | bytes, super()._invoke_lambda_function(lambda_function_name, event, tenant_id))
        with self._auth_lock:
            self._auth_cache[key] = (now + ttl, result)
        return result


# ------------------------------------------------------------------------------ assembly


def build_gateway(
    template_path: Path | str,
    ddb_endpoint: str,
    *,
    port: int = 3000,
    hot_reload: bool = True,
    log: Callable[[str], None] | None = None,
    extra_env: dict[str, str] | None = None,
) -> LocalGateway:
    """The gateway of `template_path` against DynamoDB Local at `ddb_endpoint` (sets the process environment,
    plus `extra_env`, e.g. AWS_ENDPOINT_URL_EVENTBRIDGE of a LocalEventBus)."""
    template = LocalTemplate.load(template_path)
    tables = dynamodb_local.table_names(template.path)
    apply_environment({**function_environment(template.all_functions(), tables, ddb_endpoint), **(extra_env or {})})
    runner = InProcessLambdaRunner(template, hot_reload=hot_reload)
    purge_modules(runner.layer_packages())  # modules imported before the environment was set
    gateway = LocalGateway(template, runner, port=port, log=log)
    gateway.create()
    return gateway


def build_local_api(template_path: Path | str, ddb_endpoint: str, **options: Any) -> Flask:
    """The gateway as a Flask app, for `app.test_client()`; `app.extensions["local_gateway"]` is the gateway."""
    gateway = build_gateway(template_path, ddb_endpoint, **options)
    gateway.app.extensions["local_gateway"] = gateway
    return gateway.app


# -------------------------------------------------------------------- stream event sources


def _check_pattern(pattern: Any, where: str) -> None:
    if isinstance(pattern, dict):
        for value in pattern.values():
            _check_pattern(value, where)
    elif not isinstance(pattern, list) or any(isinstance(v, (dict, list)) for v in pattern):
        raise LocalServerError(f"{where}: only exact-value filter patterns work locally, not {pattern!r}")


def matches(pattern: Any, value: Any) -> bool:
    """Lambda event filtering, for the subset `_check_pattern` admits: nested keys, lists of exact values."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(k in value and matches(p, value[k]) for k, p in pattern.items())
    return value in pattern


def stream_pollers(gateway: LocalGateway, ddb_endpoint: str) -> list[Any]:
    """A `devtools.stream_poller.StreamPoller` (not started) per DynamoDB stream event of a function.

    Written by hand: SAM CLI runs no event source mappings locally. The event's BatchSize,
    StartingPosition, MaximumRetryAttempts and FilterCriteria (exact-value patterns) apply; bisecting
    and the on-failure destination do not (discarded records are logged).
    """
    from devtools.stream_poller import StreamPoller

    pollers = []
    for function in gateway.template.all_functions():
        for name, event in (function.events or {}).items():
            props = event.get("Properties", {})
            if event.get("Type") != "DynamoDB" or props.get("Enabled") is False:
                continue
            where = f"{function.name}.Events.{name}"
            stream = props.get("Stream")
            target = stream.get("Fn::GetAtt") if isinstance(stream, dict) else None
            if not (isinstance(target, list) and len(target) == 2 and target[1] == "StreamArn"):
                raise LocalServerError(f"{where}: only `Stream: !GetAtt <Table>.StreamArn` works locally")
            patterns = [json.loads(f["Pattern"]) for f in props.get("FilterCriteria", {}).get("Filters", [])]
            for pattern in patterns:
                _check_pattern(pattern, where)
            retries = int(props.get("MaximumRetryAttempts", -1))
            pollers.append(
                StreamPoller(
                    _stream_handler(gateway.runner, function.name, patterns),
                    table_name=dynamodb_local.local_table_name(target[0]),
                    endpoint_url=ddb_endpoint,
                    region=REGION,
                    batch_size=int(props.get("BatchSize", 100)),
                    max_retries=10_000 if retries < 0 else retries,
                    starting_position=props.get("StartingPosition", "LATEST"),
                )
            )
    return pollers


def _stream_handler(runner: InProcessLambdaRunner, function: str, patterns: list[Any]) -> Callable[[Any], Any]:
    def handle(event: dict[str, Any]) -> Any:
        records = [r for r in event["Records"] if not patterns or any(matches(p, r) for p in patterns)]
        if not records:
            return {"batchItemFailures": []}
        started = time.perf_counter()
        try:
            return runner.run(function, {**event, "Records": records})
        finally:
            millis = (time.perf_counter() - started) * 1000
            print(f"STREAM {len(records)} records {function} {millis:.0f}ms", file=sys.stderr, flush=True)

    return handle


def parse_keys(spec: str) -> list[tuple[str, str]]:
    pairs = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        tenant, sep, key = item.partition(":")
        if not sep or not tenant or not key:
            raise LocalServerError(f"TODO_LOCAL_API_KEYS: {item!r} is not tenant:key")
        pairs.append((tenant, key))
    return pairs


def provision_keys(ddb_endpoint: str, table_name: str, pairs: list[tuple[str, str]]) -> None:
    """Store each key's hash for its tenant (idempotent), through the project's own KeyStore."""
    from todo_api.adapters.key_store import DynamoDBKeyStore

    store = DynamoDBKeyStore(dynamodb_local.client(ddb_endpoint), table_name)
    for tenant, key in pairs:
        store.add(tenant, key)


def data_dir() -> Path:
    """DynamoDB Local's data folder: `.local/dynamodb`, or DYNAMODB_LOCAL_DIR."""
    return Path(os.environ.get("DYNAMODB_LOCAL_DIR") or dynamodb_local.DEFAULT_DB_PATH)


def endpoint_file() -> Path:
    """Where a running server publishes its DynamoDB Local endpoint (read by `make invoke` and `make key`)."""
    if "DYNAMODB_LOCAL_DIR" in os.environ:
        return data_dir() / "endpoint"
    return dynamodb_local.ENDPOINT_FILE


def events_file() -> Path:
    """Where the local EventBridge stand-in appends the published events."""
    if "DYNAMODB_LOCAL_DIR" in os.environ:
        return data_dir() / "events.jsonl"
    return dynamodb_local.LOCAL_DIR / "events.jsonl"


@contextmanager
def local_dynamodb() -> Iterator[str]:
    """DynamoDB Local on `data_dir()` with the template's tables; its endpoint is published in a file."""
    dynamodb_local.refuse_second_instance(endpoint_file())
    with dynamodb_local.running(data_dir(), port=int(os.environ.get("DYNAMODB_PORT", "0")) or None) as ddb:
        endpoint_file().write_text(ddb.endpoint, encoding="utf-8")
        try:
            yield ddb.endpoint
        finally:
            endpoint_file().unlink(missing_ok=True)


def main() -> int:
    ensure_layer_on_path()
    port = int(os.environ.get("PORT", "3000"))
    host = "127.0.0.1"
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the gateway logs one line per request itself

    def stop(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        pairs = parse_keys(os.environ.get("TODO_LOCAL_API_KEYS", DEFAULT_KEYS))
        from devtools import oidc
        from devtools.local_events import LocalEventBus

        with (
            local_dynamodb() as endpoint,
            LocalEventBus(events_file()) as bus,
            oidc.serve_default() as issuer,
            ExitStack() as pollers,
        ):
            extra_env = {"AWS_ENDPOINT_URL_EVENTBRIDGE": bus.endpoint, **oidc.environment(issuer.url)}
            gateway = build_gateway(TEMPLATE, endpoint, port=port, extra_env=extra_env)
            tables = dynamodb_local.table_names(TEMPLATE)
            provision_keys(endpoint, tables["TodoTable"], pairs)
            for poller in stream_pollers(gateway, endpoint):
                pollers.enter_context(poller)
            server = make_server(host, port, gateway.app, threaded=True)
            url = f"http://{host}:{port}"
            key = pairs[0][1] if pairs else "<no key: set TODO_LOCAL_API_KEYS>"
            print(
                f"To-Do API on {url}  (DynamoDB Local on {endpoint}; Ctrl-C to stop)\n"
                f"  tenants and keys: {', '.join(f'{t}:{k}' for t, k in pairs)}\n"
                f"  try: curl -s -H 'x-api-key: {key}' -H 'content-type: application/json' "
                f'-d \'{{"title": "Read a book"}}\' {url}/todos\n'
                f"       curl -s -H 'x-api-key: {key}' {url}/todos\n"
                f"  signed-in users: OIDC issuer {issuer.url}; TOKEN=$(make -s token USER=alice | tail -n 1)\n"
                f'       curl -s -H "Authorization: Bearer $TOKEN" {url}/todos\n'
                f"  docs: {url}/docs    published events: tail -f {events_file()}",
                flush=True,
            )
            try:
                server.serve_forever()
            finally:
                server.server_close()
    except KeyboardInterrupt:
        print("\nstopped", file=sys.stderr)
        return 0
    except (LocalServerError, dynamodb_local.DynamoDBLocalError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
