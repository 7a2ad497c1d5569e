import pytest
from hypothesis import given
from hypothesis import strategies as st

from todo_api.domain import cursor
from todo_api.domain.errors import InvalidCursor

IDS = st.from_regex(r"[0-9A-HJKMNP-TV-Z]{26}", fullmatch=True)


@given(tenant=st.text(min_size=1, max_size=40), scope=st.sampled_from(["all", "completed=true"]), last=IDS)
def test_round_trip(tenant, scope, last):
    token = cursor.encode(tenant, scope, last)
    assert cursor.decode(tenant, scope, token) == last
    assert token.isascii()
    assert tenant not in token or len(tenant) < 3


@given(last=IDS, position=st.integers(min_value=0, max_value=200), char=st.sampled_from("AbZ09-_"))
def test_any_edit_is_rejected(last, position, char):
    token = cursor.encode("acme", "all", last)
    i = position % len(token)
    edited = token[:i] + char + token[i + 1 :]
    if edited != token:
        with pytest.raises(InvalidCursor):
            cursor.decode("acme", "all", edited)


@pytest.mark.parametrize("token", ["", "x", "!!!!", "eyJzIjoiYWxsIn0", "A" * 500])
def test_garbage_is_rejected(token):
    with pytest.raises(InvalidCursor):
        cursor.decode("acme", "all", token)


def test_foreign_tenant_and_scope_are_rejected():
    token = cursor.encode("acme", "all", "01JD7Z6ZQ4N8Y3T5V2W9X0ABCD")
    with pytest.raises(InvalidCursor):
        cursor.decode("globex", "all", token)
    with pytest.raises(InvalidCursor):
        cursor.decode("acme", "completed=true", token)
