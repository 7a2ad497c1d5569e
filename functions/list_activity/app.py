"""GET /activity"""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from todo_api import wiring
from todo_api.domain.activity import ActivityPage
from todo_api.http import SECURED, PageCursor, PageLimit, authorized_tenant, create_app, entry, error_responses

app = create_app()


@app.get(
    "/activity",
    summary="List the tenant's activity feed, newest first",
    description=(
        "Every change of the tenant's todos (created, updated, completed, reopened, deleted) with the changed "
        "fields as [old, new], newest first; a change appears within about a second. Follow `next_cursor`."
    ),
    tags=["activity"],
    security=SECURED,
    responses={200: {"description": "One page of events"}, **error_responses()},
)
def get_activity(
    limit: PageLimit = 50,
    cursor: PageCursor = None,
) -> ActivityPage:
    return wiring.activity_feed().list(authorized_tenant(app), limit, cursor)


@entry(app)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
