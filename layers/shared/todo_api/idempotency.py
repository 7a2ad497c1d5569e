"""`Idempotency-Key` on create, through Powertools idempotency.

The record is keyed by tenant and key (two tenants may use the same key) and remembers a hash
of the body: the same key with another body raises IdempotencyValidationError (422).
"""

from collections.abc import Callable
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from todo_api.clients import dynamodb
from todo_api.errors import IdempotencyKeyInUse, IdempotencyKeyReused, StoreUnavailable
from todo_api.models import Todo, TodoCreate
from todo_api.settings import get_settings
from todo_api.todos import service, todo_json


def _create(request: dict[str, Any]) -> dict[str, Any]:
    body = TodoCreate.model_validate(request["body"])
    return todo_json(service().create(request["tenant"], body))


@cache
def _setup() -> tuple[IdempotencyConfig, Callable[..., dict[str, Any]]]:
    settings = get_settings()
    config = IdempotencyConfig(
        event_key_jmespath="[tenant, key]",
        payload_validation_jmespath="body",
        expires_after_seconds=settings.idempotency_ttl_seconds,
    )
    persistence = DynamoDBPersistenceLayer(table_name=settings.idempotency_table_name, boto3_client=dynamodb())
    create = idempotent_function(data_keyword_argument="request", persistence_store=persistence, config=config)(_create)
    return config, create


def create_once(tenant: str, key: str, data: TodoCreate, context: LambdaContext | None) -> Todo:
    config, create = _setup()
    if context is not None:
        config.register_lambda_context(context)
    try:
        result = create(request={"tenant": tenant, "key": key, "body": data.model_dump(mode="json")})
    except IdempotencyValidationError as error:
        raise IdempotencyKeyReused() from error
    except IdempotencyAlreadyInProgressError as error:
        raise IdempotencyKeyInUse() from error
    except IdempotencyPersistenceLayerError as error:
        raise StoreUnavailable() from error
    return Todo.model_validate(result)
