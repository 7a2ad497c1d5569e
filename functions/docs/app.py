"""GET /, GET /openapi.json and GET /docs (no key needed).

`openapi.json` beside this file is the document of every route of every function, generated
from their code (`make openapi`); a test fails when it is out of date. It is served with `servers`
set to the base path the request came in on (`/dev` on a stage URL, `/v1` under a custom domain's
base path mapping, `/` at a host's root), so that Swagger UI's requests and a client reading the
served document go where the document came from.
"""

import base64
import hashlib
import json
import re
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext

from todo_api.domain.models import Message
from todo_api.http import base_path, create_app, entry, public_responses

app = create_app()
SPEC_FILE = Path(__file__).with_name("openapi.json")


@cache
def spec() -> str:
    return SPEC_FILE.read_text(encoding="utf-8")


@lru_cache(maxsize=8)  # one per base path the API is reached on: a stage, a mapping, the root
def served_spec(base: str) -> str:
    if not base:  # the committed document's own `servers`: the host's root
        return spec()
    document = json.loads(spec())
    document["servers"] = [{"url": base}]
    return json.dumps(document, indent=2, sort_keys=True)


@lru_cache(maxsize=8)
def swagger_page(base: str) -> str:
    # Here, not at import: the swagger_ui package loads its OAuth2 model, and with it Powertools'
    # OpenAPI models (pydantic), the bulk of this function's cold start, for the /docs page alone.
    import aws_lambda_powertools.event_handler.openapi.swagger_ui as assets
    from aws_lambda_powertools.event_handler.openapi.swagger_ui.html import generate_swagger_html

    folder = Path(assets.__file__).parent
    return generate_swagger_html(
        served_spec(base).replace("</", "<\\/"),
        (folder / "swagger-ui-bundle.min.js").read_text(encoding="utf-8"),
        (folder / "swagger-ui.min.css").read_text(encoding="utf-8"),
        "",
        None,
    )


_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


@lru_cache(maxsize=8)
def swagger_policy(base: str) -> str:
    """The page's Content-Security-Policy: its own inline scripts (by hash) and nothing else runs;
    styles inline (Swagger UI sets style attributes as it renders), images from the page or data:
    URLs, requests ("Try it out") to the API's own origin; framed by nobody."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in _SCRIPT.findall(swagger_page(base))
    )
    return (
        f"default-src 'none'; script-src {hashes}; style-src 'unsafe-inline'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )


@app.get(
    "/",
    summary="Welcome",
    description="A greeting that points to the reference; needs no key.",
    tags=["docs"],
    responses={200: {"description": "A welcome message"}, **public_responses()},
)
def welcome() -> Message:
    return Message(message="Welcome to the To-Do API. See /docs for the API reference.")


@app.get(
    "/openapi.json",
    summary="OpenAPI document of every route",
    description="This document, with `servers` set to the base path the request came in on; needs no key.",
    tags=["docs"],
    responses={
        200: {"description": "OpenAPI 3 document", "content": {"application/json": {"schema": {"type": "object"}}}},
        **public_responses(),
    },
)
def openapi() -> Response[str]:
    body = served_spec(base_path(app.current_event.raw_event))
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=body)


@app.get(
    "/docs",
    summary="Swagger UI",
    description="The interactive reference; its requests go to the base path the page came from. Needs no key.",
    tags=["docs"],
    responses={
        200: {"description": "Swagger UI page", "content": {"text/html": {"schema": {"type": "string"}}}},
        **public_responses(),
    },
)
def docs() -> Response[str]:
    base = base_path(app.current_event.raw_event)
    return Response(
        status_code=200,
        content_type="text/html; charset=utf-8",
        body=swagger_page(base),
        headers={"Content-Security-Policy": swagger_policy(base)},
    )


@entry(app)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
