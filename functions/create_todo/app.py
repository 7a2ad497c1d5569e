"""POST /todos"""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Header
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from todo_api import wiring
from todo_api.domain.models import Todo, TodoCreate
from todo_api.http import SECURED, authorized_tenant, base_path, create_app, entry, error_responses, metrics

app = create_app()

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=128,
        pattern=r"^[\x21-\x7e]+$",
        description="A retry with the same key and body returns the first response and creates nothing new",
    ),
]


@app.post(
    "/todos",
    summary="Create a todo",
    description=(
        "Creates a todo of the key's tenant. With an `Idempotency-Key`, a retry with the same key and body "
        "answers the first response (201, the same todo) and creates nothing; the same key with another body is 422."
    ),
    tags=["todos"],
    security=SECURED,
    responses={
        201: {
            "description": "Created",
            "headers": {
                "Location": {
                    "description": "The new todo's URL, below the API's base path: `<base>/todos/<id>`",
                    "schema": {"type": "string"},
                }
            },
        },
        **error_responses(400, 409, 413, 415, 422),
    },
)
def create_todo(body: TodoCreate, idempotency_key: IdempotencyKey = None) -> Response[Todo]:
    tenant = authorized_tenant(app)
    service = wiring.todo_service()
    todo = (
        service.create(tenant, body) if idempotency_key is None else service.create_once(tenant, idempotency_key, body)
    )
    metrics.add_metric(name="TodoCreated", unit=MetricUnit.Count, value=1)
    return Response(
        status_code=201,
        content_type=content_types.APPLICATION_JSON,
        body=todo,
        headers={"Location": f"{base_path(app.current_event.raw_event)}/todos/{todo.id}"},
    )


@entry(app)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
