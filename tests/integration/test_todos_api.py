"""The HTTP contract, row by row, through the handlers on moto with events/ samples."""

import base64
import json

import pytest

from tests.conftest import TABLES


def stored_todos(aws) -> list[dict]:
    items = aws.scan(TableName=TABLES["TodoTable"])["Items"]
    return [item for item in items if item["entity"]["S"] == "todo"]


def new(api, title="Read a book", **fields):
    reply = api("POST", "/todos", {"title": title, **fields})
    assert reply.status == 201, reply.body
    return reply.body


class TestCrud:
    def test_create_returns_todo_and_location(self, api, aws):
        reply = api("POST", "/todos", {"title": "Read a book"})
        assert reply.status == 201
        todo = reply.body
        assert reply.headers["Location"] == f"/dev/todos/{todo['id']}"  # the sample's stage URL: /dev/todos
        assert todo["title"] == "Read a book"
        assert todo["completed"] is False
        assert todo["version"] == 1
        assert todo["created_at"] == todo["updated_at"]
        assert todo["created_at"].endswith("Z")
        [item] = stored_todos(aws)
        assert item["tenant"]["S"] == "acme"
        assert item["id"]["S"] == todo["id"]

    def test_get_has_etag(self, api):
        todo = new(api)
        reply = api("GET", f"/todos/{todo['id']}")
        assert reply.status == 200
        assert reply.body == todo
        assert reply.headers["ETag"] == '"1"'

    @pytest.mark.parametrize("method", ["PUT", "PATCH"])
    def test_update_changes_only_fields_sent(self, api, method):
        todo = new(api, "Write", completed=False)
        reply = api(method, f"/todos/{todo['id']}", {"completed": True})
        assert reply.status == 200, reply.body
        assert reply.body["completed"] is True
        assert reply.body["title"] == "Write"
        assert reply.body["version"] == 2
        assert reply.body["updated_at"] >= todo["updated_at"]
        assert reply.body["created_at"] == todo["created_at"]
        assert api("GET", f"/todos/{todo['id']}").body == reply.body

    def test_delete(self, api, aws):
        todo = new(api)
        reply = api("DELETE", f"/todos/{todo['id']}")
        assert reply.status == 200
        assert reply.body == {"message": "Todo deleted successfully"}
        assert api("GET", f"/todos/{todo['id']}").status == 404
        assert stored_todos(aws) == []

    def test_list_oldest_first_and_filtered(self, api):
        first = new(api, "one")
        second = new(api, "two", completed=True)
        third = new(api, "three")
        page = api("GET", "/todos").body
        assert [t["id"] for t in page["items"]] == [first["id"], second["id"], third["id"]]
        assert page["next_cursor"] is None
        done = api("GET", "/todos", query={"completed": "true"}).body
        assert [t["id"] for t in done["items"]] == [second["id"]]
        open_ = api("GET", "/todos", query={"completed": "false"}).body
        assert [t["id"] for t in open_["items"]] == [first["id"], third["id"]]

    def test_completing_moves_todo_between_filters(self, api):
        todo = new(api)
        api("PATCH", f"/todos/{todo['id']}", {"completed": True})
        assert api("GET", "/todos", query={"completed": "false"}).body["items"] == []
        assert [t["id"] for t in api("GET", "/todos", query={"completed": "true"}).body["items"]] == [todo["id"]]

    def test_welcome_needs_no_key(self, api):
        reply = api("GET", "/", tenant=None)
        assert reply.status == 200
        assert "message" in reply.body


class TestErrors:
    """Every row of the contract's error table; nothing is written on any error."""

    @pytest.mark.parametrize(
        "raw",
        [
            "not json",
            "[1, 2]",
            '"a string"',
            "{}",
            '{"title": ""}',
            '{"title": "   "}',
            '{"title": "' + "x" * 201 + '"}',
            '{"title": 5}',
            '{"title": "ok", "completed": "true"}',
            '{"title": "ok", "completed": 1}',
            '{"title": "ok", "id": "01JD7Z6ZQ4N8Y3T5V2W9X0ABCD"}',
            '{"title": "ok", "version": 7}',
            '{"title": "ok", "tenant": "globex"}',
            '{"title": null}',
        ],
    )
    def test_bad_create_body_is_400(self, api, aws, raw):
        reply = api("POST", "/todos", raw_body=raw)
        assert reply.status == 400, reply.body
        assert isinstance(reply.body["error"], str)
        assert reply.headers["Content-Type"].startswith("application/json")
        assert stored_todos(aws) == []

    @pytest.mark.parametrize("depth", [40, 500, 950, 5000])
    def test_deeply_nested_body_is_400(self, api, aws, depth):
        raw = '{"title": ' + "[" * depth + "]" * depth + "}"
        for method, path in (("POST", "/todos"), ("PATCH", f"/todos/{new(api)['id']}")):
            reply = api(method, path, raw_body=raw)
            assert reply.status == 400, (method, depth, reply.body)
            assert reply.body["error"] == "Body is nested too deeply"
        assert len(stored_todos(aws)) == 1

    def test_missing_body_is_400(self, api, aws):
        reply = api("POST", "/todos")
        assert reply.status == 400
        assert stored_todos(aws) == []

    @pytest.mark.parametrize("charset", ["iso-8859-1", "ISO-8859-1", "utf-16", '"windows-1252"', "us-ascii"])
    def test_a_charset_other_than_utf8_is_415(self, api, aws, charset):
        latin1 = base64.b64encode('{"title": "café"}'.encode("latin-1")).decode()
        headers = {"Content-Type": f"application/json; charset={charset}"}
        todo = new(api)
        for method, path in (("POST", "/todos"), ("PATCH", f"/todos/{todo['id']}"), ("PUT", f"/todos/{todo['id']}")):
            reply = api(method, path, raw_body=latin1, base64=True, headers=headers)
            assert reply.status == 415, (method, reply.body)
            assert reply.body == {"error": "Content-Type must be application/json, in UTF-8"}
        assert [t["title"]["S"] for t in stored_todos(aws)] == [todo["title"]]

    @pytest.mark.parametrize("charset", ["utf-8", "UTF-8", '"utf-8"', "utf8"])
    def test_utf8_declared_is_accepted(self, api, aws, charset):
        reply = api(
            "POST", "/todos", {"title": "café"}, headers={"Content-Type": f"application/json; charset={charset}"}
        )
        assert reply.status == 201, reply.body
        assert reply.body["title"] == "café"

    @pytest.mark.parametrize(
        ("raw", "loc", "kind"),
        [
            ('{"title": 5}', ["body", "title"], "string_type"),
            ('{"title": null}', ["body", "title"], "string_type"),
            ('{"title": ""}', ["body", "title"], "string_too_short"),
            ('{"title": "   "}', ["body", "title"], "value_error"),
            ('{"title": "ok", "completed": "true"}', ["body", "completed"], "bool_type"),
            ('{"title": "ok", "completed": null}', ["body", "completed"], "bool_type"),
        ],
    )
    def test_the_same_clean_details_on_post_put_and_patch(self, api, raw, loc, kind):
        todo = new(api)
        for method, path in (("POST", "/todos"), ("PUT", f"/todos/{todo['id']}"), ("PATCH", f"/todos/{todo['id']}")):
            reply = api(method, path, raw_body=raw)
            assert reply.status == 400, (method, reply.body)
            assert [(d["loc"], d["type"]) for d in reply.body["details"]] == [(loc, kind)], (method, reply.body)

    def test_validation_error_has_details(self, api):
        reply = api("POST", "/todos", {"title": "ok", "completed": "true"})
        assert reply.status == 400
        assert any("completed" in d["loc"] for d in reply.body["details"])

    @pytest.mark.parametrize(
        "raw", ["{}", '{"title": null}', '{"completed": "false"}', '{"title": ""}', '{"other": 1}', "[]", "nope"]
    )
    def test_bad_update_body_is_400(self, api, raw):
        todo = new(api)
        reply = api("PATCH", f"/todos/{todo['id']}", raw_body=raw)
        assert reply.status == 400, reply.body
        assert api("GET", f"/todos/{todo['id']}").body == todo

    @pytest.mark.parametrize(
        "query",
        [
            {"limit": "0"},
            {"limit": "101"},
            {"limit": "abc"},
            {"limit": "1.5"},
            {"completed": "yes"},
            {"completed": "1"},
            {"cursor": "not-a-cursor"},
            {"cursor": ""},
        ],
    )
    def test_bad_query_is_400(self, api, query):
        reply = api("GET", "/todos", query=query)
        assert reply.status == 400, reply.body
        assert "error" in reply.body

    def test_missing_tenant_context_is_401(self, api):
        reply = api("GET", "/todos", tenant=None)
        assert reply.status == 401
        assert reply.body == {"error": "Missing or invalid API key"}

    @pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
    def test_unknown_todo_is_404(self, api, method):
        body = {"title": "x"} if method in ("PUT", "PATCH") else None
        for todo_id in ("01JD7Z6ZQ4N8Y3T5V2W9X0ABCD", "not-an-id", "x" * 2000):
            reply = api(method, f"/todos/{todo_id}", body)
            assert reply.status == 404, (todo_id, reply.body)
            assert reply.body == {"error": "Todo not found"}

    def test_idempotency_key_reuse_with_other_body_is_422(self, api, aws):
        headers = {"Idempotency-Key": "k-1"}
        assert api("POST", "/todos", {"title": "a"}, headers=headers).status == 201
        reply = api("POST", "/todos", {"title": "b"}, headers=headers)
        assert reply.status == 422
        assert "error" in reply.body
        assert len(stored_todos(aws)) == 1

    def test_stale_if_match_is_412_and_changes_nothing(self, api):
        todo = new(api)
        api("PATCH", f"/todos/{todo['id']}", {"title": "v2"})
        for method, body in (("PUT", {"title": "v3"}), ("PATCH", {"completed": True}), ("DELETE", None)):
            reply = api(method, f"/todos/{todo['id']}", body, headers={"If-Match": '"1"'})
            assert reply.status == 412, (method, reply.body)
            assert "error" in reply.body
        current = api("GET", f"/todos/{todo['id']}").body
        assert (current["title"], current["completed"], current["version"]) == ("v2", False, 2)

    def test_body_over_64_kib_is_413(self, api, aws):
        raw = json.dumps({"title": "x", "pad": "y" * 70_000})
        reply = api("POST", "/todos", raw_body=raw)
        assert reply.status == 413
        assert reply.body["error"].startswith("Request body too large")
        assert stored_todos(aws) == []

    def test_non_utf8_body_is_400(self, api, aws):
        raw = base64.b64encode(b'{"title": "\xff\xfe"}').decode()
        reply = api("POST", "/todos", raw_body=raw, base64=True)
        assert reply.status == 400
        assert stored_todos(aws) == []

    def test_base64_utf8_body_is_accepted(self, api):
        raw = base64.b64encode('{"title": "café"}'.encode()).decode()
        reply = api("POST", "/todos", raw_body=raw, base64=True)
        assert reply.status == 201
        assert reply.body["title"] == "café"


class TestIfMatch:
    def test_matching_version_updates_and_deletes(self, api):
        todo = new(api)
        updated = api("PUT", f"/todos/{todo['id']}", {"title": "v2"}, headers={"If-Match": '"1"'})
        assert updated.status == 200
        assert updated.body["version"] == 2
        # If-Match compares strongly (RFC 9110 13.1.1): a weak tag matches nothing.
        assert api("DELETE", f"/todos/{todo['id']}", headers={"If-Match": 'W/"2"'}).status == 412
        assert api("DELETE", f"/todos/{todo['id']}", headers={"If-Match": '"2"'}).status == 200
        assert api("GET", f"/todos/{todo['id']}").status == 404

    @pytest.mark.parametrize("method", ["PATCH", "DELETE"])
    def test_a_list_matches_if_any_tag_does(self, api, method):
        todo = new(api)
        body = {"title": "v2"} if method == "PATCH" else None
        stale = api(method, f"/todos/{todo['id']}", body, headers={"If-Match": '"7", "3"'})
        assert stale.status == 412
        assert api("GET", f"/todos/{todo['id']}").body == todo
        reply = api(method, f"/todos/{todo['id']}", body, headers={"If-Match": '"7", "1"'})
        assert reply.status == 200, reply.body
        after = api("GET", f"/todos/{todo['id']}")
        assert (after.status, after.body.get("version")) == ((200, 2) if method == "PATCH" else (404, None))

    def test_garbage_if_match_is_412_on_existing_and_404_on_missing(self, api):
        todo = new(api)
        assert api("PATCH", f"/todos/{todo['id']}", {"title": "x"}, headers={"If-Match": "abc"}).status == 412
        missing = api("PATCH", "/todos/01JD7Z6ZQ4N8Y3T5V2W9X0ABCD", {"title": "x"}, headers={"If-Match": '"1"'})
        assert missing.status == 404

    def test_star_matches_any_version(self, api):
        todo = new(api)
        assert api("PATCH", f"/todos/{todo['id']}", {"title": "x"}, headers={"If-Match": "*"}).status == 200


class TestIfNoneMatch:
    def test_the_current_etag_answers_304_without_a_body(self, api):
        todo = new(api)
        for tag in ('"1"', 'W/"1"', '"5", "1"', "*"):
            reply = api("GET", f"/todos/{todo['id']}", headers={"If-None-Match": tag})
            assert (reply.status, reply.body, reply.headers["ETag"]) == (304, "", '"1"'), tag

    def test_a_stale_or_other_etag_answers_the_todo(self, api):
        todo = new(api)
        api("PATCH", f"/todos/{todo['id']}", {"title": "v2"})
        for tag in ('"1"', '"9"', "garbage"):
            reply = api("GET", f"/todos/{todo['id']}", headers={"If-None-Match": tag})
            assert (reply.status, reply.body["version"], reply.headers["ETag"]) == (200, 2, '"2"'), tag

    def test_another_tenants_todo_is_still_404(self, api):
        todo = new(api)
        reply = api("GET", f"/todos/{todo['id']}", headers={"If-None-Match": "*"}, tenant="globex")
        assert reply.status == 404


class TestIdempotency:
    def test_retry_returns_first_response_and_creates_nothing(self, api, aws):
        headers = {"Idempotency-Key": "order-42"}
        first = api("POST", "/todos", {"title": "once"}, headers=headers)
        again = api("POST", "/todos", {"title": "once"}, headers=headers)
        assert first.status == again.status == 201
        assert again.body == first.body
        assert again.headers["Location"] == first.headers["Location"]
        assert len(stored_todos(aws)) == 1

    def test_same_key_in_two_tenants_is_two_todos(self, api, aws):
        headers = {"Idempotency-Key": "shared-key"}
        mine = api("POST", "/todos", {"title": "t"}, headers=headers, tenant="acme")
        theirs = api("POST", "/todos", {"title": "t"}, headers=headers, tenant="globex")
        assert mine.status == theirs.status == 201
        assert mine.body["id"] != theirs.body["id"]
        assert sorted(i["tenant"]["S"] for i in stored_todos(aws)) == ["acme", "globex"]
        assert api("GET", f"/todos/{theirs.body['id']}", tenant="acme").status == 404

    def test_key_order_in_body_does_not_matter(self, api, aws):
        headers = {"Idempotency-Key": "k-order"}
        api("POST", "/todos", raw_body='{"title": "a", "completed": true}', headers=headers)
        again = api("POST", "/todos", raw_body='{"completed": true, "title": "a"}', headers=headers)
        assert again.status == 201
        assert len(stored_todos(aws)) == 1

    @pytest.mark.parametrize("key", ["x" * 129, "k-1\n", "k 1"])
    def test_invalid_key_is_400(self, api, aws, key):
        # the header's pattern ends in `$`: pydantic-core's regex engine (Rust's) matches it at the
        # very end only, so a trailing line break is refused, as in the OpenAPI document (ECMA-262)
        reply = api("POST", "/todos", {"title": "a"}, headers={"Idempotency-Key": key})
        assert reply.status == 400
        assert stored_todos(aws) == []


class TestTenancy:
    def test_other_tenants_todo_does_not_exist(self, api, aws):
        theirs = new(api, "secret", completed=True)  # acme
        tid = theirs["id"]
        assert api("GET", f"/todos/{tid}", tenant="globex").body == {"error": "Todo not found"}
        assert api("PATCH", f"/todos/{tid}", {"title": "pwn"}, tenant="globex").status == 404
        assert api("PUT", f"/todos/{tid}", {"completed": False}, tenant="globex").status == 404
        assert api("DELETE", f"/todos/{tid}", tenant="globex").status == 404
        for query in (None, {"completed": "true"}, {"completed": "false"}):
            assert api("GET", "/todos", tenant="globex", query=query).body["items"] == []
        assert api("GET", f"/todos/{tid}").body == theirs

    def test_cursor_of_another_tenant_is_400(self, api):
        for i in range(3):
            new(api, f"t{i}")
        cursor = api("GET", "/todos", query={"limit": "1"}).body["next_cursor"]
        assert cursor
        assert api("GET", "/todos", query={"cursor": cursor}, tenant="globex").status == 400

    def test_cursor_of_another_filter_is_400(self, api):
        for i in range(3):
            new(api, f"t{i}")
        cursor = api("GET", "/todos", query={"limit": "1"}).body["next_cursor"]
        assert api("GET", "/todos", query={"cursor": cursor, "completed": "false"}).status == 400

    def test_tampered_cursor_is_400(self, api):
        for i in range(3):
            new(api, f"t{i}")
        cursor = api("GET", "/todos", query={"limit": "1"}).body["next_cursor"]
        flipped = cursor[:5] + ("A" if cursor[5] != "A" else "B") + cursor[6:]
        assert api("GET", "/todos", query={"cursor": flipped}).status == 400


class TestMetrics:
    """Writes publish one EMF metric each, with an explicit name and unit; reads publish none."""

    @staticmethod
    def emitted(capsys):
        blobs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
        return [
            (m["Name"], m["Unit"]) for blob in blobs for d in blob["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]
        ]

    def test_writes_count_and_reads_do_not(self, api, capsys):
        todo = new(api)
        assert self.emitted(capsys) == [("TodoCreated", "Count")]
        api("GET", f"/todos/{todo['id']}")
        api("GET", "/todos")
        assert self.emitted(capsys) == []
        api("PATCH", f"/todos/{todo['id']}", {"completed": True})
        assert self.emitted(capsys) == [("TodoUpdated", "Count")]
        api("DELETE", f"/todos/{todo['id']}")
        assert self.emitted(capsys) == [("TodoDeleted", "Count")]

    def test_rejected_write_counts_nothing(self, api, capsys):
        api("POST", "/todos", {"title": ""})
        api("DELETE", "/todos/01JD7Z6ZQ4N8Y3T5V2W9X0ABCD")
        assert self.emitted(capsys) == []
