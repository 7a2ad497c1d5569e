"""Opaque pagination cursors.

A cursor carries the last key a page returned and the filter it was made for, with a checksum
bound to the tenant: a cursor edited by hand, or taken from another tenant or another filter,
is rejected. It needs no secret because it can only ever position a Query inside the caller's
own partition, which the authorizer, not the cursor, decides.
"""

import base64
import binascii
import hashlib
import json

from todo_api.domain.errors import InvalidCursor

_CHECK_BYTES = 12


def _check(tenant: str, payload: bytes) -> bytes:
    return hashlib.sha256(tenant.encode() + b"\x00" + payload).digest()[:_CHECK_BYTES]


def encode(tenant: str, scope: str, last_id: str) -> str:
    payload = json.dumps({"s": scope, "k": last_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(payload + _check(tenant, payload)).decode().rstrip("=")


def decode(tenant: str, scope: str, cursor: str) -> str:
    """Return the last key of the previous page, or raise InvalidCursor."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidCursor() from exc
    payload, check = raw[:-_CHECK_BYTES], raw[-_CHECK_BYTES:]
    canonical = base64.urlsafe_b64encode(raw).decode().rstrip("=") == cursor  # no unused bits flipped
    if not canonical or len(raw) <= _CHECK_BYTES or check != _check(tenant, payload):
        raise InvalidCursor()
    try:
        data = json.loads(payload)
    except ValueError as exc:
        raise InvalidCursor() from exc
    if not isinstance(data, dict) or data.get("s") != scope or not isinstance(data.get("k"), str):
        raise InvalidCursor()
    return str(data["k"])
