"""The one map from errors to HTTP statuses and the contract's JSON error body."""

import json
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field

from todo_api.domain.errors import (
    BadRequest,
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    PayloadTooLarge,
    StoreUnavailable,
    TenantStorageFull,
    TodoCapReached,
    TodoError,
    TodoNotFound,
    Unauthenticated,
    UnsupportedMediaType,
    VersionConflict,
)

if TYPE_CHECKING:  # the OpenAPI models cost cold-start time and only matter for the document
    from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse, OpenAPIResponseHeader

logger = Logger(child=True)

RETRY_AFTER_SECONDS = "1"


# The contract's error body, what every error status carries (no docstrings: they would become the
# schemas' descriptions in the OpenAPI document).
class ErrorDetail(BaseModel):
    loc: list[str | int] = Field(
        description='Where: "body", "query" or "header", then the field', examples=[["body", "title"]]
    )
    msg: str = Field(examples=["String should have at least 1 character"])
    type: str = Field(examples=["string_too_short"])


class ErrorBody(BaseModel):
    error: str = Field(examples=["Invalid request"])
    details: list[ErrorDetail] | None = Field(default=None, description="Each invalid input (400 only)")


# The one map from errors to the contract's statuses.
_STATUS: dict[type[Exception], HTTPStatus] = {
    BadRequest: HTTPStatus.BAD_REQUEST,
    RequestValidationError: HTTPStatus.BAD_REQUEST,
    Unauthenticated: HTTPStatus.UNAUTHORIZED,
    TodoNotFound: HTTPStatus.NOT_FOUND,
    NotFoundError: HTTPStatus.NOT_FOUND,
    IdempotencyKeyInUse: HTTPStatus.CONFLICT,
    TenantStorageFull: HTTPStatus.CONFLICT,  # a 5xx would count against the API's errors alarm
    TodoCapReached: HTTPStatus.CONFLICT,
    VersionConflict: HTTPStatus.PRECONDITION_FAILED,
    PayloadTooLarge: HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    UnsupportedMediaType: HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
    IdempotencyKeyReused: HTTPStatus.UNPROCESSABLE_ENTITY,
    StoreUnavailable: HTTPStatus.SERVICE_UNAVAILABLE,
}
HANDLED: list[type[Exception]] = list(_STATUS)  # what the resolver hands to error_response
_MESSAGES: dict[type[Exception], str] = {
    RequestValidationError: "Invalid request",
    NotFoundError: "Not found",
}
_DESCRIPTIONS = {
    400: "Invalid body or query parameter",
    401: "Missing or invalid API key",
    404: "Todo not found, or owned by another tenant",
    409: (
        "A request with the same Idempotency-Key is in progress (with Retry-After); or the tenant's cap "
        "on stored todos is reached (the error names the cap; nothing is written); or the tenant's storage "
        "is full (10 GB of todos per tenant; no Retry-After: delete todos first)"
    ),
    412: "If-Match does not match the current version",
    413: "Request body over 64 KiB",
    415: "The body is not declared as `application/json` in UTF-8 (no charset, or `charset=utf-8`)",
    422: "Idempotency-Key reused with a different body",
    429: (
        "The caller's rate, burst or daily quota is spent (per tenant, and per signed-in user), or the stage's "
        "throttle; retry after Retry-After seconds"
    ),
    503: (
        "Busy: storage throttled or unavailable, or the function's concurrency reached; retry after Retry-After seconds"
    ),
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
    retry = status == 503 or isinstance(error, IdempotencyKeyInUse)  # a full tenant is not helped by waiting
    headers = {"Retry-After": RETRY_AFTER_SECONDS} if retry else None
    body = ErrorBody(error=message, details=_details(error)).model_dump(exclude_none=True)
    logger.info("request rejected", extra={"status": int(status), "reason": message})
    return Response(
        status_code=int(status),
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(body),
        headers=headers,
    )


ETAG_HEADER: "dict[str, OpenAPIResponseHeader]" = {
    "ETag": {"description": 'The todo\'s version as an entity tag: "3"', "schema": {"type": "string"}}
}
RETRY_AFTER_HEADER: "dict[str, OpenAPIResponseHeader]" = {
    "Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "integer", "minimum": 0}}
}
_RETRIED = (409, 429, 503)  # the statuses that carry Retry-After (429 from the gateway)


def error_responses(*statuses: int) -> "dict[int, OpenAPIResponse]":
    """OpenAPI `responses` entries for the given error statuses (the gateway's and 400, 503 always apply)."""
    codes = sorted({*statuses, 400, 401, 429, 503})
    responses: dict[int, OpenAPIResponse] = {}
    for code in codes:
        responses[code] = {"description": _DESCRIPTIONS[code], "content": {"application/json": {"model": ErrorBody}}}
        if code in _RETRIED:
            responses[code]["headers"] = dict(RETRY_AFTER_HEADER)
    return responses


def public_responses() -> "dict[int, OpenAPIResponse]":
    """The errors a route without a key can meet: the stage's throttle (429) and a throttled function (503)."""
    return {
        code: {
            "description": description,
            "content": {"application/json": {"model": ErrorBody}},
            "headers": dict(RETRY_AFTER_HEADER),
        }
        for code, description in (
            (429, "The stage's throttle (all callers together); retry after Retry-After seconds"),
            (503, "The function's concurrency reached; see Retry-After"),
        )
    }
