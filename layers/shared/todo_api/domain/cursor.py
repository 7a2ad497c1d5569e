"""Opaque pagination cursors, signed.

A cursor carries the last key a page returned and the filter it was made for, with an HMAC-SHA256
over the tenant and both, keyed by a secret of the deployment: only this API can make a cursor,
so a cursor edited or made by hand, or taken from another tenant or another filter, is refused.
The key it carries must also have the shape of the list's own keys (a todo id, an event id):
whatever a cursor says reaches the store's Query as its start key.

Rotation: `CursorSigner(secret, previous)` signs with `secret` and accepts cursors of either, so
the cursors clients hold keep working for as long as the previous secret stays configured.

Format (part of the contract: cursors handed out must keep working across deployments):
base64url without padding of the compact JSON payload `{"s": <scope>, "k": <key>}` followed by
the first 16 bytes of HMAC-SHA256(secret, UTF-8 tenant + NUL + payload).
"""

import base64
import binascii
import hashlib
import hmac
import json
import re

from todo_api.domain.errors import InvalidCursor

MAC_BYTES = 16
MIN_SECRET_BYTES = 32


class CursorSigner:
    """Makes cursors with the current secret; reads those of the current or the previous one."""

    def __init__(self, secret: bytes, previous: bytes | None = None) -> None:
        for key in (secret, previous):
            if key is not None and len(key) < MIN_SECRET_BYTES:
                raise ValueError(f"a cursor secret must have at least {MIN_SECRET_BYTES} bytes")
        self._secret = secret
        self._secrets = (secret,) if previous is None else (secret, previous)

    @staticmethod
    def _mac(secret: bytes, tenant: str, payload: bytes) -> bytes:
        message = tenant.encode("utf-8", errors="surrogatepass") + b"\x00" + payload
        return hmac.new(secret, message, hashlib.sha256).digest()[:MAC_BYTES]

    def encode(self, tenant: str, scope: str, last_key: str) -> str:
        payload = json.dumps({"s": scope, "k": last_key}, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(payload + self._mac(self._secret, tenant, payload)).decode().rstrip("=")

    def decode(self, tenant: str, scope: str, cursor: str, key_pattern: re.Pattern[str]) -> str:
        """The last key of the previous page, if `cursor` is one of ours, for this tenant and
        scope, and its key matches `key_pattern` whole; else InvalidCursor."""
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (binascii.Error, ValueError) as exc:
            raise InvalidCursor() from exc
        payload, mac = raw[:-MAC_BYTES], raw[-MAC_BYTES:]
        canonical = base64.urlsafe_b64encode(raw).decode().rstrip("=") == cursor  # no unused bits flipped
        if not canonical or len(raw) <= MAC_BYTES:
            raise InvalidCursor()
        # compare_digest: the time taken tells nothing of how much of a forged MAC was right
        if not any(hmac.compare_digest(mac, self._mac(secret, tenant, payload)) for secret in self._secrets):
            raise InvalidCursor()
        try:
            data = json.loads(payload)
        except ValueError as exc:
            raise InvalidCursor() from exc
        if not isinstance(data, dict) or data.get("s") != scope:
            raise InvalidCursor()
        key = data.get("k")
        if not isinstance(key, str) or not key_pattern.fullmatch(key):
            raise InvalidCursor()
        return key
