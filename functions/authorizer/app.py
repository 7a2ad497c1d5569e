"""Lambda REQUEST authorizer: an `x-api-key` or an `Authorization: Bearer <JWT>` -> tenant.

- A key maps to its tenant by its SHA-256 hash; the key is never logged (only its short hash
  id).
- A bearer token (with no key) is verified against the issuer's keys (`todo_api.adapters.tokens`)
  and maps to the user's tenant (`todo_api.domain.auth`). The token is never logged.

No caller is given an API Gateway usage key (`usageIdentifierKey`): the API uses no API Gateway
API keys or usage plans, whose 10,000 keys per account and Region would cap the tenants.

The authorizer has no identity source (API Gateway would answer 401 without calling it when a
source is missing, and a request carries a key or a token), so API Gateway calls it on every
request; key look-ups and verified tokens are remembered in the container instead. Anything
refused raises exactly "Unauthorized", which API Gateway answers 401 to.

Every request then spends one of its caller's budgets (`todo_api.domain.capacity`): an API key's
tenant's, a signed-in user's own and their team's. Over a rate, burst or daily quota the policy
denies, with the message and the seconds to wait in its context, and API Gateway answers its
ACCESS_DENIED gateway response: 429 with Retry-After (docs/capacity.md).
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
from todo_api.domain.auth import Principal, bearer_token
from todo_api.domain.capacity import Refusal
from todo_api.domain.errors import StoreUnavailable, Unauthenticated
from todo_api.domain.keys import key_id

logger = Logger()


def _caller(headers: dict[str, str]) -> Principal:
    """The caller; raises Unauthenticated."""
    api_key = headers.get("x-api-key")
    if api_key is not None:  # a key decides, exactly as before tokens existed
        record = wiring.key_lookup().find(api_key) if api_key else None
        if record is None:
            logger.info("access denied", extra={"key_id": key_id(api_key)})
            raise Unauthenticated()
        return Principal(tenant=record.tenant, principal_id=key_id(api_key))
    token = bearer_token(headers.get("authorization"))
    verifier = wiring.token_verifier() if token else None
    if token is None or verifier is None:
        logger.info("access denied", extra={"key_id": None})
        raise Unauthenticated()
    try:
        principal = verifier.verify(token)
    except Unauthenticated as error:
        reason = type(error.__cause__).__name__ if error.__cause__ else type(error).__name__
        logger.info("token refused", extra={"reason": reason})
        raise
    return principal


@logger.inject_lambda_context(clear_state=True)
@event_source(data_class=APIGatewayAuthorizerRequestEvent)
def lambda_handler(event: APIGatewayAuthorizerRequestEvent, context: LambdaContext) -> dict[str, Any]:
    headers = {name.lower(): value for name, value in (event.headers or {}).items()}
    try:
        principal = _caller(headers)
    except Unauthenticated:
        raise Unauthenticated("Unauthorized") from None  # API Gateway answers 401 to exactly this message
    refusal = _over_limits(principal)
    details: dict[str, Any] = {"tenant": principal.tenant}
    if refusal is not None:  # API Gateway answers ACCESS_DENIED: 429 with these (template.yaml)
        details |= {"error": refusal.message, "retryAfter": str(refusal.retry_after)}
    arn = event.parsed_arn
    policy = APIGatewayAuthorizerResponse(
        principal_id=principal.principal_id,
        region=arn.region,
        aws_account_id=arn.aws_account_id,
        api_id=arn.api_id,
        stage=arn.stage,
        context=details,
    )
    # One policy for every route: a decision never depends on the route.
    if refusal is None:
        policy.allow_all_routes()
    else:
        policy.deny_all_routes()
    return policy.asdict()


def _over_limits(principal: Principal) -> Refusal | None:
    """Why the caller's request is over its limits, if it is; the limiter's store failing lets the
    request through (logged): a broken counter must not take the whole API down with it."""
    capacity = wiring.capacity()
    if capacity is None:
        return None
    try:
        refusal = capacity.admit(principal.tenant, principal.user)
    except StoreUnavailable:
        logger.warning("usage store unavailable: request not counted", extra={"tenant": principal.tenant})
        return None
    if refusal is not None:
        logger.info("over limits", extra={"tenant": principal.tenant, "reason": refusal.reason})
    return refusal
