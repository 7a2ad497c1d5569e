import base64
import hashlib

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


def spec_token(tenant: str, scope: str, last: str) -> str:
    """The cursor format, written out: base64url without padding of the compact JSON payload and the
    first 12 bytes of SHA-256 over tenant, a NUL byte and the payload. Cursors already handed out
    must keep decoding after a deployment, so the format is part of the contract."""
    payload = ('{"s":"' + scope + '","k":"' + last + '"}').encode()
    check = hashlib.sha256(tenant.encode() + b"\x00" + payload).digest()[:12]
    return base64.urlsafe_b64encode(payload + check).decode().rstrip("=")


@pytest.mark.parametrize("scope", ["all", "completed=true", "completed=false"])
def test_the_format_is_stable(scope):
    token = spec_token("acme", scope, "01JD7Z6ZQ4N8Y3T5V2W9X0ABCD")
    assert cursor.encode("acme", scope, "01JD7Z6ZQ4N8Y3T5V2W9X0ABCD") == token
    assert cursor.decode("acme", scope, token) == "01JD7Z6ZQ4N8Y3T5V2W9X0ABCD"


def test_a_token_ending_in_a_padding_like_letter_round_trips():
    # a key of 24 characters makes 54 bytes, so the last character is free to be an "X" (a letter
    # that a strip of the wrong characters would eat)
    ids = (f"01JD7Z6ZQ4N8Y3T5V2W9{n:04d}" for n in range(10000))
    last = next(i for i in ids if spec_token("acme", "all", i).endswith("X"))
    token = spec_token("acme", "all", last)
    assert cursor.encode("acme", "all", last) == token
    assert cursor.decode("acme", "all", token) == last


ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@pytest.mark.parametrize("last", ["01JD7Z6ZQ4N8Y3T5V2W9X0ABCD", "01JD7Z6ZQ4N8Y3T5V2W9X0ABC"])
def test_a_token_with_its_unused_bits_set_is_refused(last):
    token = spec_token("acme", "all", last)
    assert len(token) % 4 in (2, 3)  # the last character carries bits no byte uses
    flipped = token[:-1] + ALPHABET[ALPHABET.index(token[-1]) ^ 1]
    padded = flipped + "=" * (-len(flipped) % 4)
    assert base64.urlsafe_b64decode(padded) == base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    with pytest.raises(InvalidCursor):
        cursor.decode("acme", "all", flipped)
