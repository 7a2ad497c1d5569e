"""One OpenAPI document for every route of every function, generated from the code's models."""

import json

from devtools.local.template import project
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
    assert document["components"]["securitySchemes"]["ApiKeyAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "x-api-key",
    }
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            if path.startswith("/todos") or path == "/activity":
                assert op["security"] == [{"ApiKeyAuth": []}], (method, path)
                for status in ("400", "401", "503"):
                    assert op["responses"][status]["content"]["application/json"]["schema"] == ERROR_SCHEMA
            else:
                assert "security" not in op, (method, path)
    item_ops = document["paths"]["/todos/{todo_id}"]
    assert {"404", "412"} <= set(item_ops["put"]["responses"])
    assert {"404", "412"} <= set(item_ops["delete"]["responses"])
    assert {"409", "413", "422"} <= set(document["paths"]["/todos"]["post"]["responses"])


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
    assert document.body == json.loads(TARGET.read_text(encoding="utf-8"))
    page = api("GET", "/docs", tenant=None)
    assert page.status == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "SwaggerUIBundle" in page.body
    assert '"ApiKeyAuth"' in page.body
