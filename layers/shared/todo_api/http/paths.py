"""The client's base path: what comes before the API's own paths in the URL the client called.

API Gateway passes the client's path in `requestContext.path`: `/dev/todos` on a stage URL,
`/v1/todos` under a custom domain's base path mapping `v1`, `/todos` at the root of a custom
domain or on `make start`. The API's own path is the route's resource with its path parameters
(`/todos/{todo_id}` -> `/todos/01J...`); the base is what precedes it. Under a base path mapping
API Gateway also puts the base into `path`, so routing uses the API's own path instead.
"""

import re
from typing import Any
from urllib.parse import quote

_PARAMETER = re.compile(r"\{([^}/]+?)\+?\}")


def api_path(event: dict[str, Any]) -> str | None:
    """The request's path below the base (None for an event without a resource)."""
    resource = event.get("resource")
    if not isinstance(resource, str) or not resource.startswith("/"):
        return None
    parameters = event.get("pathParameters") or {}
    try:
        return _PARAMETER.sub(lambda m: quote(str(parameters[m.group(1)]), safe="/"), resource)
    except KeyError:
        return None


def base_path(event: dict[str, Any]) -> str:
    """`/dev`, `/v1`, or "" (the API at the host's root): never a trailing slash."""
    own = api_path(event)
    client = (event.get("requestContext") or {}).get("path")
    if own is None or not isinstance(client, str):
        return ""
    own, client = own.rstrip("/"), client.rstrip("/")
    if not client.endswith(own):
        return ""
    return client[: len(client) - len(own)].rstrip("/")
