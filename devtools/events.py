"""Regenerate `events/*.json` with SAM CLI's own event builder (`sam local generate-event`).

The builder's sample is adjusted to this API: its route, path parameters, JSON headers and the
request context that the authorizer fills in (`tenant`). Run with `make events`.
"""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from devtools.loader import ROOT

EVENTS = ROOT / "events"
SAMPLE_ID = "01JD7Z6ZQ4N8Y3T5V2W9X0ABCD"
SAMPLE_TENANT = "demo"
SAMPLE_KEY = "local-dev-key"
STAGE = "dev"


def _generate(*args: str) -> dict[str, Any]:
    sam = str(Path(sys.executable).with_name("sam"))
    out = subprocess.run([sam, "local", "generate-event", *args], check=True, capture_output=True, text=True)
    event: dict[str, Any] = json.loads(out.stdout)
    return event


def proxy_event(
    method: str,
    resource: str,
    path: str,
    body: dict[str, Any] | None = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    authorized: bool = True,
) -> dict[str, Any]:
    event = _generate(
        "apigateway",
        "aws-proxy",
        "--method",
        method,
        "--path",
        path.lstrip("/"),
        "--resource",
        resource,
        "--stage",
        STAGE,
        "--body",
        "",
    )
    event["body"] = json.dumps(body) if body is not None else None
    event["isBase64Encoded"] = False
    event["queryStringParameters"] = query or None
    event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()} if query else None
    names = [segment[1:-1] for segment in resource.split("/") if segment.startswith("{")]
    values = [v for r, v in zip(resource.split("/"), path.split("/"), strict=True) if r.startswith("{")]
    event["pathParameters"] = dict(zip(names, values, strict=True)) or None
    event["stageVariables"] = None
    extra = {"Content-Type": "application/json", **(headers or {})} if body is not None else dict(headers or {})
    if authorized:
        extra["x-api-key"] = SAMPLE_KEY
        event["requestContext"]["authorizer"] = {"principalId": "3f2a9c1e0b7d", "tenant": SAMPLE_TENANT}
    event["headers"].update(extra)
    event["multiValueHeaders"].update({k: [v] for k, v in extra.items()})
    event["requestContext"]["path"] = f"/{STAGE}{path}"
    return event


def authorizer_event() -> dict[str, Any]:
    event = _generate("apigateway", "request-authorizer")
    event["methodArn"] = f"arn:aws:execute-api:us-east-1:123456789012:abcdef123/{STAGE}/GET/todos"
    event.update(resource="/todos", path="/todos", httpMethod="GET", queryStringParameters={}, stageVariables={})
    event["headers"] = {"Accept": "application/json", "x-api-key": SAMPLE_KEY, "Host": "abcdef123.example.com"}
    event["requestContext"].update(path=f"/{STAGE}/todos", stage=STAGE, resourcePath="/todos", httpMethod="GET")
    event["requestContext"]["identity"] = {"sourceIp": "203.0.113.7", "userAgent": "curl/8.5.0"}
    return event


def all_events() -> dict[str, dict[str, Any]]:
    item = f"/todos/{SAMPLE_ID}"
    return {
        "authorizer": authorizer_event(),
        "create_todo": proxy_event("POST", "/todos", "/todos", body={"title": "Read a book"}),
        "list_todos": proxy_event("GET", "/todos", "/todos", query={"limit": "10"}),
        "get_todo": proxy_event("GET", "/todos/{todo_id}", item),
        "update_todo": proxy_event(
            "PATCH", "/todos/{todo_id}", item, body={"completed": True}, headers={"If-Match": '"1"'}
        ),
        "delete_todo": proxy_event("DELETE", "/todos/{todo_id}", item),
        "docs": proxy_event("GET", "/", "/", authorized=False),
    }


def main() -> None:
    for name, event in all_events().items():
        (EVENTS / f"{name}.json").write_text(json.dumps(event, indent=2) + "\n", encoding="utf-8")
        print(f"wrote events/{name}.json")


if __name__ == "__main__":
    main()
