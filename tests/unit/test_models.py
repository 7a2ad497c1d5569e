import pytest
from pydantic import ValidationError

from todo_api.domain.models import TodoCreate, TodoUpdate
from todo_api.http.conditional import expected_version


@pytest.mark.parametrize(
    "data",
    [
        {"title": "ok", "completed": "true"},
        {"title": "ok", "completed": 1},
        {"title": 5},
        {"title": ""},
        {"title": " \t\n"},
        {"title": "x" * 201},
        {"title": "ok", "extra": True},
        {},
    ],
)
def test_create_is_strict(data):
    with pytest.raises(ValidationError):
        TodoCreate.model_validate(data)


def test_create_accepts_200_chars_and_defaults_open():
    todo = TodoCreate.model_validate({"title": "x" * 200})
    assert todo.completed is False


@pytest.mark.parametrize("data", [{}, {"title": None}, {"completed": None}, {"completed": "false"}, {"version": 2}])
def test_update_needs_a_real_field(data):
    with pytest.raises(ValidationError):
        TodoUpdate.model_validate(data)


def test_update_changes_only_sent_fields():
    assert TodoUpdate.model_validate({"completed": True}).changes() == {"completed": True}
    assert TodoUpdate.model_validate({"title": "a", "completed": False}).changes() == {"completed": False, "title": "a"}


@pytest.mark.parametrize(
    ("header", "expected"),
    [(None, None), ("*", None), ('"3"', 3), ('W/"12"', 12), ("abc", 0), ('"-1"', 0), ('"' + "9" * 30 + '"', 0)],
)
def test_if_match_parsing(header, expected):
    assert expected_version(header) == expected


@pytest.mark.parametrize(
    ("title", "valid"),
    [("\x1f", True), ("\x85", True), ("a\u3000", True), ("\ufeff", False), ("\u2028 \t", False), (" \u00a0", False)],
)
def test_blank_means_what_json_schema_means(title, valid):
    """The document's pattern (ECMA-262 white space) and the validation agree on every character."""
    import re

    from todo_api.domain.models import NOT_BLANK

    assert bool(re.search(NOT_BLANK, title)) is valid
    if valid:
        assert TodoCreate.model_validate({"title": title}).title == title
    else:
        with pytest.raises(ValidationError):
            TodoCreate.model_validate({"title": title})
