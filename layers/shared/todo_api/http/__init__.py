"""The HTTP edge shared by every API function.

Handlers in `functions/` create their resolver with `create_app()`, declare their routes, and wrap
`lambda_handler` with `entry(app)`; errors become statuses in `errors` alone.

| module | job |
|---|---|
| `resolver` | the Powertools resolver, the caller's tenant, shared query parameters |
| `errors` | the one map from errors to statuses, the contract's error body (`ErrorBody`), and their OpenAPI entries |
| `body` | the body guard: size, media type and JSON shape, before Powertools parses |
| `conditional` | `If-Match` and `ETag` |
| `entry` | the `lambda_handler` decorator: logging, the body guard, metrics |
"""

from todo_api.http.conditional import (
    IF_NONE_MATCH_PARAMETER,
    IfMatch,
    check_not_modified,
    etag,
    expected_versions,
)
from todo_api.http.entry import entry, logger, metrics
from todo_api.http.errors import ETAG_HEADER, ErrorBody, error_response, error_responses, public_responses
from todo_api.http.paths import base_path
from todo_api.http.resolver import (
    API_KEY_SCHEME,
    BEARER_SCHEME,
    SECURED,
    PageCursor,
    PageLimit,
    authorized_tenant,
    create_app,
)

__all__ = [
    "API_KEY_SCHEME",
    "BEARER_SCHEME",
    "ETAG_HEADER",
    "IF_NONE_MATCH_PARAMETER",
    "SECURED",
    "ErrorBody",
    "IfMatch",
    "PageCursor",
    "PageLimit",
    "authorized_tenant",
    "base_path",
    "check_not_modified",
    "create_app",
    "entry",
    "error_response",
    "error_responses",
    "etag",
    "expected_versions",
    "logger",
    "metrics",
    "public_responses",
]
