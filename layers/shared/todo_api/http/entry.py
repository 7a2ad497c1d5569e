"""The entry decorator of every API function's `lambda_handler`: logging, base path, body guard,
CORS and security headers, metrics."""

from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from todo_api.http.body import body_problem
from todo_api.http.cors import cors_headers
from todo_api.http.errors import error_response
from todo_api.http.headers import SECURITY_HEADERS
from todo_api.http.paths import api_path

logger = Logger()
metrics = Metrics()


def _proxy(response: Response[Any]) -> dict[str, Any]:
    """A proxy result for errors caught before routing (the resolver builds all others); the
    response of `error_response`, which always declares its JSON Content-Type."""
    headers = {k: v for k, v in response.headers.items() if isinstance(v, str)}
    return {"statusCode": response.status_code, "headers": headers, "body": response.body, "isBase64Encoded": False}


Handler = TypeVar("Handler", bound=Callable[[dict[str, Any], LambdaContext], dict[str, Any]])


def entry(app: APIGatewayRestResolver) -> Callable[[Handler], Handler]:
    """Decorate a function's `lambda_handler`: logging, body guard, then the handler, CORS and
    security headers (`todo_api.http.headers`), metrics."""

    def decorate(_handler: Handler) -> Handler:
        @logger.inject_lambda_context(clear_state=True)
        def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
            # The request id is the correlation id; read directly, it costs a tenth of the
            # JMESPath lookup that `correlation_id_path` runs on every request.
            logger.set_correlation_id(event.get("requestContext", {}).get("requestId"))
            # Under a custom domain's base path mapping, `path` starts with the base (`/v1/todos`):
            # route on the API's own path, as on a stage URL.
            own = api_path(event)
            if own is not None and event.get("path") != own:
                event["path"] = own
            try:
                problem = body_problem(event)
                result = _proxy(error_response(problem)) if problem is not None else _handler(event, context)
                # A route's own value of a security header wins (the Swagger UI page's policy); the
                # resolver puts a route's headers in multiValueHeaders, which API Gateway prefers.
                routed = {key.lower() for field in ("headers", "multiValueHeaders") for key in result.get(field) or {}}
                security = {name: value for name, value in SECURITY_HEADERS.items() if name.lower() not in routed}
                result["headers"] = {**security, **(result.get("headers") or {}), **cors_headers()}
                return result
            finally:
                # Reads add no metric: flush only what a write added (`log_metrics` would warn).
                if metrics.metric_set:
                    metrics.flush_metrics()

        return handler  # type: ignore[return-value]

    return decorate
