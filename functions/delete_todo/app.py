"""DELETE /todos/{todo_id}"""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from todo_api import wiring
from todo_api.domain.models import Message
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


@app.delete(
    "/todos/<todo_id>",
    summary="Delete a todo",
    description="Deletes a todo of the key's tenant; with `If-Match`, only at one of the versions it lists (else 412).",
    tags=["todos"],
    security=SECURED,
    responses={200: {"description": "Deleted"}, **error_responses(404, 412)},
)
def delete_todo(todo_id: str, if_match: IfMatch = None) -> Message:
    wiring.todo_service().delete(authorized_tenant(app), todo_id, expected_versions(if_match))
    metrics.add_metric(name="TodoDeleted", unit=MetricUnit.Count, value=1)
    return Message(message="Todo deleted successfully")


@entry(app)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
