"""The body guard: what must be refused before Powertools parses a body (size, media type, JSON shape)."""

import base64
import binascii
import json
from typing import Any

from todo_api.domain.errors import BadRequest, PayloadTooLarge, TodoError, UnsupportedMediaType

MAX_BODY_BYTES = 64 * 1024
MAX_BODY_DEPTH = 32
_TOO_DEEP = "Body is nested too deeply"

JSON_MEDIA_TYPE = "application/json"
_BODY_METHODS = ("POST", "PUT", "PATCH")  # the routes that read a body


def _is_utf8_json(content_type: str) -> bool:
    """`application/json`, with no charset or `charset=utf-8` (JSON is UTF-8, RFC 8259 section 8.1).

    A body declared in another charset is refused rather than decoded as UTF-8, which would store
    what the client never sent (Latin-1 `café` as `caf\ufffd`).
    """
    media_type, *parameters = content_type.split(";")
    if media_type.strip().lower() != JSON_MEDIA_TYPE:
        return False
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            return False
    return True


def _json_content_type(event: dict[str, Any]) -> bool:
    """False when the body is declared as anything but UTF-8 JSON (no Content-Type: JSON, as Powertools reads it).

    Media types are case-insensitive; the headers are lowered in place so that Powertools, which
    compares them as they are, reads `Application/JSON` as JSON too.
    """
    for field in ("headers", "multiValueHeaders"):
        for name, value in list((event.get(field) or {}).items()):
            if name.lower() != "content-type":
                continue
            values = value if isinstance(value, list) else [value]
            if not all(_is_utf8_json(str(v)) for v in values):
                return False
            event[field][name] = (
                [str(v).strip().lower() for v in values] if isinstance(value, list) else str(value).strip().lower()
            )
    return True


def _json_problem(text: str) -> TodoError | None:
    """What Powertools' body parsing gets wrong: it takes the first item of a JSON array as the body,
    and lets RecursionError (deep nesting) and ValueError (over 4300 digits) escape as a 502."""
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        return None  # Powertools answers 400 with the parser's details
    except RecursionError:
        return BadRequest(_TOO_DEEP)
    except ValueError:
        return BadRequest("Body is not valid JSON")
    if not isinstance(parsed, dict):
        return BadRequest("Body must be a JSON object")
    # Powertools parses the body again, deeper in the stack: nesting that passed here could
    # still exhaust the recursion limit there. No valid body nests at all, so a bound is safe.
    return BadRequest(_TOO_DEEP) if _deeper_than(parsed, MAX_BODY_DEPTH) else None


def _deeper_than(value: Any, limit: int) -> bool:
    level: list[Any] = [value]
    for _ in range(limit):
        level = [
            child
            for node in level
            if isinstance(node, dict | list)
            for child in (node.values() if isinstance(node, dict) else node)
        ]
        if not level:
            return False
    return True


def body_problem(event: dict[str, Any]) -> TodoError | None:
    if event.get("httpMethod") in _BODY_METHODS and not _json_content_type(event):
        return UnsupportedMediaType()
    body = event.get("body")
    if not body:
        return None
    if event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            return BadRequest("Body is not valid base64")
    else:
        raw = body.encode("utf-8", errors="surrogatepass")
    if len(raw) > MAX_BODY_BYTES:
        return PayloadTooLarge()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return BadRequest("Body is not valid UTF-8")
    if event.get("httpMethod") in _BODY_METHODS and (problem := _json_problem(text)) is not None:
        return problem
    if event.get("isBase64Encoded"):
        event["body"], event["isBase64Encoded"] = text, False
    return None
