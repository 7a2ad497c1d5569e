"""CORS headers on every response of the functions, as the gateway's own responses carry them.

The allowed origin is one setting (`CORS_ALLOW_ORIGIN`, the template's `CorsAllowOrigin`): `*` by
default, since the API authenticates by header and never by cookie, or one origin such as
`https://app.example.com`. Every response carries `Vary: Origin` (needed with one origin, harmless
with `*`, and the same as the gateway's responses, whose headers cannot depend on a parameter's
value without a condition per header). Preflights (OPTIONS) never reach a function:
the gateway answers them. Powertools' `CORSConfig` is not used: it adds the headers only to
requests that carry a matching `Origin`, echoes the origin even for `*`, and sends no `Vary`.
"""

from todo_api.settings import get_settings

EXPOSED = "ETag, Location, Retry-After"  # what a page may read besides the CORS-safelisted headers


def cors_headers() -> dict[str, str]:
    origin = get_settings().cors_allow_origin
    return {"Access-Control-Allow-Origin": origin, "Access-Control-Expose-Headers": EXPOSED, "Vary": "Origin"}
