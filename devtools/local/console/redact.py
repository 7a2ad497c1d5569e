"""Secrets out of what the console shows: API keys, tokens, cookies and credentials.

By name (a header, query parameter or field whose name says key, token, secret, password, cookie,
authorization, credential or signature, whatever its case), and by shape wherever they appear
(a JSON Web Token, `Bearer <anything>`, an `Authorization`-like value inside a longer string).
Applied when the console reads a record, never on the request path.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlencode

REDACTED = "[redacted]"
SECRET_NAME = re.compile(r"key|token|secret|passw|cookie|authori[sz]ation|credential|signature|session", re.I)
# Names that match SECRET_NAME and are no secret (the API key's short public id, DynamoDB's keys).
PUBLIC_NAMES = frozenset({"key_id", "keys", "apikeyid", "usage_key_id", "sequencenumber", "keyid"})
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"\b(Bearer|Basic)\s+\S+", re.I)


def secret_name(name: str) -> bool:
    return bool(SECRET_NAME.search(name)) and name.lower() not in PUBLIC_NAMES


def text(value: str) -> str:
    """`value` with every token-shaped part replaced."""
    if "eyJ" in value:
        value = _JWT.sub(REDACTED, value)
    return _BEARER.sub(lambda match: f"{match.group(1)} {REDACTED}", value)


def value(data: Any) -> Any:
    """A copy of `data` (JSON-like) with secrets replaced: by key name, and token shapes in strings."""
    if isinstance(data, dict):
        return {k: (REDACTED if secret_name(str(k)) and v is not None else value(v)) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [value(v) for v in data]
    if isinstance(data, str):
        return text(data)
    return data


def path(full_path: str) -> str:
    """A request path with the values of its secret-named query parameters replaced."""
    base, sep, query = full_path.partition("?")
    if not sep:
        return text(base)
    pairs = [(k, REDACTED if secret_name(k) else v) for k, v in parse_qsl(query, keep_blank_values=True)]
    return text(base) + "?" + urlencode(pairs, safe="[]/")


def body(data: bytes | str | None) -> Any:
    """A body as shown: its JSON redacted when it is JSON, else its text with token shapes replaced."""
    import json

    if data is None:
        return None
    raw = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    try:
        return value(json.loads(raw))
    except ValueError:
        return text(raw)
