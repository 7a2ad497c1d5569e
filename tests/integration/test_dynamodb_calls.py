"""Each API operation is exactly one DynamoDB call on its path (404 and 412 included), never a Scan,
and a list page reads no item that it does not return."""

from collections import Counter

import pytest

from todo_api.wiring import dynamodb

MISSING = "01JD7Z6ZQ4N8Y3T5V2W9X0ABCD"


@pytest.fixture
def calls(aws):
    counter: Counter = Counter()
    results: list = []

    def before(event_name, **_):
        counter[event_name.rsplit(".", 1)[-1]] += 1

    def after(event_name, parsed, **_):
        results.append(parsed)

    events = dynamodb().meta.events
    events.register("before-call.dynamodb", before)
    events.register("after-call.dynamodb.Query", after)
    yield counter, results
    events.unregister("before-call.dynamodb", before)
    events.unregister("after-call.dynamodb.Query", after)


def seed(api, n=6):
    return [api("POST", "/todos", {"title": f"t{i}", "completed": i % 3 == 0}).body for i in range(n)]


@pytest.mark.parametrize(
    ("name", "request_args", "status", "operation"),
    [
        ("create", ("POST", "/todos", {"title": "x"}), 201, "TransactWriteItems"),  # the todo and its count
        ("get", ("GET", "/todos/{id}"), 200, "GetItem"),
        ("get_404", ("GET", f"/todos/{MISSING}"), 404, "GetItem"),
        ("list", ("GET", "/todos"), 200, "Query"),
        ("list_completed", ("GET", "/todos?completed=true"), 200, "Query"),
        ("update", ("PATCH", "/todos/{id}", {"title": "y"}), 200, "UpdateItem"),
        ("update_404", ("PATCH", f"/todos/{MISSING}", {"title": "y"}), 404, "UpdateItem"),
        ("update_412", ("PATCH", "/todos/{id}", {"title": "y"}, '"9"'), 412, "UpdateItem"),
        ("delete", ("DELETE", "/todos/{id}"), 200, "TransactWriteItems"),
        ("delete_404", ("DELETE", f"/todos/{MISSING}"), 404, "TransactWriteItems"),
        ("delete_412", ("DELETE", "/todos/{id}", None, '"9"'), 412, "TransactWriteItems"),
    ],
)
def test_one_call_per_operation(api, calls, name, request_args, status, operation):
    todo = seed(api, 1)[0]
    counter, _ = calls
    counter.clear()
    method, path, *rest = request_args
    body = rest[0] if rest else None
    headers = {"If-Match": rest[1]} if len(rest) > 1 else None
    path, _, qs = path.replace("{id}", todo["id"]).partition("?")
    query = dict([qs.split("=")]) if qs else None
    reply = api(method, path, body, headers=headers, query=query)
    assert reply.status == status, reply.body
    assert counter == Counter({operation: 1}), name


@pytest.mark.parametrize("completed", [None, "true", "false"])
@pytest.mark.parametrize("limit", [1, 2, 50])
def test_list_reads_only_what_it_returns(api, calls, completed, limit):
    seed(api, 9)
    _, results = calls
    results.clear()
    query = {"limit": str(limit)} | ({"completed": completed} if completed else {})
    reply = api("GET", "/todos", query=query)
    [parsed] = results
    matching = {None: 9, "true": 3, "false": 6}[completed]
    # One item beyond the page is read (to know whether a next page exists), never more.
    assert parsed["ScannedCount"] == parsed["Count"] == min(limit + 1, matching)
    assert len(reply.body["items"]) == min(limit, matching)
    assert (reply.body["next_cursor"] is None) == (matching <= limit)
