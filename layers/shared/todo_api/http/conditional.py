"""Conditional requests (RFC 9110, section 13): a todo's version is its entity tag, `ETag: "3"`.

- `If-Match` (PUT, PATCH, DELETE) lists the versions the change may apply to, compared strongly:
  `"3"` matches version 3, `"7", "3"` matches 7 or 3, `*` matches any existing todo, and a weak
  tag (`W/"3"`) or anything that is not an entity tag matches nothing (the change answers 412).
- `If-None-Match` (GET) compares weakly: a match answers 304 without a body.
"""

import re
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Header

from todo_api.domain.errors import BadRequest
from todo_api.domain.models import Todo

MAX_TAGS = 100  # the most values one DynamoDB condition (`IN`) compares with

IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", description='Expected version, as the ETag: "3"; a list matches if any does: "7", "3"'),
]
# If-None-Match is read from the event's header map, not declared as a route parameter: Powertools'
# validation of one more declared header cost a sixth of a warm GET. The document declares it from
# here (`DOCUMENTED_HEADERS` of the handler, merged by devtools/openapi.py), as Powertools would.
_IF_NONE_MATCH_TEXT = 'The ETag you hold: "3"; when it is current, 304'
IF_NONE_MATCH_PARAMETER = {
    "description": _IF_NONE_MATCH_TEXT,
    "in": "header",
    "name": "if-none-match",
    "required": False,
    "schema": {
        "anyOf": [{"type": "string"}, {"type": "null"}],
        "description": _IF_NONE_MATCH_TEXT,
        "title": "If-None-Match",
    },
}

_TAG = re.compile(r'\s*(W/)?"([\x21\x23-\x7e\x80-\xff]*)"\s*(?:,|$)')


def _tags(header: str) -> list[tuple[bool, str]] | None:
    """The (weak, opaque tag) pairs of an entity-tag list; None unless the whole header is one."""
    tags: list[tuple[bool, str]] = []
    position = 0
    text = header.strip()
    while position < len(text):
        found = _TAG.match(text, position)
        if found is None or found.end() == position:
            return None
        tags.append((found.group(1) is not None, found.group(2)))
        position = found.end()
    return tags


def _version(tag: str) -> int | None:
    # ASCII digits only: str.isdigit() also admits '²', which int() refuses.
    return int(tag) if tag.isascii() and tag.isdigit() and len(tag) < 16 else None


def expected_versions(if_match: str | None) -> frozenset[int] | None:
    """The versions an `If-Match` accepts: None for no condition (absent or `*`), and an empty set
    when nothing can match (weak tags, tags that are no version, a header that is no tag list)."""
    if if_match is None or if_match.strip() == "*":
        return None
    tags = _tags(if_match) or []
    if len(tags) > MAX_TAGS:
        raise BadRequest(f"If-Match lists more than {MAX_TAGS} entity tags")
    return frozenset(v for weak, tag in tags if not weak and (v := _version(tag)) is not None)


class NotModified(Exception):  # not an error: the answer 304
    """Raised by a handler whose client already holds the current version (If-None-Match)."""

    def __init__(self, todo: Todo) -> None:
        super().__init__(etag(todo))
        self.etag = etag(todo)


def not_modified_response(signal: NotModified) -> Response[None]:
    """304 with the ETag and no body (a raised signal, so the route's response model stays the todo)."""
    return Response(status_code=304, headers={"ETag": signal.etag})


def check_not_modified(if_none_match: str | None, todo: Todo) -> None:
    """Raise NotModified when `If-None-Match` names the todo's current version."""
    if not_modified(if_none_match, todo):
        raise NotModified(todo)


def not_modified(if_none_match: str | None, todo: Todo) -> bool:
    """True when `If-None-Match` names the todo's current version (weak comparison) or is `*`."""
    if if_none_match is None:
        return False
    if if_none_match.strip() == "*":
        return True
    return any(_version(tag) == todo.version for _weak, tag in _tags(if_none_match) or [])


def etag(todo: Todo) -> str:
    return f'"{todo.version}"'
