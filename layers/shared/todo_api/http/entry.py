"""The entry decorator of every API function's `lambda_handler`: logging, body guard, metrics."""

from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext

from todo_api.http.body import body_problem
from todo_api.http.errors import error_response

logger = Logger()
metrics = Metrics()


def _proxy(response: Response[Any]) -> dict[str, Any]:
    """A proxy result for errors caught before routing (the resolver builds all others)."""
    headers = {"Content-Type": response.headers.get("Content-Type", content_types.APPLICATION_JSON)}
    headers.update({k: v for k, v in response.headers.items() if isinstance(v, str)})
    return {"statusCode": response.status_code, "headers": headers, "body": response.body, "isBase64Encoded": False}


Handler = TypeVar("Handler", bound=Callable[[dict[str, Any], LambdaContext], dict[str, Any]])


def entry(app: APIGatewayRestResolver) -> Callable[[Handler], Handler]:
    """Decorate a function's `lambda_handler`: logging, body guard, then the handler, then metrics."""

    def decorate(_handler: Handler) -> Handler:
        @logger.inject_lambda_context(clear_state=True)
        def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
            # The request id is the correlation id; read directly, it costs a tenth of the
            # JMESPath lookup that `correlation_id_path` runs on every request.
            logger.set_correlation_id(event.get("requestContext", {}).get("requestId"))
            try:
                problem = body_problem(event)
                if problem is not None:
                    return _proxy(error_response(problem))
                return _handler(event, context)
            finally:
                # Reads add no metric: flush only what a write added (`log_metrics` would warn).
                if metrics.metric_set:
                    metrics.flush_metrics()

        return handler  # type: ignore[return-value]

    return decorate
