"""`Idempotency-Key` on create, through Powertools idempotency with its DynamoDB persistence layer.

The record is keyed by tenant and key (two tenants may use the same key) and remembers a hash
of the body: the same key with another body raises IdempotencyValidationError (422).
"""

from typing import Any

from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer, IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from todo_api.domain.errors import IdempotencyKeyInUse, IdempotencyKeyReused, StoreUnavailable
from todo_api.domain.models import Todo, TodoCreate
from todo_api.domain.todos import TodoService


class IdempotentCreate:
    """Creates a todo at most once per (tenant, Idempotency-Key); a retry answers the first todo."""

    def __init__(self, service: TodoService, persistence: BasePersistenceLayer, ttl_seconds: int) -> None:
        self._service = service
        self._config = IdempotencyConfig(
            event_key_jmespath="[tenant, key]",
            payload_validation_jmespath="body",
            expires_after_seconds=ttl_seconds,
        )
        # Records are keyed by the function's name (`<AWS_LAMBDA_FUNCTION_NAME>._create`): keep it.
        self._once = idempotent_function(
            data_keyword_argument="request", persistence_store=persistence, config=self._config
        )(self._create)

    def _create(self, request: dict[str, Any]) -> dict[str, Any]:
        body = TodoCreate.model_validate(request["body"])
        return self._service.create(request["tenant"], body).model_dump(mode="json")

    def __call__(self, tenant: str, key: str, data: TodoCreate, context: LambdaContext | None) -> Todo:
        if context is not None:
            self._config.register_lambda_context(context)
        try:
            result = self._once(request={"tenant": tenant, "key": key, "body": data.model_dump(mode="json")})
        except IdempotencyValidationError as error:
            raise IdempotencyKeyReused() from error
        except IdempotencyAlreadyInProgressError as error:
            raise IdempotencyKeyInUse() from error
        except IdempotencyPersistenceLayerError as error:
            raise StoreUnavailable() from error
        return Todo.model_validate(result)
