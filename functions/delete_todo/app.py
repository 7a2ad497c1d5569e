"""DELETE /todos/{todo_id}"""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Header
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from todo_api.http import SECURED, create_app, entry, error_responses, metrics, tenant_of
from todo_api.models import Message
from todo_api.todos import service

app = create_app()


@app.delete(
    "/todos/<todo_id>",
    summary="Delete a todo",
    tags=["todos"],
    security=SECURED,
    responses={200: {"description": "Deleted"}, **error_responses(404, 412)},
)
def delete_todo(
    todo_id: str,
    if_match: Annotated[str | None, Header(alias="If-Match", description='Expected version: "3"')] = None,
) -> Message:
    service().delete(tenant_of(app), todo_id, if_match)
    metrics.add_metric(name="TodoDeleted", unit=MetricUnit.Count, value=1)
    return Message(message="Todo deleted successfully")


@entry(app)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
