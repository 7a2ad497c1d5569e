"""GET /todos"""

from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.utilities.typing import LambdaContext

from todo_api import wiring
from todo_api.domain.models import TodoPage
from todo_api.http import SECURED, PageCursor, PageLimit, authorized_tenant, create_app, entry, error_responses

app = create_app()


@app.get(
    "/todos",
    summary="List todos, oldest first",
    description=(
        "One page of the tenant's todos, oldest first, optionally only completed or open ones. "
        "Follow `next_cursor` (null on the last page) with the same filter."
    ),
    tags=["todos"],
    security=SECURED,
    responses={200: {"description": "One page of todos"}, **error_responses()},
)
def list_todos(
    limit: PageLimit = 50,
    cursor: PageCursor = None,
    completed: Annotated[Literal["true", "false"] | None, Query(description="Only completed or open todos")] = None,
) -> TodoPage:
    flag = None if completed is None else completed == "true"
    return wiring.todo_service().list(authorized_tenant(app), limit, cursor, flag)


@entry(app)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
