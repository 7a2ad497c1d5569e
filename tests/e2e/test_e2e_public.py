"""The routes that need no key: welcome, the OpenAPI document and its Swagger UI page."""

import pytest

from tests.e2e.client import Api, json_body

# The contract's route table: (method, path in the OpenAPI document, success status).
ROUTES = [
    ("get", "/", "200"),
    ("post", "/todos", "201"),
    ("get", "/todos", "200"),
    ("get", "/todos/{todo_id}", "200"),
    ("put", "/todos/{todo_id}", "200"),
    ("patch", "/todos/{todo_id}", "200"),
    ("delete", "/todos/{todo_id}", "200"),
    ("get", "/activity", "200"),
    ("get", "/openapi.json", "200"),
    ("get", "/docs", "200"),
]


@pytest.fixture
def document(anonymous: Api) -> dict:
    response = anonymous.request("GET", "/openapi.json")
    assert response.status_code == 200
    spec = json_body(response)
    assert isinstance(spec, dict)
    return spec


def test_welcome_needs_no_key(anonymous: Api) -> None:
    response = anonymous.request("GET", "/")
    assert response.status_code == 200
    body = json_body(response)
    assert isinstance(body["message"], str)
    assert body["message"]


def test_openapi_document_is_openapi_3_with_every_route(document: dict) -> None:
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"]
    documented = {(method, path) for path, item in document["paths"].items() for method in item}
    assert {(method, path) for method, path, _ in ROUTES} <= documented


@pytest.mark.parametrize(("method", "path", "status"), ROUTES, ids=[f"{m.upper()} {p}" for m, p, _ in ROUTES])
def test_openapi_document_has_each_routes_success_response(document: dict, method: str, path: str, status: str) -> None:
    assert status in document["paths"][path][method]["responses"], (
        f"{method.upper()} {path}: the document lists only {sorted(document['paths'][path][method]['responses'])}"
    )


def test_openapi_document_declares_the_api_key(document: dict) -> None:
    schemes = document["components"]["securitySchemes"].values()
    assert {"type": "apiKey", "in": "header", "name": "x-api-key"} in [
        {k: s.get(k) for k in ("type", "in", "name")} for s in schemes
    ]


def test_docs_is_a_swagger_ui_page(anonymous: Api) -> None:
    response = anonymous.request("GET", "/docs")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    page = response.text
    assert page.lstrip().lower().startswith("<!doctype html")
    assert "swagger" in page.lower()
