"""The one map from errors to statuses, the body guard, and the client's base path, as units."""

import base64
import io
import json

import pytest
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from todo_api.domain import errors
from todo_api.domain.models import Todo
from todo_api.http import logger as http_logger
from todo_api.http.body import body_problem
from todo_api.http.conditional import NotModified, expected_versions
from todo_api.http.errors import ErrorBody, error_response, error_responses, public_responses
from todo_api.http.errors import logger as errors_logger
from todo_api.http.paths import api_path, base_path


@pytest.mark.parametrize(
    ("error", "status", "message"),
    [
        (errors.BadRequest("Body must be a JSON object"), 400, "Body must be a JSON object"),
        (errors.InvalidCursor(), 400, "Invalid cursor"),
        (errors.Unauthenticated(), 401, "Missing or invalid API key"),
        (errors.TodoNotFound(), 404, "Todo not found"),
        (NotFoundError(), 404, "Not found"),
        (errors.IdempotencyKeyInUse(), 409, "A request with this Idempotency-Key is still in progress"),
        (errors.VersionConflict(), 412, "Version mismatch: the todo was changed by another request"),
        (errors.PayloadTooLarge(), 413, "Request body too large (limit 65536 bytes)"),
        (errors.UnsupportedMediaType(), 415, "Content-Type must be application/json, in UTF-8"),
        (errors.IdempotencyKeyReused(), 422, "Idempotency-Key was already used with a different body"),
        (errors.StoreUnavailable(), 503, "Storage is busy or unavailable, retry later"),
        (
            errors.TenantStorageFull(),
            409,
            "The tenant's storage is full (10 GB of todos per tenant): delete todos to make room",
        ),
    ],
)
def test_each_error_has_its_status_and_message(error, status, message):
    response = error_response(error)
    assert response.status_code == status
    assert json.loads(response.body) == {"error": message}
    assert response.headers["Content-Type"] == "application/json"
    retry = response.headers.get("Retry-After")
    # Waiting helps a busy store or a request in progress, never a full tenant.
    busy = isinstance(error, (errors.StoreUnavailable, errors.IdempotencyKeyInUse))
    assert retry == ("1" if busy else None)


def test_a_validation_error_lists_clean_details():
    error = RequestValidationError(
        [
            {
                "loc": ("body", "title"),
                "msg": "String should have at least 1 character",
                "type": "string_too_short",
                "input": "",
            }
        ]
    )
    response = error_response(error)
    assert response.status_code == 400
    assert json.loads(response.body) == {
        "error": "Invalid request",
        "details": [
            {"loc": ["body", "title"], "msg": "String should have at least 1 character", "type": "string_too_short"}
        ],
    }


def test_a_detail_without_fields_is_still_complete():
    response = error_response(RequestValidationError([{}]))
    assert json.loads(response.body)["details"] == [{"loc": [], "msg": "", "type": ""}]


def test_a_subclass_of_a_mapped_error_without_a_message_of_its_own_says_its_status():
    class Gone(NotFoundError):
        pass

    response = error_response(Gone())
    assert (response.status_code, json.loads(response.body)) == (404, {"error": "Not Found"})


def test_each_rejection_is_logged_with_its_status_and_reason():
    handler = http_logger.registered_handler
    logs, stream, levels = io.StringIO(), handler.stream, (http_logger.log_level, errors_logger.log_level)
    # Swapped without setStream(), which would flush the old stream (a closed capture, maybe).
    handler.stream = logs
    http_logger.setLevel("INFO")
    errors_logger.setLevel("INFO")
    try:
        error_response(errors.TodoNotFound())
    finally:
        http_logger.setLevel(levels[0])
        errors_logger.setLevel(levels[1])
        handler.stream = stream
    records = [json.loads(line) for line in logs.getvalue().splitlines()]
    assert [(r["message"], r["status"], r["reason"]) for r in records] == [("request rejected", 404, "Todo not found")]


def test_an_unexpected_error_is_raised_again():
    with pytest.raises(KeyError, match="boom"):
        error_response(KeyError("boom"))


def test_the_documented_errors_of_a_route():
    responses = error_responses(404, 412)
    assert sorted(responses) == [400, 401, 404, 412, 429, 503]  # no 403: no API Gateway key to lack
    assert responses[404]["description"] == "Todo not found, or owned by another tenant"
    assert responses[412]["description"] == "If-Match does not match the current version"
    assert responses[503]["description"] == (
        "Busy: storage throttled or unavailable, or the function's concurrency reached; retry after Retry-After seconds"
    )
    for code, response in responses.items():
        assert response["content"] == {"application/json": {"model": ErrorBody}}
        assert ("headers" in response) is (code in (429, 503))
    assert set(responses[429]["headers"]) == {"Retry-After"}
    assert responses[503]["headers"]["Retry-After"]["schema"] == {"type": "integer", "minimum": 0}
    assert "headers" in error_responses(409)[409]


def test_the_public_routes_document_only_the_throttles():
    """The stage's throttle (429) and a throttled function (503, the INTEGRATION_FAILURE response)."""
    responses = public_responses()
    assert list(responses) == [429, 503]
    for response in responses.values():
        assert response["content"] == {"application/json": {"model": ErrorBody}}
        assert response["headers"]["Retry-After"]["description"] == "Seconds to wait before retrying"
    assert responses[429]["description"].startswith("The stage's throttle")
    assert responses[503]["description"] == "The function's concurrency reached; see Retry-After"


def request(method="POST", body=None, content_type="application/json", *, encoded=False, multi=None):
    headers = {} if content_type is None else {"Content-Type": content_type}
    return {
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": multi if multi is not None else {k: [v] for k, v in headers.items()},
        "body": body,
        "isBase64Encoded": encoded,
    }


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "Application/JSON",
        " application/json ",
        "application/json; charset=utf-8",
        'application/json;charset="UTF-8"',
        "application/json; charset=utf8",
        "application/json; boundary=x",
    ],
)
def test_utf8_json_is_accepted_and_lowered_for_powertools(content_type):
    event = request(body="{}", content_type=content_type)
    assert body_problem(event) is None
    assert event["headers"]["Content-Type"] == content_type.strip().lower()
    assert event["multiValueHeaders"]["Content-Type"] == [content_type.strip().lower()]


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/jsonx", "application/json; charset=latin-1", "application/json;charset=utf-16", ""],
)
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
def test_another_media_type_or_charset_is_415(content_type, method):
    assert isinstance(body_problem(request(method, "{}", content_type)), errors.UnsupportedMediaType)


@pytest.mark.parametrize("content_type", ['application/json; charset="utf-8=x"', "application/json; charset=Xutf-8"])
def test_a_charset_that_only_contains_utf8_is_415(content_type):
    assert isinstance(body_problem(request(body="{}", content_type=content_type)), errors.UnsupportedMediaType)


def test_the_content_type_is_found_among_other_headers():
    event = request(body="{}", content_type=None)
    event["headers"] = {"Accept": "application/json", "Content-Type": "text/plain"}
    event["multiValueHeaders"] = {}
    assert isinstance(body_problem(event), errors.UnsupportedMediaType)
    event["headers"], event["multiValueHeaders"] = {}, {"Accept": ["*/*"], "Content-Type": ["text/plain"]}
    assert isinstance(body_problem(event), errors.UnsupportedMediaType)


def test_one_bad_value_of_a_multi_value_header_is_415():
    event = request(body="{}", multi={"content-type": ["application/json", "text/plain"]})
    assert isinstance(body_problem(event), errors.UnsupportedMediaType)


def test_no_content_type_is_read_as_json():
    assert body_problem(request(body="{}", content_type=None)) is None


def test_reads_do_not_check_the_media_type_or_the_json():
    assert body_problem(request("GET", None, "text/plain")) is None
    assert body_problem(request("DELETE", "[1]", "text/plain")) is None


def test_an_empty_body_is_left_to_the_route():
    assert body_problem(request(body=None)) is None
    assert body_problem(request(body="")) is None


def test_the_size_limit_is_64_kib_of_utf8_bytes():
    fits = '{"a": "' + "x" * (64 * 1024 - 9) + '"}'
    assert len(fits.encode()) == 64 * 1024
    assert body_problem(request(body=fits)) is None
    assert isinstance(body_problem(request(body=fits[:-2] + 'x"}')), errors.PayloadTooLarge)
    # é is two bytes: fewer characters than the limit, more bytes
    wide = '{"a": "' + "é" * (33 * 1024) + '"}'
    assert len(wide) < 64 * 1024 < len(wide.encode())
    assert isinstance(body_problem(request(body=wide)), errors.PayloadTooLarge)


def test_a_base64_body_is_decoded_for_the_route():
    event = request(body=base64.b64encode('{"title": "café"}'.encode()).decode(), encoded=True)
    assert body_problem(event) is None
    assert (event["body"], event["isBase64Encoded"]) == ('{"title": "café"}', False)


def test_base64_that_is_not_base64_or_not_utf8_is_400():
    trailing = body_problem(request(body="e30=!!", encoded=True))  # "{}" and characters base64 has not
    assert isinstance(trailing, errors.BadRequest)
    assert trailing.message == "Body is not valid base64"
    bad = body_problem(request(body="not base64!", encoded=True))
    assert isinstance(bad, errors.BadRequest)
    assert bad.message == "Body is not valid base64"
    latin = body_problem(request(body=base64.b64encode('{"t": "caf\xe9"}'.encode("latin-1")).decode(), encoded=True))
    assert isinstance(latin, errors.BadRequest)
    assert latin.message == "Body is not valid UTF-8"


def test_a_lone_surrogate_is_not_utf8():
    problem = body_problem(request(body='{"t": "\ud800"}'))
    assert isinstance(problem, errors.BadRequest)
    assert problem.message == "Body is not valid UTF-8"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[]", "Body must be a JSON object"),
        ('[{"title": "x"}]', "Body must be a JSON object"),
        ('"x"', "Body must be a JSON object"),
        ("1" * 5000, "Body is not valid JSON"),
        ("[" * 30_000 + "]" * 30_000, "Body is nested too deeply"),
    ],
)
def test_what_powertools_would_misread_is_400(body, message):
    problem = body_problem(request(body=body))
    assert isinstance(problem, errors.BadRequest)
    assert problem.message == message


def test_json_that_does_not_parse_is_left_to_powertools():
    assert body_problem(request(body='{"title": ')) is None


def nested(depth: int, container: str = "list") -> str:
    """A JSON object with `depth` containers in all (itself included) around one number."""
    inner = "1"
    for _ in range(depth - 1):
        inner = f"[{inner}]" if container == "list" else f'{{"a": {inner}}}'
    return f'{{"a": {inner}}}'


@pytest.mark.parametrize("container", ["list", "dict"])
def test_nesting_is_bounded_at_32_levels_values_included(container):
    assert body_problem(request(body=nested(31, container))) is None
    deep = body_problem(request(body=nested(32, container)))
    assert isinstance(deep, errors.BadRequest)
    assert deep.message == "Body is nested too deeply"


def test_a_wide_flat_body_is_not_deep():
    assert body_problem(request(body=json.dumps({str(i): [i, {"x": i}] for i in range(200)}))) is None


@pytest.mark.parametrize(
    ("resource", "parameters", "own"),
    [
        ("/todos", None, "/todos"),
        ("/todos/{todo_id}", {"todo_id": "01J"}, "/todos/01J"),
        ("/files/{key+}", {"key": "a/b c"}, "/files/a/b%20c"),
        ("/todos/{todo_id}", {}, None),
        ("todos", None, None),
        (None, None, None),
    ],
)
def test_the_apis_own_path(resource, parameters, own):
    assert api_path({"resource": resource, "pathParameters": parameters}) == own


@pytest.mark.parametrize(
    ("client", "base"),
    [
        ("/dev/todos/01J", "/dev"),
        ("/v1/todos/01J/", "/v1"),
        ("/a/b/todos/01J", "/a/b"),
        ("/todos/01J", ""),
        ("/elsewhere", ""),
        ("/xtodos/01J", ""),  # ends with the same letters, but is no base path
        ("/dev//todos/01J", "/dev"),
        ("/apiX/todos/01J", "/apiX"),
        (None, ""),
    ],
)
def test_the_clients_base_path(client, base):
    event = {"resource": "/todos/{todo_id}", "pathParameters": {"todo_id": "01J"}, "requestContext": {"path": client}}
    assert base_path(event) == base


@pytest.mark.parametrize(
    ("resource", "client", "base"),
    [("/", "/dev/", "/dev"), ("/", "/", ""), ("/todos/{todo_id}", "/v1/todos/01JX", "/v1")],
)
def test_the_base_path_of_the_root_and_of_an_id_ending_in_x(resource, client, base):
    event = {"resource": resource, "pathParameters": {"todo_id": "01JX"}, "requestContext": {"path": client}}
    assert base_path(event) == base


def test_no_base_path_without_a_resource_or_context():
    assert base_path({"requestContext": {"path": "/dev/todos"}}) == ""
    assert base_path({"resource": "/todos", "requestContext": None}) == ""


def test_versions_have_at_most_15_digits():
    assert expected_versions('"' + "9" * 15 + '"') == frozenset({999_999_999_999_999})
    assert expected_versions('"1' + "0" * 15 + '"') == frozenset()


def test_too_many_tags_are_refused_with_the_limit():
    with pytest.raises(errors.BadRequest, match=r"^If-Match lists more than 100 entity tags$"):
        expected_versions(", ".join(f'"{i}"' for i in range(101)))


def test_not_modified_carries_the_etag():
    todo = Todo(id="01JD7Z6ZQ4N8Y3T5V2W9X0ABCD", title="t", completed=False, created_at="x", updated_at="x", version=3)
    signal = NotModified(todo)
    assert (str(signal), signal.etag) == ('"3"', '"3"')
