"""PUT and PATCH /todos/{todo_id}: both change only the fields sent."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Header
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from todo_api.http import SECURED, create_app, entry, error_responses, metrics, tenant_of
from todo_api.models import Todo, TodoUpdate
from todo_api.todos import service

app = create_app()

IfMatch = Annotated[str | None, Header(alias="If-Match", description='Expected version, as the ETag: "3"')]
DOC = {
    "tags": ["todos"],
    "security": SECURED,
    "responses": {200: {"description": "The updated todo"}, **error_responses(404, 412, 413, 415)},
}


@app.put("/todos/<todo_id>", summary="Update a todo", **DOC)  # type: ignore[arg-type]
@app.patch("/todos/<todo_id>", summary="Update a todo (same as PUT)", **DOC)  # type: ignore[arg-type]
def update_todo(todo_id: str, body: TodoUpdate, if_match: IfMatch = None) -> Todo:
    todo = service().update(tenant_of(app), todo_id, body, if_match)
    metrics.add_metric(name="TodoUpdated", unit=MetricUnit.Count, value=1)
    return todo


@entry(app)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
