"""Lambda's DynamoDB stream event source mapping, locally: a poller per stream event of a function.

Written by hand (SAM CLI runs no event sources). One module per job:

- `poller`: `StreamPoller`, which reads a table's stream shard by shard and invokes a handler in
  batches as Lambda does (partial batch failures, retries, bisecting, skipping after the retries);
- `checkpoints`: `Checkpoints`, where each mapping is in its stream, in a file that survives a restart;
- `dead_letters`: `DeadLetterFile`, the on-failure destination's local stand-in;
- `records`: the record shape Lambda delivers (`lambda_record`) and the handler's partial batch
  response (`first_failure`);
- `filters`: the event's FilterCriteria, for exact-value patterns (`matches`);
- `mapping`: `stream_pollers`, one `StreamPoller` per `DynamoDB` event of the template's functions.

    poller = StreamPoller(handler, table_name="todo-local-TodoTable", endpoint_url="http://127.0.0.1:8000")
    poller.start()   # polls every `interval` seconds in a daemon thread
    ...
    poller.stop()
"""

from devtools.emulator.streams.checkpoints import Checkpoints
from devtools.emulator.streams.dead_letters import DeadLetterFile
from devtools.emulator.streams.filters import matches
from devtools.emulator.streams.mapping import stream_pollers
from devtools.emulator.streams.poller import Handler, StreamPoller
from devtools.emulator.streams.records import Record, first_failure, lambda_record

__all__ = [
    "Checkpoints",
    "DeadLetterFile",
    "Handler",
    "Record",
    "StreamPoller",
    "first_failure",
    "lambda_record",
    "matches",
    "stream_pollers",
]
