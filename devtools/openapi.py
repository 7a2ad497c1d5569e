"""Generate the one OpenAPI document of the API from every function's resolver.

Each API function declares its routes with Powertools; this loads each handler module (under a
unique name), takes its resolver's schema and merges them with Powertools' `OpenAPIMerge`.
`python -m devtools.openapi --write` refreshes `functions/docs/openapi.json`; `--check` fails
when the committed file is stale.
"""

import argparse
import json
import sys
from typing import Any

from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge
from aws_lambda_powertools.event_handler.openapi.models import (
    APIKey,
    APIKeyIn,
    Contact,
    HTTPBearer,
    License,
    SecurityScheme,
    Tag,
)

from devtools.emulator.template import api_functions
from devtools.loader import ROOT, ensure_layer_on_path, load_module

TARGET = ROOT / "functions" / "docs" / "openapi.json"
DESCRIPTION = (
    "Multi-tenant To-Do API. Every /todos and /activity route needs `x-api-key` (machine clients; data "
    "scoped to the key's tenant) or `Authorization: Bearer <access token>` (signed-in users; data private "
    "to the user unless a team claim names a tenant). Errors are JSON objects with `error` (and `details` "
    "for invalid input)."
)
TAGS = [
    Tag(name="todos", description="The tenant's todos: create, list, read, update, delete"),
    Tag(name="activity", description="The tenant's activity feed, derived from every change"),
    Tag(name="docs", description="Welcome, this document and Swagger UI (no key needed)"),
]
CONTACT = Contact(name="To-Do API maintainers")
# No open-source licence is granted: the API and its code are its owner's.
LICENSE = License(name="Proprietary", identifier="LicenseRef-Proprietary")
# Powertools documents a 422 `HTTPValidationError` ({"detail": [...]}) on every validated route;
# this API answers invalid input with 400 and `ErrorBody` instead, so those entries are dropped.
_POWERTOOLS_VALIDATION = "#/components/schemas/HTTPValidationError"
_POWERTOOLS_SCHEMAS = ("HTTPValidationError", "ValidationError", "ResponseValidationError")


def build() -> dict[str, Any]:
    ensure_layer_on_path()
    from todo_api.http import API_KEY_SCHEME, BEARER_SCHEME

    schemes: dict[str, SecurityScheme] = {
        API_KEY_SCHEME: APIKey(name="x-api-key", in_=APIKeyIn.header, description="An API key of a tenant"),
        BEARER_SCHEME: HTTPBearer(
            bearerFormat="JWT",
            description="A signed-in user's access token: the stage's Cognito user pool, or `make token` locally",
        ),
    }

    merge = OpenAPIMerge(
        title="To-Do API",
        version="2.0.0",
        description=DESCRIPTION,
        tags=TAGS,  # type: ignore[arg-type]
        contact=CONTACT,
        license_info=LICENSE,
        security_schemes=schemes,
        on_conflict="error",
    )
    documented: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for logical_id, code_dir, handler in api_functions():
        module = load_module(code_dir, handler, f"functions_{logical_id}")
        merge.add_schema(module.app.get_openapi_schema(security_schemes=schemes))
        documented.update(getattr(module, "DOCUMENTED_HEADERS", {}))
    document: dict[str, Any] = json.loads(merge.get_openapi_json_schema())
    for (path, method), parameters in documented.items():  # headers a handler reads without declaring
        document["paths"][path][method].setdefault("parameters", []).extend(parameters)
    return _with_security_headers(_truthful(document))


# What each security header of every answer means (todo_api.http.headers holds their values).
_SECURITY_HEADER_DESCRIPTIONS = {
    "Cache-Control": "`no-store`: no cache keeps an answer",
    "X-Content-Type-Options": "`nosniff`: the declared media type is the only one",
    "Content-Security-Policy": (
        "`default-src 'none'; frame-ancestors 'none'` for JSON; the Swagger UI page's own policy on /docs"
    ),
    "X-Frame-Options": "`DENY`: no page may frame an answer",
    "Strict-Transport-Security": "HTTPS only for a year (browsers ignore it over plain HTTP)",
}


def _with_security_headers(document: dict[str, Any]) -> dict[str, Any]:
    """Every response of every operation declares the security headers every answer carries (the
    functions', and the gateway's own responses'), once, as components."""
    from todo_api.http.headers import SECURITY_HEADERS

    if set(SECURITY_HEADERS) != set(_SECURITY_HEADER_DESCRIPTIONS):
        raise RuntimeError("todo_api.http.headers and the document's descriptions name different headers")
    components = document["components"].setdefault("headers", {})
    for name, description in _SECURITY_HEADER_DESCRIPTIONS.items():
        components[name] = {"description": description, "schema": {"type": "string"}}
    for operations in document["paths"].values():
        for operation in operations.values():
            for response in operation["responses"].values():
                headers = response.setdefault("headers", {})
                for name in _SECURITY_HEADER_DESCRIPTIONS:
                    headers[name] = {"$ref": f"#/components/headers/{name}"}
    return document


def _truthful(document: dict[str, Any]) -> dict[str, Any]:
    """Only what the server does: no Powertools 422, and `security: []` where no key is needed."""
    for operations in document["paths"].values():
        for operation in operations.values():
            responses = operation["responses"]
            for status in [s for s, r in responses.items() if _POWERTOOLS_VALIDATION in json.dumps(r)]:
                del responses[status]
            operation.setdefault("security", [])  # public: overrides any document-wide requirement
    schemas = document["components"]["schemas"]
    for name in _POWERTOOLS_SCHEMAS:
        schemas.pop(name, None)
    leftover = [name for name in _POWERTOOLS_SCHEMAS if f"#/components/schemas/{name}" in json.dumps(document)]
    if leftover:
        raise RuntimeError(f"the document still refers to {leftover}")
    return document


def render() -> str:
    return json.dumps(build(), indent=2, sort_keys=True) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true", help="write functions/docs/openapi.json")
    parser.add_argument("--check", action="store_true", help="fail if the committed document is stale")
    args = parser.parse_args()
    text = render()
    if args.check:
        if not TARGET.exists() or TARGET.read_text(encoding="utf-8") != text:
            print(f"{TARGET.relative_to(ROOT)} is stale: run `make openapi`", file=sys.stderr)
            return 1
        return 0
    if args.write:
        TARGET.write_text(text, encoding="utf-8")
        print(f"wrote {TARGET.relative_to(ROOT)}")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
