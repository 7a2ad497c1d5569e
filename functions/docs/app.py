"""GET /, GET /openapi.json and GET /docs (no key needed).

`openapi.json` beside this file is the document of every route of every function, generated
from their code (`make openapi`); a test fails when it is out of date.
"""

from functools import cache
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.swagger_ui.html import generate_swagger_html
from aws_lambda_powertools.utilities.typing import LambdaContext

from todo_api.domain.models import Message
from todo_api.http import create_app, entry, public_responses

app = create_app()
SPEC_FILE = Path(__file__).with_name("openapi.json")


@cache
def spec() -> str:
    return SPEC_FILE.read_text(encoding="utf-8")


@cache
def swagger_page() -> str:
    import aws_lambda_powertools.event_handler.openapi.swagger_ui as assets

    folder = Path(assets.__file__).parent
    return generate_swagger_html(
        spec().replace("</", "<\\/"),
        (folder / "swagger-ui-bundle.min.js").read_text(encoding="utf-8"),
        (folder / "swagger-ui.min.css").read_text(encoding="utf-8"),
        "",
        None,
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
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=spec())


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
    return Response(status_code=200, content_type="text/html; charset=utf-8", body=swagger_page())


@entry(app)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
