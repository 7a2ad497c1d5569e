"""How `make sam-local-e2e` feeds the table's stream to StreamConsumerFunction under SAM CLI: the
stream poller of devtools.emulator.streams (the template's batch size, retries and filters) with a
runner that calls the Lambda Invoke API of `sam local start-lambda`. Here against DynamoDB Local's
real stream, with an HTTP server in place of start-lambda that records each Invoke call (the run
through SAM CLI itself is `make sam-local-e2e`, which needs Docker)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from devtools import sam_local
from devtools.emulator import dynamodb
from devtools.emulator.streams import stream_pollers
from devtools.emulator.template import local_table_name, project
from tests.servers import serving
from todo_api.adapters.todo_store import DynamoDBTodoStore
from todo_api.domain.models import Todo


class InvokeApi:
    """Records Invoke calls (path, payload) and answers each with `answer` (status, headers, body)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.answer: tuple[int, dict[str, str], Any] = (200, {}, {"batchItemFailures": []})
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                api.calls.append((self.path, json.loads(body)))
                status, headers, payload = api.answer
                data = json.dumps(payload).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def invoke_api() -> Iterator[InvokeApi]:
    api = InvokeApi()
    with serving(api.server):
        yield api


def _todo(todo_id: str) -> Todo:
    now = "2026-11-27T10:15:30.000Z"
    return Todo(id=todo_id, title="Read a book", completed=False, created_at=now, updated_at=now, version=1)


def test_the_stream_reaches_the_consumer_through_the_invoke_api(ddb: dynamodb.DynamoDBLocal, invoke_api: InvokeApi):
    runner = sam_local.StartLambdaRunner(invoke_api.url, timeout=30)
    (poller,) = stream_pollers(project(), runner, ddb.endpoint)  # type: ignore[arg-type]
    poller.starting_position = "LATEST"  # only this test's changes (the session's table is shared)
    poller.poll_once()
    invoke_api.calls.clear()
    todos = DynamoDBTodoStore(dynamodb.client(ddb.endpoint), local_table_name("TodoTable"))
    todos.create("stream-seam", _todo("01JD7Z6ZQ4N8Y3T5V2W9X0SEAM"))
    assert poller.poll_once() >= 1
    ((path, event),) = invoke_api.calls
    assert path == "/2015-03-31/functions/StreamConsumerFunction/invocations"
    (record,) = event["Records"]
    assert record["eventName"] == "INSERT"
    assert record["eventSource"] == "aws:dynamodb"
    assert record["dynamodb"]["NewImage"]["entity"] == {"S": "todo"}
    assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], int)
    assert runner.invocations == 1


def test_a_failing_consumer_has_its_batch_retried(ddb: dynamodb.DynamoDBLocal, invoke_api: InvokeApi):
    runner = sam_local.StartLambdaRunner(invoke_api.url, timeout=30)
    (poller,) = stream_pollers(project(), runner, ddb.endpoint)  # type: ignore[arg-type]
    poller.starting_position = "LATEST"
    poller.poll_once()
    invoke_api.calls.clear()
    todos = DynamoDBTodoStore(dynamodb.client(ddb.endpoint), local_table_name("TodoTable"))
    todos.create("stream-seam", _todo("01JD7Z6ZQ4N8Y3T5V2W9X0FAIL"))
    # What start-lambda answers when the function raised: 200 with X-Amz-Function-Error.
    invoke_api.answer = (200, {"X-Amz-Function-Error": "Unhandled"}, {"errorMessage": "boom"})
    assert poller.poll_once() == 0
    invoke_api.answer = (200, {}, {"batchItemFailures": []})
    assert poller.poll_once() >= 1  # the todo's record (and its tenant's count of todos, maybe apart)
    todo_key = {"PK": {"S": "TENANT#stream-seam"}, "SK": {"S": "TODO#01JD7Z6ZQ4N8Y3T5V2W9X0FAIL"}}
    batches = [[record["dynamodb"]["Keys"] for record in event["Records"]] for _, event in invoke_api.calls]
    assert len(batches) >= 2
    assert all(todo_key in batch for batch in batches)  # the failed record, delivered again
