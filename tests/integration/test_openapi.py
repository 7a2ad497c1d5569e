"""One OpenAPI document for every route of every function, generated from the code's models."""

import json

from devtools.emulator.template import project
from devtools.openapi import TARGET, render

ERROR_SCHEMA = {"$ref": "#/components/schemas/ErrorBody"}


def template_routes():
    routes = set()
    for function in project().all_functions():
        for event in (function.events or {}).values():
            if event["Type"] == "Api":
                routes.add((event["Properties"]["Method"].lower(), event["Properties"]["Path"]))
    return routes


def test_committed_document_is_fresh():
    assert TARGET.read_text(encoding="utf-8") == render(), "run `make openapi`"


def test_every_template_route_is_documented_and_nothing_else():
    document = json.loads(render())
    documented = {(method, path) for path, ops in document["paths"].items() for method in ops}
    assert documented == template_routes()


def test_key_routes_are_secured_and_errors_documented():
    document = json.loads(render())
    schemes = document["components"]["securitySchemes"]
    assert {k: schemes["ApiKeyAuth"][k] for k in ("type", "in", "name")} == {
        "type": "apiKey",
        "in": "header",
        "name": "x-api-key",
    }
    assert {k: schemes["BearerAuth"][k] for k in ("type", "scheme", "bearerFormat")} == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            if path.startswith("/todos") or path == "/activity":
                assert op["security"] == [{"ApiKeyAuth": []}, {"BearerAuth": []}], (method, path)  # either
                for status in ("400", "401", "503"):
                    assert op["responses"][status]["content"]["application/json"]["schema"] == ERROR_SCHEMA
            else:
                assert op["security"] == [], (method, path)  # public, even under a document-wide requirement
    item_ops = document["paths"]["/todos/{todo_id}"]
    assert {"404", "412"} <= set(item_ops["put"]["responses"])
    assert {"404", "412"} <= set(item_ops["delete"]["responses"])
    assert {"409", "413", "422"} <= set(document["paths"]["/todos"]["post"]["responses"])


def test_only_statuses_the_server_sends():
    document = json.loads(render())
    text = json.dumps(document)
    for name in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        assert name not in document["components"]["schemas"]
        assert f"#/components/schemas/{name}" not in text
    with_422 = {(m, p) for p, ops in document["paths"].items() for m, op in ops.items() if "422" in op["responses"]}
    assert with_422 == {("post", "/todos")}  # an Idempotency-Key reused with another body
    assert document["paths"]["/todos"]["post"]["responses"]["422"]["content"]["application/json"]["schema"] == (
        ERROR_SCHEMA
    )


# On every response of every operation (todo_api.http.headers), declared once as components.
SECURITY = {"Cache-Control", "X-Content-Type-Options", "Content-Security-Policy", "X-Frame-Options"}
SECURITY |= {"Strict-Transport-Security"}


def test_response_headers_are_documented():
    document = json.loads(render())
    paths = document["paths"]
    assert set(paths["/todos"]["post"]["responses"]["201"]["headers"]) == {"Location"} | SECURITY
    item = paths["/todos/{todo_id}"]["get"]["responses"]
    assert set(item["200"]["headers"]) == set(item["304"]["headers"]) == {"ETag"} | SECURITY
    assert set(document["components"]["headers"]) == SECURITY
    for path, ops in paths.items():
        for method, op in ops.items():
            for status, response in op["responses"].items():
                own = {name for name in response["headers"] if name not in SECURITY}
                assert {name: response["headers"][name] for name in SECURITY} == {
                    name: {"$ref": f"#/components/headers/{name}"} for name in SECURITY
                }, (method, path, status)
                if status in {"409", "429", "503"}:
                    assert own == {"Retry-After"}, (method, path, status)
            assert "429" in op["responses"], (method, path)  # the stage's throttle applies to every route
            assert "503" in op["responses"], (method, path)  # and so does a throttled function


def test_every_operation_is_described_and_tagged_with_a_declared_tag():
    document = json.loads(render())
    declared = {tag["name"] for tag in document["tags"]}
    assert document["info"]["contact"]["name"]
    assert document["info"]["license"]["identifier"]
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            assert op["description"].strip(), (method, path)
            assert set(op["tags"]) <= declared, (method, path)


def test_error_details_are_documented():
    schemas = json.loads(render())["components"]["schemas"]
    assert set(schemas["ErrorDetail"]["required"]) == {"loc", "msg", "type"}


def test_strict_body_schemas():
    schemas = json.loads(render())["components"]["schemas"]
    assert schemas["TodoCreate"]["additionalProperties"] is False
    assert schemas["TodoCreate"]["required"] == ["title"]
    assert schemas["TodoUpdate"]["additionalProperties"] is False
    assert schemas["TodoUpdate"]["minProperties"] == 1
    assert schemas["TodoUpdate"]["properties"]["completed"] == {"title": "Completed", "type": "boolean"}


def test_docs_function_serves_document_and_swagger_ui(api):
    document = api("GET", "/openapi.json", tenant=None)
    assert document.status == 200
    # The committed document, with `servers` set to the base path of the call (a stage URL: /dev).
    assert document.body == {**json.loads(TARGET.read_text(encoding="utf-8")), "servers": [{"url": "/dev"}]}
    page = api("GET", "/docs", tenant=None)
    assert page.status == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "SwaggerUIBundle" in page.body
    assert '"ApiKeyAuth"' in page.body
    assert '"BearerAuth"' in page.body
    assert '"BearerAuth"' in page.body
