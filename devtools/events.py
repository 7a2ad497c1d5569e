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


def stream_batch_event() -> dict[str, Any]:
    """A DynamoDB stream batch of the todo table: a todo created, completed and deleted, and an API key
    added in between (which the consumer ignores). Images are built by the repository's own `to_item`."""
    from todo_api.adapters.dynamodb import to_item
    from todo_api.domain.keys import key_hash, key_id
    from todo_api.domain.models import Todo

    sample = _generate("dynamodb", "update")["Records"]
    table_arn = "arn:aws:dynamodb:us-east-1:123456789012:table/todo-api-dev-TodoTable-1A2B3C4D5E6F"
    stream_arn = f"{table_arn}/stream/2026-11-27T08:00:00.000"
    created = Todo(
        id=SAMPLE_ID,
        title="Read a book",
        completed=False,
        created_at="2026-11-27T10:15:00.123Z",
        updated_at="2026-11-27T10:15:00.123Z",
        version=1,
    )
    completed = created.model_copy(update={"completed": True, "updated_at": "2026-11-27T10:16:02.000Z", "version": 2})
    todo_keys = {"PK": {"S": f"TENANT#{SAMPLE_TENANT}"}, "SK": {"S": f"TODO#{SAMPLE_ID}"}}
    key_item = {
        "PK": {"S": f"APIKEY#{key_hash(SAMPLE_KEY)}"},
        "SK": {"S": "APIKEY"},
        "entity": {"S": "apikey"},
        "tenant": {"S": SAMPLE_TENANT},
        "key_id": {"S": key_id(SAMPLE_KEY)},
        "created_at": {"S": "2026-11-27T10:15:30+00:00"},
    }
    changes = [
        ("INSERT", todo_keys, None, to_item(SAMPLE_TENANT, created), 1795774500),
        ("INSERT", {k: key_item[k] for k in ("PK", "SK")}, None, key_item, 1795774530),
        ("MODIFY", todo_keys, to_item(SAMPLE_TENANT, created), to_item(SAMPLE_TENANT, completed), 1795774562),
        ("REMOVE", todo_keys, to_item(SAMPLE_TENANT, completed), None, 1795774650),
    ]
    records = []
    for number, (name, keys, old, new, at) in enumerate(changes, start=1):
        template = next(r for r in sample if r["eventName"] == name)
        change: dict[str, Any] = {"ApproximateCreationDateTime": at, "Keys": keys}
        if new is not None:
            change["NewImage"] = new
        if old is not None:
            change["OldImage"] = old
        change.update(
            SequenceNumber=f"{int(template['dynamodb']['SequenceNumber']) + 100 * number}",
            SizeBytes=len(json.dumps(change)),
            StreamViewType="NEW_AND_OLD_IMAGES",
        )
        records.append({**template, "eventID": f"{number:032x}", "dynamodb": change, "eventSourceARN": stream_arn})
    return {"Records": records}


def all_events() -> dict[str, dict[str, Any]]:
    item = f"/todos/{SAMPLE_ID}"
    return {
        "authorizer": authorizer_event(),
        "create_todo": proxy_event("POST", "/todos", "/todos", body={"title": "Read a book"}),
        "list_todos": proxy_event("GET", "/todos", "/todos", query={"limit": "10"}),
        "list_activity": proxy_event("GET", "/activity", "/activity", query={"limit": "10"}),
        "get_todo": proxy_event("GET", "/todos/{todo_id}", item),
        "update_todo": proxy_event(
            "PATCH", "/todos/{todo_id}", item, body={"completed": True}, headers={"If-Match": '"1"'}
        ),
        "delete_todo": proxy_event("DELETE", "/todos/{todo_id}", item),
        "docs": proxy_event("GET", "/", "/", authorized=False),
        "stream_batch": stream_batch_event(),
    }


def main() -> None:
    for name, event in all_events().items():
        (EVENTS / f"{name}.json").write_text(json.dumps(event, indent=2) + "\n", encoding="utf-8")
        print(f"wrote events/{name}.json")


if __name__ == "__main__":
    main()
