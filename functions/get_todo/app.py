"""GET /todos/{todo_id}"""

from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext

from todo_api import wiring
from todo_api.domain.models import Todo
from todo_api.http import (
    ETAG_HEADER,
    IF_NONE_MATCH_PARAMETER,
    SECURED,
    authorized_tenant,
    check_not_modified,
    create_app,
    entry,
    error_responses,
    etag,
)

app = create_app()
# Header parameters read from the event directly, documented here (see todo_api.http.conditional).
DOCUMENTED_HEADERS = {("/todos/{todo_id}", "get"): [IF_NONE_MATCH_PARAMETER]}


@app.get(
    "/todos/<todo_id>",
    summary="Get a todo",
    description=(
        "One todo of the key's tenant; another tenant's todo does not exist (404). `ETag` carries its version, "
        "for `If-Match` on PUT, PATCH and DELETE, and for `If-None-Match` here (304 when unchanged)."
    ),
    tags=["todos"],
    security=SECURED,
    responses={
        200: {"description": "The todo; ETag carries its version", "headers": ETAG_HEADER},
        304: {"description": "If-None-Match names the current version: no body", "headers": ETAG_HEADER, "content": {}},
        **error_responses(404),
    },
)
def get_todo(todo_id: str) -> Response[Todo]:
    todo = wiring.todo_service().get(authorized_tenant(app), todo_id)
    check_not_modified(app.current_event.headers.get("If-None-Match"), todo)
    return Response(
        status_code=200, content_type=content_types.APPLICATION_JSON, body=todo, headers={"ETag": etag(todo)}
    )


@entry(app)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
