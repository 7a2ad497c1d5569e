"""API keys: stored only as SHA-256 hashes, each mapped to exactly one tenant.

A key is no API Gateway API key: the authorizer counts its tenant's requests itself
(`todo_api.domain.capacity`), so any number of keys and tenants may exist.
"""

import hashlib
import re
import secrets
from dataclasses import dataclass

# Matched whole (`fullmatch`): with `match` and `$`, "acme\n" would pass, as `$` matches before a
# final line break.
TENANT_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")


def check_tenant(tenant: str) -> None:
    if not TENANT_PATTERN.fullmatch(tenant):
        raise ValueError(f"tenant must match {TENANT_PATTERN.pattern}")


def key_hash(api_key: str) -> str:
    return hashlib.sha256(api_key.encode("utf-8", errors="surrogatepass")).hexdigest()


def key_id(api_key: str) -> str:
    """A short, loggable identifier of a key (never the key itself)."""
    return key_hash(api_key)[:12]


def new_key() -> str:
    return "todo_" + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class KeyRecord:
    tenant: str
