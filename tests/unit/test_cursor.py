import base64
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.cursors import HOSTILE_KEYS, VALID_TODO_ID, mint, unknown_secret
from todo_api.domain.cursor import CursorSigner
from todo_api.domain.errors import InvalidCursor

IDS = st.from_regex(r"[0-9A-HJKMNP-TV-Z]{26}", fullmatch=True)
ID = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")
SECRET = "unit-cursor-secret-0123456789abcdefghijklmnopqrstuvwxyz"
PREVIOUS = "unit-previous-secret-0123456789abcdefghijklmnopqrstuvwx"
SIGNER = CursorSigner(SECRET.encode())


@given(tenant=st.text(min_size=1, max_size=40), scope=st.sampled_from(["all", "completed=true"]), last=IDS)
def test_round_trip(tenant, scope, last):
    token = SIGNER.encode(tenant, scope, last)
    assert SIGNER.decode(tenant, scope, token, ID) == last
    assert token.isascii()
    assert tenant not in token or len(tenant) < 3


@given(last=IDS, position=st.integers(min_value=0, max_value=200), char=st.sampled_from("AbZ09-_"))
def test_any_edit_is_rejected(last, position, char):
    token = SIGNER.encode("acme", "all", last)
    i = position % len(token)
    edited = token[:i] + char + token[i + 1 :]
    if edited != token:
        with pytest.raises(InvalidCursor):
            SIGNER.decode("acme", "all", edited, ID)


@pytest.mark.parametrize("token", ["", "x", "!!!!", "eyJzIjoiYWxsIn0", "A" * 500])
def test_garbage_is_rejected(token):
    with pytest.raises(InvalidCursor):
        SIGNER.decode("acme", "all", token, ID)


def test_foreign_tenant_and_scope_are_rejected():
    token = SIGNER.encode("acme", "all", VALID_TODO_ID)
    with pytest.raises(InvalidCursor):
        SIGNER.decode("globex", "all", token, ID)
    with pytest.raises(InvalidCursor):
        SIGNER.decode("acme", "completed=true", token, ID)


@pytest.mark.parametrize("scope", ["all", "completed=true", "completed=false"])
def test_the_format_is_stable(scope):
    """Cursors already handed out must keep decoding after a deployment: the format is part of the
    contract, written out in tests/cursors.py."""
    token = mint(SECRET, "acme", scope, VALID_TODO_ID)
    assert SIGNER.encode("acme", scope, VALID_TODO_ID) == token
    assert SIGNER.decode("acme", scope, token, ID) == VALID_TODO_ID


def test_a_cursor_made_with_the_public_inputs_alone_is_refused():
    """Before signing, the check was SHA-256 over tenant and payload: anyone could make one."""
    import hashlib
    import json

    payload = json.dumps({"s": "all", "k": VALID_TODO_ID}, separators=(",", ":")).encode()
    for size in (12, 16):
        check = hashlib.sha256(b"acme\x00" + payload).digest()[:size]
        token = base64.urlsafe_b64encode(payload + check).decode().rstrip("=")
        with pytest.raises(InvalidCursor):
            SIGNER.decode("acme", "all", token, ID)


@pytest.mark.parametrize("key", HOSTILE_KEYS, ids=repr)
def test_a_signed_cursor_whose_key_is_no_id_is_refused(key):
    # signed with the right secret: only the key's shape is wrong
    with pytest.raises(InvalidCursor):
        SIGNER.decode("acme", "all", mint(SECRET, "acme", "all", key), ID)


@pytest.mark.parametrize("key", [*HOSTILE_KEYS, VALID_TODO_ID], ids=repr)
def test_a_cursor_signed_with_another_secret_is_refused(key):
    with pytest.raises(InvalidCursor):
        SIGNER.decode("acme", "all", mint(unknown_secret(), "acme", "all", key), ID)


def test_during_a_rotation_cursors_of_the_previous_secret_still_work():
    rotated = CursorSigner(SECRET.encode(), PREVIOUS.encode())
    assert rotated.decode("acme", "all", mint(PREVIOUS, "acme", "all", VALID_TODO_ID), ID) == VALID_TODO_ID
    assert rotated.decode("acme", "all", mint(SECRET, "acme", "all", VALID_TODO_ID), ID) == VALID_TODO_ID
    assert rotated.encode("acme", "all", VALID_TODO_ID) == mint(SECRET, "acme", "all", VALID_TODO_ID)
    with pytest.raises(InvalidCursor):
        rotated.decode("acme", "all", mint(unknown_secret(), "acme", "all", VALID_TODO_ID), ID)
    # once the previous secret is gone, so are its cursors
    with pytest.raises(InvalidCursor):
        SIGNER.decode("acme", "all", mint(PREVIOUS, "acme", "all", VALID_TODO_ID), ID)


@pytest.mark.parametrize(("secret", "previous"), [(b"short", None), (SECRET.encode(), b"x" * 31), (b"", None)])
def test_a_short_secret_is_refused(secret, previous):
    with pytest.raises(ValueError, match="at least 32 bytes"):
        CursorSigner(secret, previous)


def test_a_token_ending_in_a_padding_like_letter_round_trips():
    # some keys make a token whose last character is an "X" (a letter that a strip of the wrong
    # characters would eat)
    ids = (f"01JD7Z6ZQ4N8Y3T5V2W9X0{n:04d}" for n in range(10000))
    last = next(i for i in ids if mint(SECRET, "acme", "all", i).endswith("X"))
    token = mint(SECRET, "acme", "all", last)
    assert SIGNER.encode("acme", "all", last) == token
    assert SIGNER.decode("acme", "all", token, ID) == last


ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@pytest.mark.parametrize("tenant", ["acme", "globex"])
def test_a_token_with_its_unused_bits_set_is_refused(tenant):
    token = mint(SECRET, tenant, "completed=true", VALID_TODO_ID)
    assert len(token) % 4 in (2, 3)  # 58 bytes: the last character carries bits no byte uses
    flipped = token[:-1] + ALPHABET[ALPHABET.index(token[-1]) ^ 1]
    padded = flipped + "=" * (-len(flipped) % 4)
    assert base64.urlsafe_b64decode(padded) == base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    with pytest.raises(InvalidCursor):
        SIGNER.decode(tenant, "completed=true", flipped, ID)
