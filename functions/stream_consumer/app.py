"""The table's change stream -> activity feed and EventBridge (DynamoDB stream event source)."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from todo_api import wiring

logger = Logger()
# A batch whose every record fails is reported record by record too, not raised.
processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    handle = wiring.stream_record_handler()  # once a record fails, later ones of its todo fail too

    def record_handler(record: DynamoDBRecord) -> None:
        handle(record.raw_event)

    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
