"""SAM CLI's API Gateway emulation (`LocalApigwService`), plus what the deployed stage does and
`sam local start-api` does not (written by hand, each place says so): the authorizer result cache
(`ReauthorizeEvery`), the template's `GatewayResponses` and 502 on a function error, API Gateway's
own limits (a 10 MB payload, refused before any function; odd paths answered as JSON, never a
redirect), a timeout on stalled client connections, and one log line per request. Being a server
of the developer's machine, it also answers only to a loopback `Host` (a DNS rebinding defence).

SAM CLI's own pieces read the routes (`ApiProvider`), build API Gateway REST proxy events, run the
authorizer and call `runner.invoke(...)`. The additions are composed around them through public
surfaces: Flask's request hooks, error handlers, view functions and request class, and the runner
SAM CLI is given (`StageInvoker`, which wraps the Lambda runner). The few private parts still used
are in PRIVATE_SURFACE, which `tests/local/test_local_gateway.py` checks against the installed
SAM CLI and werkzeug.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, Literal, cast, overload
from urllib.parse import quote, unquote

from flask import Flask, Request, Response, g, request
from samcli.lib.utils.stream_writer import StreamWriter
from samcli.local.apigw.authorizers.lambda_authorizer import LambdaAuthorizer
from samcli.local.apigw.event_constructor import _should_base64_encode
from samcli.local.apigw.local_apigw_service import LocalApigwService
from samcli.local.apigw.path_converter import PathConverter
from samcli.local.apigw.route import Route
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge
from werkzeug.serving import WSGIRequestHandler

from devtools.emulator.environment import apply_environment, function_environment
from devtools.emulator.runner import FunctionError, InProcessLambdaRunner, LambdaRunner, Throttled, purge_modules
from devtools.emulator.secrets import local_secrets
from devtools.emulator.template import LocalServerError, LocalTemplate

# What the gateway answers, with Retry-After, while DynamoDB Local is down: API Gateway's own body
# of a 503, unless the server sets the functions' own (`LocalGateway.storage_unavailable_body`).
STORE_UNAVAILABLE = {"message": "Service Unavailable"}
RETRY_AFTER_SECONDS = "1"
# API Gateway's payload limit (REST APIs: 10 MB), enforced before the authorizer or any function.
PAYLOAD_LIMIT = 10 * 1024 * 1024
# Seconds a client connection may stay silent (no request line, or a body that stops arriving)
# before the server closes it; TODO_LOCAL_CLIENT_TIMEOUT overrides it.
CLIENT_TIMEOUT = 30.0
_ENCODED_SLASH = re.compile("%2f", re.IGNORECASE)
# Authorizer results kept at most (one per identity: key or token); past it, the expired ones are
# dropped, and the oldest if still too many, so a stream of new tokens cannot grow the server.
AUTH_CACHE_ENTRIES = 10_000
# The names this machine's own clients reach the gateway by: any other `Host` is a page of another
# site whose name was made to resolve to 127.0.0.1 (DNS rebinding), and is answered 421.
LOOPBACK_HOST = re.compile(r"(?:localhost|127\.0\.0\.1|\[::1\])(?::[0-9]{1,5})?", re.IGNORECASE)
MISDIRECTED = {"error": "Misdirected request: this local server answers only to the Host localhost, 127.0.0.1 or [::1]"}
# What this module uses of SAM CLI and werkzeug that is not public API, and why: name -> the
# parameters it must have (None: an attribute or a key, checked by behaviour). Each is checked
# against the installed versions by tests/local/test_local_gateway.py, so that an upgrade that
# changes one fails there.
PRIVATE_SURFACE: dict[str, tuple[str, ...] | None] = {
    # Overridden: SAM CLI matches the authorizer's policy against the method ARN it builds itself,
    # and the policy's `*` does not match a newline of the path (`LocalGateway._create_method_arn`).
    "samcli.local.apigw.local_apigw_service:LocalApigwService._create_method_arn": (
        "self",
        "flask_request",
        "event_type",
    ),
    # The same decision as SAM CLI's event constructors (a body is base64, else read as UTF-8).
    "samcli.local.apigw.event_constructor:_should_base64_encode": ("binary_types", "request_mimetype"),
    # The Flask app that `create()` makes: SAM CLI has no public accessor.
    "samcli.local.services.base_local_service:BaseLocalService._app": None,
    # The path as sent (before `%2F` is decoded), in the environ of werkzeug's development server.
    "werkzeug.serving:WSGIRequestHandler.make_environ RAW_URI": None,
}


def client_timeout() -> float:
    return float(os.environ.get("TODO_LOCAL_CLIENT_TIMEOUT") or CLIENT_TIMEOUT)


def request_handler(timeout: float) -> type[WSGIRequestHandler]:
    """The server's connection handler with a socket timeout: a client that sends nothing, or a body
    shorter than its Content-Length, is answered (or dropped) and its thread freed after `timeout`
    seconds of silence instead of being held for ever."""
    return type("TimeoutRequestHandler", (WSGIRequestHandler,), {"timeout": timeout})


def keep_encoded_slashes(wsgi_app: Any) -> Any:
    """WSGI middleware: an encoded slash (`%2F`) of the path stays part of its path segment, as
    API Gateway routes it (`/todos/%2F` is a todo id), instead of becoming a separator the way the
    WSGI server decodes `PATH_INFO` (`/todos//`, an empty segment)."""

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        raw = environ.get("RAW_URI") or ""
        if _ENCODED_SLASH.search(raw):
            target = raw.encode("latin-1").decode("utf-8", errors="replace").split("?", 1)[0]
            if target.startswith("/"):
                path = "%2F".join(unquote(part) for part in _ENCODED_SLASH.split(target))
                environ["PATH_INFO"] = path.encode("utf-8").decode("latin-1")
        return wsgi_app(environ, start_response)

    return app


def under_stage(wsgi_app: Any, stage: str) -> Any:
    """WSGI middleware: the API under `/<stage>`, as on a stage URL (`https://<api>.execute-api.../dev`):
    the stage moves from the path to SCRIPT_NAME; a path outside it gets what API Gateway answers
    there, `403 {"message": "Forbidden"}`."""
    prefix = "/" + stage.strip("/")

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO") or "/"
        if path != prefix and not path.startswith(prefix + "/"):
            forbidden = Response(json.dumps({"message": "Forbidden"}), 403, content_type="application/json")
            return forbidden(environ, start_response)
        environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + prefix
        environ["PATH_INFO"] = path[len(prefix) :] or "/"
        raw = environ.get("RAW_URI")
        if isinstance(raw, str) and raw.startswith(prefix):
            environ["RAW_URI"] = raw[len(prefix) :] or "/"
        return wsgi_app(environ, start_response)

    return app


def escaped(text: str) -> str:
    """`text` with every space, control or non-ASCII character percent-encoded (safe for one log line)."""
    return quote(text, safe="/?&=:;,@!$'()*+~%#[]")


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
    # A Lambda proxy integration's failure to invoke (a throttled function among them): API Gateway
    # answers it 500 unless the template gives this type a status of its own.
    "INTEGRATION_FAILURE": (500, "Internal server error"),
    "REQUEST_TOO_LARGE": (413, "Request Too Long"),
    "DEFAULT_4XX": (400, "Bad request"),
    "DEFAULT_5XX": (502, "Internal server error"),
}


_AUTHORIZER_VARIABLE = "context.authorizer."


class GatewayResponses:
    """The template's `GatewayResponses`, rendered as API Gateway does (written by hand: SAM CLI
    ignores them). Supports static header values and `context.authorizer.<key>` header mappings,
    and `$context.error.message(String)`, `$context.error.responseType` and
    `$context.authorizer.<key>` in the `application/json` template (the keys of the context of
    the authorizer's policy, as API Gateway gives them to an ACCESS_DENIED response)."""

    def __init__(self, spec: dict[str, dict[str, Any]]) -> None:
        self.spec = spec

    def headers(self, response_type: str, status: int, authorizer: dict[str, Any] | None = None) -> dict[str, str]:
        """The headers of a gateway response type (its family's, then its own); a mapping of an
        authorizer's context key that it did not return is left out, as API Gateway leaves it."""
        own = self.spec.get(response_type, {})
        family = self.spec.get("DEFAULT_4XX" if status < 500 else "DEFAULT_5XX", {})
        headers = {}
        for source in (family, own):
            for name, value in (source.get("ResponseParameters", {}).get("Headers", {}) or {}).items():
                value = str(value)
                if value.startswith(_AUTHORIZER_VARIABLE):
                    found = (authorizer or {}).get(value.removeprefix(_AUTHORIZER_VARIABLE))
                    if found is not None:
                        headers[name] = str(found)
                    continue
                if not (value.startswith("'") and value.endswith("'")):
                    raise LocalServerError(
                        f"gateway response header {name}: only static 'values' and context.authorizer.* work locally"
                    )
                headers[name] = value[1:-1].replace("''", "'")  # a quote inside is doubled
        return headers

    def render(
        self,
        response_type: str,
        status: int | None = None,
        message: str | None = None,
        authorizer: dict[str, Any] | None = None,
    ) -> Response:
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
        body = re.sub(
            r"\$context\.authorizer\.([A-Za-z0-9_]+)", lambda m: str((authorizer or {}).get(m.group(1), "")), body
        )
        response = Response(body, status=code, content_type="application/json")
        response.headers.update(self.headers(response_type, code, authorizer))
        return response


class GatewayRequest(Request):
    """Flask's request, whose body can be handed to the functions changed once it is read
    (`replace_body`): SAM CLI's event constructors read it with the public `get_data`."""

    replaced_body: bytes | None = None

    def replace_body(self, data: bytes) -> None:
        self.replaced_body = data

    @overload
    def get_data(self, cache: bool = True, as_text: Literal[False] = False, parse_form_data: bool = False) -> bytes: ...

    @overload
    def get_data(self, cache: bool = True, as_text: Literal[True] = ..., parse_form_data: bool = False) -> str: ...

    def get_data(self, cache: bool = True, as_text: bool = False, parse_form_data: bool = False) -> bytes | str:
        data = self.replaced_body
        if data is None:
            data = super().get_data(cache=cache, parse_form_data=parse_form_data)
        return data.decode("utf-8", errors="replace") if as_text else data


class AuthorizerCache:
    """An authorizer's results per identity, each for its authorizer's `ReauthorizeEvery` seconds
    (written by hand: SAM CLI calls the authorizer on every request). Bounded: past
    AUTH_CACHE_ENTRIES, the expired ones are dropped, and the oldest if still too many."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock  # tests move it forward past ReauthorizeEvery
        self._results: dict[Hashable, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> str | None:
        with self._lock:
            hit = self._results.get(key)
        return hit[1] if hit is not None and hit[0] > self.clock() else None

    def put(self, key: Hashable, ttl: float, result: str) -> None:
        now = self.clock()
        with self._lock:
            self._results[key] = (now + ttl, result)
            if len(self._results) > AUTH_CACHE_ENTRIES:
                live = {k: v for k, v in self._results.items() if v[0] > now}
                self._results = dict(list(live.items())[-AUTH_CACHE_ENTRIES // 2 :])


class StageInvoker:
    """The runner as SAM CLI's gateway calls it (`lambda_runner.invoke(...)`, the signature of SAM
    CLI's `LocalLambdaRunner`), plus what the stage does around an invocation and SAM CLI does not:

    - the authorizer's invocation (its function, the first time in a request whose route has that
      authorizer) answered from an `AuthorizerCache`, keyed by the values of its identity sources;
      its result is kept in `g.authorizer_output` (an ACCESS_DENIED response reads its context);
    - on a stage URL (`stage`), the event's `requestContext` as API Gateway gives it: the client's
      path and the stage;
    - the route function's event in `g.event` and its authorizer's tenant in `g.tenant` (the log).

    Called in a request of the gateway: the request's route is `g.route`.
    """

    def __init__(self, runner: InProcessLambdaRunner, ttls: dict[str, int], stage: str | None) -> None:
        self.runner = runner
        self.ttls = ttls
        self.stage = stage
        self.cache = AuthorizerCache()

    def is_debugging(self) -> bool:
        return False

    def invoke(
        self,
        function_identifier: str,
        event: str,
        tenant_id: str | None = None,
        stdout: StreamWriter | None = None,
        stderr: StreamWriter | None = None,
        **_ignored: Any,
    ) -> None:
        authorizer = self._authorizer(function_identifier)
        parsed: dict[str, Any] = {}
        if self.stage or authorizer is None:
            parsed = json.loads(event)
        if self.stage:  # as API Gateway reports a stage URL's request: the client's path, the stage
            parsed.setdefault("requestContext", {}).update(path=request.script_root + request.path, stage=self.stage)
            event = json.dumps(parsed, sort_keys=True)
        if authorizer is not None:
            result = self._authorize(authorizer, function_identifier, event)
        else:  # the route's function: its event carries the authorizer's context
            context = (parsed.get("requestContext") or {}).get("authorizer") or {}
            g.tenant = context.get("tenant") if isinstance(context, dict) else None
            g.event = parsed
            result = self.runner.run(function_identifier, event)
        if stdout is not None:
            stdout.write_str(result)

    @staticmethod
    def _authorizer(function_identifier: str) -> LambdaAuthorizer | None:
        """The route's Lambda authorizer if this is its invocation (it comes before the route's function)."""
        route: Route | None = g.get("route")
        authorizer = route.authorizer_object if route is not None else None
        if isinstance(authorizer, LambdaAuthorizer) and authorizer.lambda_name == function_identifier:
            return None if "authorizer_output" in g else authorizer
        return None

    def _authorize(self, authorizer: LambdaAuthorizer, function_identifier: str, event: str) -> str:
        ttl = self.ttls.get(authorizer.authorizer_name, 300)  # 0: not cached
        identity = tuple(
            source.find_identity_value(headers=request.headers, querystring=request.query_string.decode("latin-1"))
            for source in authorizer.identity_sources
        )
        key = (authorizer.authorizer_name, identity)
        result = self.cache.get(key) if ttl > 0 else None
        if result is None:
            g.authorizing = True  # a FunctionError now is the authorizer's (LocalGateway._function_failed)
            result = self.runner.run(function_identifier, event)
            g.authorizing = False
            if ttl > 0:
                self.cache.put(key, ttl, result)
        g.authorizer_output = result
        return result


class LocalGateway(LocalApigwService):  # type: ignore[misc]  # samcli ships no type hints
    """SAM CLI's gateway plus what the deployed stage does and SAM CLI does not (written by hand):

    - the authorizer result cache: `ReauthorizeEvery` seconds per identity value (`StageInvoker`);
    - the template's GatewayResponses instead of SAM CLI's `{"message": ...}` bodies, and 404
      (MISSING_AUTHENTICATION_TOKEN) for an unknown route or method;
    - 502 with a JSON body when a function raises (SAM CLI answers 500), and the template's
      INTEGRATION_FAILURE response when a function is throttled (its reserved concurrency reached);
    - API Gateway's 10 MB payload limit (REQUEST_TOO_LARGE) before the authorizer or any function,
      reading at most the limit; a body that stops arriving answers 408 and closes the connection;
    - while DynamoDB Local is down (`storage_available()` false; it is supervised and restarted),
      `503` with `Retry-After` for every route behind the authorizer, its body
      `storage_unavailable_body` (the server sets what the functions answer then);
    - a `Host` that is not a loopback name (localhost, 127.0.0.1, [::1], with or without a port)
      answered 421 with a JSON error before anything else: a web page cannot reach the local API
      through DNS rebinding (its requests carry the page's own host name);
    - odd paths as API Gateway routes them: no redirect for `//` (Flask's merge_slashes), `%2F`
      kept inside its segment, control characters percent-encoded in the authorizer's methodArn
      (SAM CLI matches the policy's `*` with a regex that stops at a newline, so `/todos/a%0ab`
      with a valid key was a 401);
    - one log line per request to stderr;
    - optionally, the API under a stage's path (`/dev/...`, TODO_LOCAL_STAGE), as on a stage URL.

    Built around SAM CLI's service through public surfaces: Flask's hooks, error handlers and view
    functions, and the runner SAM CLI calls (`StageInvoker`); what is not public is in PRIVATE_SURFACE.
    """

    def __init__(
        self,
        template: LocalTemplate,
        runner: InProcessLambdaRunner,
        port: int = 3000,
        host: str = "127.0.0.1",
        log: Callable[[str], None] | None = None,
        stage: str | None = None,
    ) -> None:
        api = template.apis.api
        if not api.routes:
            raise LocalServerError("no API routes in the template")
        self.stage = stage.strip("/") if stage else None
        self.authorizer_ttls = template.authorizer_ttls()
        self.invoker = StageInvoker(runner, self.authorizer_ttls, self.stage)
        super().__init__(api=api, lambda_runner=self.invoker, port=port, host=host)
        self.template = template
        self.runner = runner
        self.responses = GatewayResponses(template.gateway_responses())
        self.storage_available: Callable[[], bool] = lambda: True
        self.storage_unavailable_body: dict[str, Any] = STORE_UNAVAILABLE
        self.log = log or (lambda line: print(line, file=sys.stderr, flush=True))
        # (Flask rule, method) -> the template's route
        self._routes: dict[tuple[str, str], Route] = {}
        # Told of each request after its log line (the local console; reads flask's `request` and `g`).
        self.on_request: Callable[[str, Response], None] | None = None

    @property
    def app(self) -> Flask:
        if self._app is None:
            self.create()
        return cast(Flask, self._app)

    def create(self) -> None:
        super().create()
        app = cast(Flask, self._app)
        app.request_class = GatewayRequest
        app.url_map.merge_slashes = False  # API Gateway never redirects: `/todos//` is an unknown route
        # Bounds a chunked body while it is read: one byte past the limit tells that it is over.
        app.config["MAX_CONTENT_LENGTH"] = PAYLOAD_LIMIT + 1
        app.wsgi_app = keep_encoded_slashes(app.wsgi_app)  # type: ignore[method-assign]
        if self.stage:
            app.wsgi_app = under_stage(app.wsgi_app, self.stage)  # type: ignore[method-assign]
        self._routes = self._route_table()
        for endpoint, view in list(app.view_functions.items()):  # SAM CLI's, one per route
            app.view_functions[endpoint] = self._answer(cast(Callable[..., Response], view))
        not_found = lambda _error: self.responses.render("MISSING_AUTHENTICATION_TOKEN")  # noqa: E731
        app.register_error_handler(404, not_found)
        app.register_error_handler(405, not_found)
        app.register_error_handler(413, lambda _error: self.responses.render("REQUEST_TOO_LARGE"))
        app.register_error_handler(500, lambda _error: self.responses.render("DEFAULT_5XX", 500))
        app.register_error_handler(FunctionError, self._function_failed)
        app.before_request(self._start_timer)
        app.before_request(self._loopback_host)
        app.before_request(self._forget_cold_starts)
        app.before_request(self._read_body)
        app.before_request(self._find_route)
        app.before_request(self._storage_guard)
        app.after_request(self._log_request)

    def _route_table(self) -> dict[tuple[str, str], Route]:
        """The template's routes by the Flask rule SAM CLI made of each path and a method (an HTTP
        API's `$default` route under the catch-all rules SAM CLI adds for it, behind the others)."""
        table: dict[tuple[str, str], Route] = {}
        for route in self.api.routes:
            if route.path == "$default":
                for rule in ("/", "/<path:any_path>"):
                    table.update({(rule, method): route for method in Route.ANY_HTTP_METHODS})
        for route in self.api.routes:
            if route.path != "$default":
                rule = PathConverter.convert_path_to_flask(route.path)
                table.update({(rule, method): route for method in route.methods})
        return table

    # -- logging
    @staticmethod
    def _start_timer() -> None:
        g.started = time.perf_counter()
        g.function = "-"
        g.tenant = None

    def _loopback_host(self) -> Response | None:
        """421 unless the request names this machine's loopback (a DNS rebinding defence)."""
        if LOOPBACK_HOST.fullmatch(request.headers.get("Host", "")):
            return None
        response = Response(json.dumps(MISDIRECTED), 421, content_type="application/json")
        response.headers.update(self.responses.headers("DEFAULT_4XX", 421))
        return response

    def _forget_cold_starts(self) -> None:
        if isinstance(self.runner, LambdaRunner):
            self.runner.take_cold_starts()

    def _log_request(self, response: Response) -> Response:
        """One line per request: `<method> <path> <status> <function> <ms>ms [tenant=<tenant>] [cold <ms> ms]`,
        `cold` when the route's function started a new instance for it (its init time).

        The path is logged as sent, percent-encoded, so that no character of it (a newline, a space)
        can end the line or forge fields of another one.
        """
        millis = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
        path = escaped(request.full_path.rstrip("?"))
        line = f"{request.method} {path} {response.status_code} {g.get('function')} {millis:.0f}ms"
        if g.get("tenant"):
            line += f" tenant={escaped(str(g.tenant))}"
        if isinstance(self.runner, LambdaRunner):
            cold = [ms for name, ms in self.runner.take_cold_starts() if name == g.get("function")]
            if cold:
                line += f" cold {cold[-1]:.0f} ms"
        self.log(line)
        if self.on_request is not None:
            self.on_request(line, response)
        return response

    def _read_body(self) -> Response | None:
        """API Gateway's payload limit, before the authorizer or any function: a declared length over
        the limit is refused unread; a chunked body is read up to the limit and refused past it."""
        if (request.content_length or 0) > PAYLOAD_LIMIT:
            return self.responses.render("REQUEST_TOO_LARGE")
        try:
            if len(request.get_data(cache=True)) > PAYLOAD_LIMIT:
                return self.responses.render("REQUEST_TOO_LARGE")
        except RequestEntityTooLarge:
            return self.responses.render("REQUEST_TOO_LARGE")
        except (ClientDisconnected, OSError):  # the body stopped short of its length: socket timeout
            response = Response(json.dumps({"error": "Request timeout"}), 408, content_type="application/json")
            response.headers.update(self.responses.headers("DEFAULT_4XX", 408))
            response.headers["Connection"] = "close"
            return response
        return None

    def _find_route(self) -> None:
        """The request's route (`g.route`), None for an unknown path or method (HEAD, which Flask
        adds to every GET rule, among them)."""
        rule = request.url_rule
        g.route = self._routes.get((rule.rule, request.method)) if rule is not None else None

    def _storage_guard(self) -> Response | None:
        """503 with Retry-After while DynamoDB Local restarts, for the routes that need it (every route
        behind the authorizer, which looks keys up in the table), without waiting for the SDK's retries."""
        if self.storage_available():
            return None
        route: Route | None = g.route
        if route is None or route.authorizer_object is None:
            return None
        response = Response(json.dumps(self.storage_unavailable_body), 503, content_type="application/json")
        response.headers.update(self.responses.headers("DEFAULT_5XX", 503))
        response.headers.update(self.responses.headers("UNAUTHORIZED", 401))  # the CORS headers of every response
        response.headers["Retry-After"] = RETRY_AFTER_SECONDS
        return response

    def _create_method_arn(self, flask_request: Any, event_type: str) -> str:
        """The authorizer's methodArn with the path's control characters percent-encoded, so that
        SAM CLI's policy regex (`*` as `.*`, which stops at a newline) matches it as API Gateway does.
        Private (PRIVATE_SURFACE): SAM CLI matches the policy against the ARN it builds itself."""
        return escaped(cast(str, super()._create_method_arn(flask_request, event_type)))

    # -- responses
    @staticmethod
    def service_response(body: Any, headers: Any, status_code: int) -> Response:
        """The function's own response: marked, so that only SAM CLI's error responses are replaced."""
        response = cast(Response, LocalApigwService.service_response(body, headers, status_code))
        response.from_integration = True  # type: ignore[attr-defined]
        return response

    def _answer(self, view: Callable[..., Response]) -> Callable[..., Response]:
        """SAM CLI's view of a route, answering as API Gateway: 404 for a method the template does not
        have, a text body's invalid UTF-8 replaced, SAM CLI's own error responses as gateway responses."""

        def answer(**kwargs: Any) -> Response:
            route: Route | None = g.route
            if route is None:
                return self.responses.render("MISSING_AUTHENTICATION_TOKEN")
            g.function = route.function_name
            self._replace_invalid_utf8_body()
            response = view(**kwargs)
            if getattr(response, "from_integration", False):
                return response
            return self._replace_service_error(response)

        return answer

    def _function_failed(self, error: FunctionError) -> Response:
        """A function's failure (raised through SAM CLI's view) as API Gateway answers it."""
        if g.get("authorizing"):
            g.function = error.function
            # API Gateway answers 401 when an authorizer raises exactly "Unauthorized", else 500.
            if error.message == "Unauthorized":
                return self.responses.render("UNAUTHORIZED")
            return self.responses.render("AUTHORIZER_FAILURE")
        if isinstance(error, Throttled):  # Lambda refused the invocation: an integration failure
            return self.responses.render("INTEGRATION_FAILURE", error.status, "Internal server error")
        # 502 when the function failed (raised, timed out, ran out of memory).
        return self.responses.render("DEFAULT_5XX", error.status, "Internal server error")

    def _replace_service_error(self, response: Response) -> Response:
        """Map a SAM CLI error response to the gateway response type API Gateway would use."""
        status = response.status_code
        if status == 401:  # identity source missing: the authorizer is not called
            return self.responses.render("UNAUTHORIZED")
        if status == 403:  # the authorizer's policy denies the method: its context is the response's
            return self.responses.render("ACCESS_DENIED", authorizer=self._authorizer_context())
        if status >= 500:  # invalid function response and the like: API Gateway says 502
            return self.responses.render("DEFAULT_5XX", 502 if status in (500, 502) else status)
        message = (response.get_json(silent=True) or {}).get("message")
        return self.responses.render("DEFAULT_4XX", status, message)

    @staticmethod
    def _authorizer_context() -> dict[str, Any]:
        """The context of the authorizer's policy of this request ({} if none, or unreadable)."""
        try:
            output = json.loads(g.get("authorizer_output") or "{}")
        except ValueError:
            return {}
        context = output.get("context") if isinstance(output, dict) else None
        return context if isinstance(context, dict) else {}

    def _replace_invalid_utf8_body(self) -> None:
        """API Gateway hands a text (non-binary) body that is not valid UTF-8 to the function with U+FFFD in
        place of the bad bytes; SAM CLI answers 502 instead (written by hand: SAM CLI has no such option)."""
        if _should_base64_encode(self.api.binary_media_types, request.mimetype):
            return
        data = request.get_data(cache=True)
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            cast(GatewayRequest, request).replace_body(data.decode("utf-8", errors="replace").encode("utf-8"))


def build_gateway(
    template_path: Path | str,
    ddb_endpoint: str,
    *,
    port: int = 3000,
    hot_reload: bool = True,
    log: Callable[[str], None] | None = None,
    extra_env: dict[str, str] | None = None,
    in_process: bool = False,
    stage: str | None = None,
) -> LocalGateway:
    """The gateway of `template_path` against DynamoDB Local at `ddb_endpoint` (sets the process environment,
    plus `extra_env`, e.g. AWS_ENDPOINT_URL_EVENTBRIDGE of a LocalEventBus). Its functions run in
    instances of their own (`LambdaRunner`: close `gateway.runner` to stop them), or `in_process`."""
    template = LocalTemplate.load(template_path)
    apply_environment(
        {
            **function_environment(
                template.all_functions(), template.table_names(), ddb_endpoint, local_secrets(template)
            ),
            **(extra_env or {}),
        }
    )
    runner_type = InProcessLambdaRunner if in_process else LambdaRunner
    runner = runner_type(template, hot_reload=hot_reload)
    purge_modules(runner.layer_packages())  # modules imported before the environment was set
    gateway = LocalGateway(template, runner, port=port, log=log, stage=stage)
    gateway.create()
    return gateway
