"""PUT and PATCH /todos/{todo_id}: both change only the fields sent."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from todo_api import wiring
from todo_api.domain.models import Todo, TodoUpdate
from todo_api.http import (
    SECURED,
    IfMatch,
    authorized_tenant,
    create_app,
    entry,
    error_responses,
    expected_versions,
    metrics,
)

app = create_app()

DOC = {
    "description": (
        "PUT and PATCH both change only the fields sent (at least one of `title`, `completed`) and answer "
        "the todo with its new version; with `If-Match`, only at one of the versions it lists (else 412)."
    ),
    "tags": ["todos"],
    "security": SECURED,
    "responses": {200: {"description": "The updated todo"}, **error_responses(404, 409, 412, 413, 415)},
}


@app.put("/todos/<todo_id>", summary="Update a todo", **DOC)  # type: ignore[arg-type]
@app.patch("/todos/<todo_id>", summary="Update a todo (same as PUT)", **DOC)  # type: ignore[arg-type]
def update_todo(todo_id: str, body: TodoUpdate, if_match: IfMatch = None) -> Todo:
    todo = wiring.todo_service().update(authorized_tenant(app), todo_id, body, expected_versions(if_match))
    metrics.add_metric(name="TodoUpdated", unit=MetricUnit.Count, value=1)
    return todo


@entry(app)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
