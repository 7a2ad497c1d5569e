"""The resolver every API function declares its routes on, and the caller's tenant."""

from functools import cached_property
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from aws_lambda_powertools.utilities.data_classes.common import CaseInsensitiveDict

from todo_api.domain.errors import Unauthenticated
from todo_api.http.conditional import NotModified, not_modified_response
from todo_api.http.errors import HANDLED, error_response

API_KEY_SCHEME = "ApiKeyAuth"  # the definitions are in devtools/openapi.py, where the document is made
BEARER_SCHEME = "BearerAuth"  # a signed-in user's access token (Cognito, or make start's issuer)
SECURED: list[dict[str, list[str]]] = [{API_KEY_SCHEME: []}, {BEARER_SCHEME: []}]  # either one

# Query parameters of every paginated route.
PageLimit = Annotated[int, Query(ge=1, le=100, description="Page size")]
PageCursor = Annotated[
    str | None, Query(min_length=1, max_length=512, description="`next_cursor` of the previous page")
]


class _RestEvent(APIGatewayProxyEvent):
    """The REST proxy event with its case-insensitive header maps built once per request.

    Powertools rebuilds them on every access (five times per request with validation on),
    which costs about a fifth of a warm invocation; caching them on the event object keeps
    the per-request work and adds no module-level state.

    Relies on Powertools parts that are not public API: `_to_proxy_event` (overridden below),
    `_json_body_deserializer`, and the class `CaseInsensitiveDict` (its headers' type, not
    exported); tests/unit/test_http_edge.py fails on an upgrade that changes them.
    """

    @cached_property
    def headers(self) -> dict[str, str]:
        return _case_insensitive(self.get("headers"))

    @cached_property
    def multi_value_headers(self) -> dict[str, list[str]]:
        return _case_insensitive(self.get("multiValueHeaders"))


def _case_insensitive(headers: dict[str, Any] | None) -> CaseInsensitiveDict:
    """Powertools' CaseInsensitiveDict of `headers`, filled by one dict comprehension (a third
    cheaper than its constructor's generator); the same keys (lower case) and values."""
    result = CaseInsensitiveDict()  # type: ignore[no-untyped-call]  # Powertools declares no types here
    if headers:
        dict.update(result, {name.lower(): value for name, value in headers.items()})
    return result


class TodoResolver(APIGatewayRestResolver):
    # Hand-written: Powertools has no public hook for the event class of a resolver.
    def _to_proxy_event(self, event: dict[str, Any]) -> _RestEvent:
        return _RestEvent(event, self._json_body_deserializer)


def create_app() -> APIGatewayRestResolver:
    app = TodoResolver(enable_validation=True)
    app.exception_handler(HANDLED)(error_response)
    app.exception_handler(NotModified)(not_modified_response)
    # No route: Powertools raises NotFoundError to the handler above (HANDLED has it), so an
    # unknown path gets the contract's 404 body without a not_found handler of its own.
    return app


def authorized_tenant(app: APIGatewayRestResolver) -> str:
    """The caller's tenant, as the authorizer put it in the request context."""
    tenant = app.current_event.request_context.authorizer.get("tenant")
    if not isinstance(tenant, str) or not tenant:
        raise Unauthenticated()
    return tenant
