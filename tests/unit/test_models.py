import pytest
from pydantic import ValidationError

from todo_api.domain.errors import BadRequest
from todo_api.domain.models import Todo, TodoCreate, TodoUpdate
from todo_api.http.conditional import expected_versions, not_modified


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
    [
        (None, None),
        ("*", None),
        (" * ", None),
        ('"3"', {3}),
        ('"7", "1"', {7, 1}),
        ('"7" ,"1",  "12"', {7, 1, 12}),
        ('W/"12"', set()),  # If-Match compares strongly: a weak tag matches nothing
        ('W/"12", "4"', {4}),
        ("abc", set()),
        ('"abc"', set()),
        ("3", set()),  # not quoted: no entity tag
        ('"3" "4"', set()),  # no comma: not a list
        ('"3",', {3}),
        ('"-1"', set()),
        ('"²"', set()),
        ('"' + "9" * 30 + '"', set()),
    ],
)
def test_if_match_parsing(header, expected):
    parsed = expected_versions(header)
    assert parsed == (None if expected is None else frozenset(expected))


def test_if_match_with_too_many_tags_is_a_bad_request():
    with pytest.raises(BadRequest):
        expected_versions(", ".join(f'"{i}"' for i in range(101)))
    assert expected_versions(", ".join(f'"{i}"' for i in range(100))) == frozenset(range(100))


@pytest.mark.parametrize(
    ("header", "version", "expected"),
    [
        (None, 3, False),
        ('"3"', 3, True),
        ('W/"3"', 3, True),  # If-None-Match compares weakly
        ('"2", "3"', 3, True),
        ('"2"', 3, False),
        ("*", 3, True),
        ("garbage", 3, False),
    ],
)
def test_if_none_match(header, version, expected):
    todo = Todo(
        id="01JD7Z6ZQ4N8Y3T5V2W9X0ABCD", title="t", completed=False, created_at="x", updated_at="x", version=version
    )
    assert not_modified(header, todo) is expected


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


@pytest.mark.parametrize("model", [TodoCreate, TodoUpdate])
def test_a_blank_title_is_refused_saying_why(model):
    """What a client reads in the 400's details: the field and the reason, in these words."""
    with pytest.raises(ValidationError) as raised:
        model.model_validate({"title": " \t"})
    (error,) = raised.value.errors()
    assert (error["loc"], error["msg"]) == (("title",), "Value error, title must not be only white space")
