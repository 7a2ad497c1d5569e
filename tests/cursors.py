"""Cursors minted by hand, to the format that `todo_api.domain.cursor` documents (never with its code):
base64url without padding of the compact JSON payload and the first 16 bytes of
HMAC-SHA256(secret, UTF-8 tenant + NUL + payload)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets

# The tests' CURSOR_SECRET (tests/conftest.py sets it for the in-process functions).
TEST_SECRET = "tests-cursor-secret-0123456789abcdefghijklmnopqrstuv"


def mint(secret: str | bytes, tenant: str, scope: str, key: object) -> str:
    """A cursor of `secret` (any key, any JSON value: what a hostile client could send if it held it)."""
    raw_secret = secret.encode() if isinstance(secret, str) else secret
    payload = json.dumps({"s": scope, "k": key}, separators=(",", ":")).encode()
    message = tenant.encode("utf-8", errors="surrogatepass") + b"\x00" + payload
    mac = hmac.new(raw_secret, message, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(payload + mac).decode().rstrip("=")


def unknown_secret() -> str:
    """A secret no deployment holds."""
    return secrets.token_urlsafe(32)


VALID_TODO_ID = "01JD7Z6ZQ4N8Y3T5V2W9X0ABCD"
# Keys a cursor must never carry: a lone surrogate, an oversized key, a key of another entity.
HOSTILE_KEYS = ["\ud800", "x" * 300, "../APIKEY#0", VALID_TODO_ID + "\n", VALID_TODO_ID.lower(), 7, None]
