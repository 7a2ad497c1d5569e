"""Lambda REQUEST authorizer: `x-api-key` -> tenant, by the key's SHA-256 hash.

The tenant reaches the API functions in the request context; the key is never logged
(only its short hash id). A missing, unknown or revoked key raises "Unauthorized" (401).
The key's usage key, if its record has one, is returned as `usageIdentifierKey`: API Gateway
throttles and counts the request by it under the stack's usage plan (and answers 403 without one).
"""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerRequestEvent,
    APIGatewayAuthorizerResponse,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from todo_api import wiring
from todo_api.domain.errors import Unauthenticated
from todo_api.domain.keys import key_id

logger = Logger()


@logger.inject_lambda_context(clear_state=True)
@event_source(data_class=APIGatewayAuthorizerRequestEvent)
def lambda_handler(event: APIGatewayAuthorizerRequestEvent, context: LambdaContext) -> dict[str, Any]:
    headers = {name.lower(): value for name, value in (event.headers or {}).items()}
    api_key = headers.get("x-api-key")
    record = wiring.key_store().find(api_key) if api_key else None
    if api_key is None or record is None:
        logger.info("access denied", extra={"key_id": key_id(api_key) if api_key else None})
        raise Unauthenticated("Unauthorized")  # API Gateway answers 401 to exactly this message
    arn = event.parsed_arn
    policy = APIGatewayAuthorizerResponse(
        principal_id=key_id(api_key),
        region=arn.region,
        aws_account_id=arn.aws_account_id,
        api_id=arn.api_id,
        stage=arn.stage,
        context={"tenant": record.tenant},
        usage_identifier_key=record.usage_key.value if record.usage_key else None,
    )
    # One policy for every route, so API Gateway's cached decision serves them all.
    policy.allow_all_routes()
    return policy.asdict()
