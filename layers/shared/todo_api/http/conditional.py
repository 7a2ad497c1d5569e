"""Conditional requests: a todo's version is its entity tag (`ETag: "3"`), `If-Match` names it."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Header

from todo_api.domain.models import Todo

NO_VERSION = 0  # versions start at 1: an If-Match that is not a version can never match

IfMatch = Annotated[str | None, Header(alias="If-Match", description='Expected version, as the ETag: "3"')]


def expected_version(if_match: str | None) -> int | None:
    """`If-Match: "3"` (or W/"3") -> 3; `*` or no header -> no condition."""
    if if_match is None or if_match.strip() == "*":
        return None
    tag = if_match.strip().removeprefix("W/").strip('"')
    # ASCII digits only: str.isdigit() also admits '²', which int() refuses (a 500 before this).
    return int(tag) if tag.isascii() and tag.isdigit() and len(tag) < 16 else NO_VERSION


def etag(todo: Todo) -> str:
    return f'"{todo.version}"'
