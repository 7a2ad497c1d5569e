"""Pydantic models of the HTTP contract: strict types, unknown fields rejected."""

import re
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, WithJsonSchema, model_validator

# "Not only white space", with white space as JSON Schema (ECMA-262 `\s`) defines it, so that the
# OpenAPI document and the validation agree on every character. Python's `str.isspace()` and
# Unicode's White_Space differ from it (U+001C..U+001F, U+0085, U+FEFF).
NOT_BLANK = "[^\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff]"
_NOT_BLANK = re.compile(NOT_BLANK)


def _not_blank(value: str) -> str:
    if not _NOT_BLANK.search(value):
        raise ValueError("title must not be only white space")
    return value


Title = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200),
    AfterValidator(_not_blank),
    Field(
        description="1 to 200 characters, not only white space",
        examples=["Read a book"],
        json_schema_extra={"pattern": NOT_BLANK},
    ),
]
# A todo's id (a ULID: 26 of Crockford's base 32 digits), matched whole (fullmatch, never `$`).
ULID_PATTERN = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")
Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"}, examples=["2026-11-27T10:15:00.123Z"])]


class StrictInput(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class TodoCreate(StrictInput):
    title: Title
    completed: bool = False


def _update_schema(schema: dict[str, Any]) -> None:
    """At least one field; and no default to document, since an absent field is left unchanged."""
    for field in schema.get("properties", {}).values():
        field.pop("default", None)
    schema["minProperties"] = 1


class TodoUpdate(StrictInput):
    """PUT and PATCH body: changes only the fields sent; at least one is required.

    The fields are typed as required types with a default that is never validated, so that a
    wrong value (`null` included) is reported as POST reports it, at `["body", "title"]`, and not
    once per member of an `X | None` union.
    """

    model_config = ConfigDict(json_schema_extra=_update_schema)

    title: Title = None  # type: ignore[assignment]
    completed: bool = None  # type: ignore[assignment]

    @model_validator(mode="after")
    def _one_field_at_least(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("send at least one of: title, completed")
        return self

    def changes(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in sorted(self.model_fields_set)}


class Todo(BaseModel):
    id: str = Field(description="ULID, sortable by creation time", examples=["01JD7Z6ZQ4N8Y3T5V2W9X0ABCD"])
    title: str
    completed: bool
    created_at: Timestamp
    updated_at: Timestamp
    version: int = Field(ge=1)


class TodoPage(BaseModel):
    items: list[Todo]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")


EventType = Literal["todo.created", "todo.updated", "todo.completed", "todo.reopened", "todo.deleted"]
# [old, new]: a pair, documented as an array of exactly two values (`items` for the tools that
# read no `prefixItems`).
Change = Annotated[
    tuple[Any, Any],
    WithJsonSchema({"type": "array", "items": {}, "minItems": 2, "maxItems": 2, "description": "[old, new]"}),
]


# A change of one todo, as the activity feed (domain.activity) lists it and the event bus publishes it
# (a comment: a docstring would become the schema's description in the OpenAPI document).
class ActivityEvent(BaseModel):
    id: str = Field(description="Unique per change, stable across redeliveries; sorts by change time")
    type: EventType
    todo_id: str
    at: Timestamp
    changes: dict[str, Change] = Field(
        description="Changed fields (title, completed) as [old, new]; null where there is no old or new todo",
        examples=[{"completed": [False, True]}],
    )
    todo: Todo = Field(description="The todo after the change, or before a delete")


class Message(BaseModel):
    message: str
