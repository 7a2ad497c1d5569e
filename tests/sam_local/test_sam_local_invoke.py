"""`sam local invoke` of each function on its `events/` file, under SAM CLI's own emulator (Docker).

One test per events/*.json file: the function it is for runs in SAM CLI's container, against
DynamoDB Local and the PutEvents endpoint of devtools.sam_local, and its result is checked: the
authorizer allows the key of the events and names tenant demo; get, list, update and delete act on
the todo of the events (made anew, at version 1, before each test); the stream consumer reports no
failure for `stream_batch.json` and publishes that todo's life (created, completed, deleted), which
the activity feed then lists.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from devtools import sam_local
from devtools.emulator import dynamodb
from devtools.loader import ROOT
from todo_api.adapters.todo_store import DynamoDBTodoStore
from todo_api.domain.errors import TodoNotFound
from todo_api.domain.keys import key_id
from todo_api.domain.models import Todo

EVENTS = ROOT / "events"
EVENT_FILES = sorted(EVENTS.glob("*.json"))
EVENT_TODO_ID = "01JD7Z6ZQ4N8Y3T5V2W9X0ABCD"  # the todo of events/{get,update,delete}_todo.json


@dataclass(frozen=True)
class Invoked:
    result: Any  # what the function returned
    published: list[dict[str, Any]]  # the events it put on the bus meanwhile


def _body(invoked: Invoked) -> Any:
    return json.loads(invoked.result["body"]) if invoked.result.get("body") else None


def _status(expected: int) -> Callable[[Invoked], None]:
    def check(invoked: Invoked) -> None:
        assert invoked.result["statusCode"] == expected, invoked.result

    return check


def allowed_as_demo(invoked: Invoked) -> None:
    result = invoked.result
    assert result["principalId"] == key_id(sam_local.KEY), result
    assert result["context"] == {"tenant": sam_local.TENANT}, result
    (statement,) = result["policyDocument"]["Statement"]
    assert statement["Effect"] == "Allow", result


def created(invoked: Invoked) -> None:
    assert invoked.result["statusCode"] == 201, invoked.result
    assert _body(invoked)["title"] == "Read a book", invoked.result


def got(invoked: Invoked) -> None:
    assert invoked.result["statusCode"] == 200, invoked.result
    assert _body(invoked)["id"] == EVENT_TODO_ID, invoked.result


def listed(invoked: Invoked) -> None:
    assert invoked.result["statusCode"] == 200, invoked.result
    assert EVENT_TODO_ID in [todo["id"] for todo in _body(invoked)["items"]], invoked.result


def updated(invoked: Invoked) -> None:
    assert invoked.result["statusCode"] == 200, invoked.result
    todo = _body(invoked)
    assert (todo["id"], todo["completed"], todo["version"]) == (EVENT_TODO_ID, True, 2), invoked.result


def consumed(invoked: Invoked) -> None:
    assert invoked.result == {"batchItemFailures": []}, invoked.result
    events = invoked.published
    assert [event["detail-type"] for event in events] == ["todo.created", "todo.completed", "todo.deleted"], events
    assert {event["detail"]["tenant"] for event in events} == {sam_local.TENANT}, events
    assert {event["source"] for event in events} == {"todo-api"}, events


def feed_lists_the_batch(invoked: Invoked) -> None:
    assert invoked.result["statusCode"] == 200, invoked.result
    feed = [item for item in _body(invoked)["items"] if item["todo_id"] == EVENT_TODO_ID]
    assert [item["type"] for item in feed] == ["todo.deleted", "todo.completed", "todo.created"], feed


class Invocation(NamedTuple):
    function: str  # the template's logical id
    check: Callable[[Invoked], None]
    after: str | None = None  # the events file invoked first (once in a session): what this one reads


INVOCATIONS: dict[str, Invocation] = {
    "authorizer.json": Invocation("AuthorizerFunction", allowed_as_demo),
    "docs.json": Invocation("DocsFunction", _status(200)),
    "create_todo.json": Invocation("CreateTodoFunction", created),
    "get_todo.json": Invocation("GetTodoFunction", got),
    "list_todos.json": Invocation("ListTodosFunction", listed),
    "update_todo.json": Invocation("UpdateTodoFunction", updated),
    "delete_todo.json": Invocation("DeleteTodoFunction", _status(200)),
    "stream_batch.json": Invocation("StreamConsumerFunction", consumed),
    "list_activity.json": Invocation("ListActivityFunction", feed_lists_the_batch, after="stream_batch.json"),
}


@pytest.fixture
def event_todo(local: sam_local.Local) -> Todo:
    """The todo that events/{get,update,delete}_todo.json name, made anew (version 1) for each test."""
    todos = DynamoDBTodoStore(dynamodb.client(local.ddb.endpoint), local.tables["TodoTable"])
    now = "2026-11-27T10:15:30.000Z"
    with contextlib.suppress(TodoNotFound):
        todos.delete(sam_local.TENANT, EVENT_TODO_ID, None, now)
    todo = Todo(id=EVENT_TODO_ID, title="Read a book", completed=False, created_at=now, updated_at=now, version=1)
    return todos.create(sam_local.TENANT, todo)


@pytest.fixture(scope="session")
def invoked(local: sam_local.Local, invoke: Callable[[str, Path], Any]) -> Callable[[str], Invoked]:
    """An events file's invocation (and first the one it comes `after`), each once in a session."""
    done: dict[str, Invoked] = {}

    def run(name: str) -> Invoked:
        if name not in done:
            invocation = INVOCATIONS[name]
            if invocation.after is not None:
                run(invocation.after)
            before = local.bus.received
            result = invoke(invocation.function, EVENTS / name)
            done[name] = Invoked(result, local.bus.since(before))
        return done[name]

    return run


@pytest.mark.usefixtures("event_todo")
@pytest.mark.parametrize("event", EVENT_FILES, ids=lambda path: path.stem)
def test_the_function_of_each_events_file(event: Path, invoked: Callable[[str], Invoked]) -> None:
    assert event.name in INVOCATIONS, f"events/{event.name}: its function and check belong in INVOCATIONS"
    INVOCATIONS[event.name].check(invoked(event.name))


def test_every_function_of_the_build_has_its_events_file() -> None:
    text = sam_local.BUILT_TEMPLATE.read_text(encoding="utf-8")
    functions = set(re.findall(r"^  (\w+):\n    Type: AWS::Serverless::Function", text, re.MULTILINE))
    assert functions == {invocation.function for invocation in INVOCATIONS.values()}
    assert set(INVOCATIONS) == {path.name for path in EVENT_FILES}
