"""The HTTP edge shared by every API function: resolver setup, the one error map, the entry point.

Handlers in `functions/` create their resolver with `create_app()`, declare their routes and wrap
`lambda_handler` with `entry(app)`. Nothing else about HTTP is written twice.
"""

import base64
import binascii
import json
from collections.abc import Callable
from functools import cached_property
from http import HTTPStatus
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from todo_api.errors import (
    BadRequest,
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    PayloadTooLarge,
    StoreUnavailable,
    TodoError,
    TodoNotFound,
    Unauthenticated,
    UnsupportedMediaType,
    VersionConflict,
)
from todo_api.models import ErrorBody

if TYPE_CHECKING:  # the OpenAPI models cost cold-start time and only matter for the document
    from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

logger = Logger()
metrics = Metrics()

MAX_BODY_BYTES = 64 * 1024
MAX_BODY_DEPTH = 32
_TOO_DEEP = "Body is nested too deeply"
RETRY_AFTER_SECONDS = "1"
API_KEY_SCHEME = "ApiKeyAuth"  # its definition is in devtools/openapi.py, where the document is made
SECURED: list[dict[str, list[str]]] = [{API_KEY_SCHEME: []}]

# Query parameters of every paginated route.
PageLimit = Annotated[int, Query(ge=1, le=100, description="Page size")]
PageCursor = Annotated[
    str | None, Query(min_length=1, max_length=512, description="`next_cursor` of the previous page")
]

# The one map from errors to the contract's statuses.
_STATUS: dict[type[Exception], HTTPStatus] = {
    BadRequest: HTTPStatus.BAD_REQUEST,
    RequestValidationError: HTTPStatus.BAD_REQUEST,
    Unauthenticated: HTTPStatus.UNAUTHORIZED,
    TodoNotFound: HTTPStatus.NOT_FOUND,
    NotFoundError: HTTPStatus.NOT_FOUND,
    IdempotencyKeyInUse: HTTPStatus.CONFLICT,
    VersionConflict: HTTPStatus.PRECONDITION_FAILED,
    PayloadTooLarge: HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    UnsupportedMediaType: HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
    IdempotencyKeyReused: HTTPStatus.UNPROCESSABLE_ENTITY,
    StoreUnavailable: HTTPStatus.SERVICE_UNAVAILABLE,
}
_MESSAGES: dict[type[Exception], str] = {
    RequestValidationError: "Invalid request",
    NotFoundError: "Not found",
}
_DESCRIPTIONS = {
    400: "Invalid body or query parameter",
    401: "Missing or invalid API key",
    403: "The key has no usage key of the usage plan (deployed stage only): re-issue it",
    404: "Todo not found, or owned by another tenant",
    409: "A request with the same Idempotency-Key is in progress",
    412: "If-Match does not match the current version",
    413: "Request body over 64 KiB",
    415: "Content-Type of the body is not application/json",
    422: "Idempotency-Key reused with a different body",
    429: "Throttled, or the key's daily quota is spent (deployed stage only); see Retry-After",
    503: "Storage throttled or unavailable; retry after Retry-After seconds",
}


def _status_of(error: Exception) -> HTTPStatus:
    for cls in type(error).__mro__:
        if cls in _STATUS:
            return _STATUS[cls]
    raise error


def _details(error: Exception) -> list[dict[str, Any]] | None:
    if not isinstance(error, RequestValidationError):
        return None
    return [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
        for e in error.errors()
    ]


def error_response(error: Exception) -> Response[str]:
    """Translate an expected error to its status and JSON body; re-raise anything else."""
    status = _status_of(error)
    message = error.message if isinstance(error, TodoError) else _MESSAGES.get(type(error), status.phrase)
    headers = {"Retry-After": RETRY_AFTER_SECONDS} if status in (503, 409) else None
    body = ErrorBody(error=message, details=_details(error)).model_dump(exclude_none=True)
    logger.info("request rejected", extra={"status": int(status), "reason": message})
    return Response(
        status_code=int(status),
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(body),
        headers=headers,
    )


def error_responses(*statuses: int) -> "dict[int, OpenAPIResponse]":
    """OpenAPI `responses` entries for the given error statuses (the gateway's and 400, 503 always apply)."""
    codes = sorted({*statuses, 400, 401, 403, 429, 503})
    return {
        code: {"description": _DESCRIPTIONS[code], "content": {"application/json": {"model": ErrorBody}}}
        for code in codes
    }


class _RestEvent(APIGatewayProxyEvent):
    """The REST proxy event with its case-insensitive header maps built once per request.

    Powertools rebuilds them on every access (five times per request with validation on),
    which costs about a fifth of a warm invocation; caching them on the event object keeps
    the per-request work and adds no module-level state.
    """

    @cached_property
    def headers(self) -> dict[str, str]:
        return super().headers

    @cached_property
    def multi_value_headers(self) -> dict[str, list[str]]:
        return super().multi_value_headers


class TodoResolver(APIGatewayRestResolver):
    # Hand-written: Powertools has no public hook for the event class of a resolver.
    def _to_proxy_event(self, event: dict[str, Any]) -> _RestEvent:
        return _RestEvent(event, self._json_body_deserializer)


def create_app() -> APIGatewayRestResolver:
    app = TodoResolver(enable_validation=True)
    app.exception_handler(list(_STATUS))(error_response)
    app.not_found(lambda error: error_response(NotFoundError()))
    return app


def tenant_of(app: APIGatewayRestResolver) -> str:
    """The caller's tenant, as the authorizer put it in the request context."""
    tenant = app.current_event.request_context.authorizer.get("tenant")
    if not isinstance(tenant, str) or not tenant:
        raise Unauthenticated()
    return tenant


JSON_MEDIA_TYPE = "application/json"
_BODY_METHODS = ("POST", "PUT", "PATCH")  # the routes that read a body


def _json_content_type(event: dict[str, Any]) -> bool:
    """False when the body is declared as anything but JSON (no Content-Type: JSON, as Powertools reads it).

    Media types are case-insensitive; the headers are lowered in place so that Powertools, which
    compares them as they are, reads `Application/JSON` as JSON too.
    """
    for field in ("headers", "multiValueHeaders"):
        for name, value in list((event.get(field) or {}).items()):
            if name.lower() != "content-type":
                continue
            values = value if isinstance(value, list) else [value]
            if any(str(v).split(";", 1)[0].strip().lower() != JSON_MEDIA_TYPE for v in values):
                return False
            event[field][name] = (
                [str(v).strip().lower() for v in values] if isinstance(value, list) else str(value).strip().lower()
            )
    return True


def _json_problem(text: str) -> TodoError | None:
    """What Powertools' body parsing gets wrong: it takes the first item of a JSON array as the body,
    and lets RecursionError (deep nesting) and ValueError (over 4300 digits) escape as a 502."""
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        return None  # Powertools answers 400 with the parser's details
    except RecursionError:
        return BadRequest(_TOO_DEEP)
    except ValueError:
        return BadRequest("Body is not valid JSON")
    if not isinstance(parsed, dict):
        return BadRequest("Body must be a JSON object")
    # Powertools parses the body again, deeper in the stack: nesting that passed here could
    # still exhaust the recursion limit there. No valid body nests at all, so a bound is safe.
    return BadRequest(_TOO_DEEP) if _deeper_than(parsed, MAX_BODY_DEPTH) else None


def _deeper_than(value: Any, limit: int) -> bool:
    level: list[Any] = [value]
    for _ in range(limit):
        level = [
            child
            for node in level
            if isinstance(node, dict | list)
            for child in (node.values() if isinstance(node, dict) else node)
        ]
        if not level:
            return False
    return True


def _body_problem(event: dict[str, Any]) -> TodoError | None:
    if event.get("httpMethod") in _BODY_METHODS and not _json_content_type(event):
        return UnsupportedMediaType()
    body = event.get("body")
    if not body:
        return None
    if event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            return BadRequest("Body is not valid base64")
    else:
        raw = body.encode("utf-8", errors="surrogatepass")
    if len(raw) > MAX_BODY_BYTES:
        return PayloadTooLarge()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return BadRequest("Body is not valid UTF-8")
    if event.get("httpMethod") in _BODY_METHODS and (problem := _json_problem(text)) is not None:
        return problem
    if event.get("isBase64Encoded"):
        event["body"], event["isBase64Encoded"] = text, False
    return None


def _proxy(response: Response[Any]) -> dict[str, Any]:
    """A proxy result for errors caught before routing (the resolver builds all others)."""
    headers = {"Content-Type": response.headers.get("Content-Type", content_types.APPLICATION_JSON)}
    headers.update({k: v for k, v in response.headers.items() if isinstance(v, str)})
    return {"statusCode": response.status_code, "headers": headers, "body": response.body, "isBase64Encoded": False}


Handler = TypeVar("Handler", bound=Callable[[dict[str, Any], LambdaContext], dict[str, Any]])


def entry(app: APIGatewayRestResolver) -> Callable[[Handler], Handler]:
    """Decorate a function's `lambda_handler`: logging, body guard, then the handler, then metrics."""

    def decorate(_handler: Handler) -> Handler:
        @logger.inject_lambda_context(clear_state=True)
        def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
            # The request id is the correlation id; read directly, it costs a tenth of the
            # JMESPath lookup that `correlation_id_path` runs on every request.
            logger.set_correlation_id(event.get("requestContext", {}).get("requestId"))
            try:
                problem = _body_problem(event)
                if problem is not None:
                    return _proxy(error_response(problem))
                return _handler(event, context)
            finally:
                # Reads add no metric: flush only what a write added (`log_metrics` would warn).
                if metrics.metric_set:
                    metrics.flush_metrics()

        return handler  # type: ignore[return-value]

    return decorate
