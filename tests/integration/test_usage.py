"""`make usage`: the per-tenant figures of the saved Logs Insights queries, from the local request log,
grouped by the routes of the real template.yaml."""

import pytest

from devtools import usage

LOG = """\
GET /todos/01JD7Z6ZQ4N8Y3T5V2W9X0ABCD 200 GetTodoFunction 12ms tenant=demo
GET /todos/01JD7Z6ZQ4N8Y3T5V2W9X0ABCE 404 GetTodoFunction 30ms tenant=demo
GET /todos/01JD7Z6ZQ4N8Y3T5V2W9X0ABCF 200 GetTodoFunction 8ms tenant=demo
GET /todos?limit=5 200 ListTodosFunction 20ms tenant=demo
POST /todos 201 CreateTodoFunction 25ms tenant=acme
POST /todos 201 CreateTodoFunction 1490ms tenant=acme cold 1412 ms
GET /todos 401 AuthorizerFunction 3ms
STREAM 3 records StreamConsumerFunction 40ms
{"level": "INFO", "message": "a function's own log line"}
GET /nope 404 None 1ms
"""


@pytest.fixture(scope="module")
def figures():
    return usage.tally(LOG.splitlines(), usage.template_routes())


def test_requests_are_grouped_by_tenant_method_and_template_route(figures):
    assert {key: f.requests for key, f in figures.items()} == {
        ("demo", "GET", "/todos/{todo_id}"): 3,
        ("demo", "GET", "/todos"): 1,
        ("acme", "POST", "/todos"): 2,  # one of them a cold start: the tenant is still read
        ("-", "GET", "/todos"): 1,
        ("-", "GET", "(no route)"): 1,
    }


def test_errors_are_the_4xx_and_5xx(figures):
    assert figures["demo", "GET", "/todos/{todo_id}"].errors == 1
    assert figures["-", "GET", "/todos"].errors == 1
    assert figures["acme", "POST", "/todos"].errors == 0


def test_p50_and_p99_are_nearest_rank(figures):
    gets = figures["demo", "GET", "/todos/{todo_id}"]
    assert (gets.percentile(50), gets.percentile(99)) == (12.0, 30.0)
    assert figures["acme", "POST", "/todos"].percentile(99) == 1490.0  # the request's time, not its init's


def test_the_table_has_a_row_per_group_busiest_first(figures):
    lines = usage.table(figures).splitlines()
    assert lines[0].split() == ["tenant", "method", "route", "requests", "errors", "p50_ms", "p99_ms"]
    assert lines[1].split() == ["demo", "GET", "/todos/{todo_id}", "3", "1", "12", "30"]
    assert len(lines) == 1 + 5


def test_every_api_route_of_the_template_is_known():
    routes = {route for _, route in usage.template_routes()}
    assert {"/", "/todos", "/todos/{todo_id}", "/activity", "/openapi.json", "/docs"} <= routes


def test_main_reads_a_log_file(tmp_path, capsys):
    log = tmp_path / "requests.log"
    log.write_text(LOG)
    assert usage.main([str(log)]) == 0
    assert "/todos/{todo_id}" in capsys.readouterr().out
    assert usage.main([str(tmp_path / "missing.log")]) == 1


def test_percentiles_of_ten_requests():
    ten = usage.Figures(latencies=[float(n) for n in range(10, 0, -1)])
    assert (ten.percentile(50), ten.percentile(90), ten.percentile(99)) == (5.0, 9.0, 10.0)
