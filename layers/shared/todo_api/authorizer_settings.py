"""The authorizer's settings, read once per cold start with the standard library alone.

API Gateway calls the authorizer on every request (it has no identity source), so its cold start
is on the path of every new container's first request, and it uses none of the todo models:
reading its few variables with pydantic-settings would load pydantic for them alone, some 0.4
of a bare boto3 handler's cold start (`make bench`, `authorizer_init_instructions_ratio`). The
API functions' settings stay in `todo_api.settings`; a variable belongs to one of the two.

Unset or empty optional variables mean "not configured" (the template passes empty parameters
as empty strings); a number that is not one, or out of its range, fails the cold start.

A tenant claim must be one the user cannot set. Cognito lets a user write their own custom
attributes (`custom:*`, with their access token) unless the app client's WriteAttributes leave
them out, so a `custom:*` TENANT_CLAIM is refused (the cold start fails) unless
USER_WRITABLE_ATTRIBUTES lists the attributes users may write and the claim is not one of them.
The template sets it from the stack's own app client; with another issuer it is empty (unknown).
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from todo_api.domain.auth import ACCESS_TOKEN_USE
from todo_api.domain.capacity import Limits

_MAX_LIMIT = 1_000_000_000
TENANT_LIMITS = Limits(rate=10, burst=20, quota_per_day=10_000)  # the template's defaults
USER_LIMITS = Limits(rate=5, burst=10, quota_per_day=5_000)


class MissingSetting(RuntimeError):
    """A setting this function needs is not in its environment (a template error)."""


def _text(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name, "").strip()
    return value or None


def _names(environ: Mapping[str, str], name: str) -> tuple[str, ...] | None:
    raw = _text(environ, name)
    return None if raw is None else tuple(part.strip() for part in raw.split(",") if part.strip())


def check_tenant_claim(claim: str | None, user_writable: tuple[str, ...] | None) -> None:
    """Refuse a custom attribute as the tenant claim unless users are known not to write it."""
    if claim is None or not claim.startswith("custom:"):
        return
    if user_writable is None:
        raise ValueError(
            f"TENANT_CLAIM {claim} is a custom attribute, which users may write unless the app client "
            "forbids it: USER_WRITABLE_ATTRIBUTES must list the attributes users may write"
        )
    if claim in user_writable:
        raise ValueError(f"TENANT_CLAIM {claim} is writable by users (it is in USER_WRITABLE_ATTRIBUTES)")


def _number(environ: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {raw!r}") from None
    if not low <= value <= high:
        raise ValueError(f"{name} must be {low}..{high}, not {value}")
    return value


def _limits(environ: Mapping[str, str], who: str, default: Limits) -> Limits:
    """<WHO>_RATE_LIMIT (requests per second), <WHO>_BURST_LIMIT, <WHO>_QUOTA_PER_DAY."""
    return Limits(
        rate=_number(environ, f"{who}_RATE_LIMIT", default.rate, 1, _MAX_LIMIT),
        burst=_number(environ, f"{who}_BURST_LIMIT", default.burst, 1, _MAX_LIMIT),
        quota_per_day=_number(environ, f"{who}_QUOTA_PER_DAY", default.quota_per_day, 1, _MAX_LIMIT),
    )


@dataclass(frozen=True)
class AuthorizerSettings:
    table_name: str | None = None  # TABLE_NAME: the key store's table (required for a key look-up)
    key_cache_seconds: int = 300  # KEY_CACHE_SECONDS: a key's look-up is remembered this long
    token_issuer: str | None = None  # TOKEN_ISSUER: none means keys only
    token_audience: str | None = None  # TOKEN_AUDIENCE: required with an issuer
    token_jwks_url: str | None = None  # TOKEN_JWKS_URL: else the issuer's discovery document's
    token_use: str | None = ACCESS_TOKEN_USE  # TOKEN_USE: empty means the issuer has no such claim
    token_algorithms: tuple[str, ...] = ("RS256",)  # TOKEN_ALGORITHMS: comma-separated allow-list
    token_leeway_seconds: int = 30  # TOKEN_LEEWAY_SECONDS: for exp and nbf
    tenant_claim: str | None = None  # TENANT_CLAIM: a claim naming a team's tenant
    # USER_WRITABLE_ATTRIBUTES: the attributes users may write (comma-separated); None: unknown
    user_writable_attributes: tuple[str, ...] | None = None
    usage_table_name: str | None = None  # USAGE_TABLE_NAME: the callers' usage; none means no limits
    tenant_limits: Limits = TENANT_LIMITS  # TENANT_RATE_LIMIT, ...
    user_limits: Limits = USER_LIMITS  # USER_RATE_LIMIT, ...

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> "AuthorizerSettings":
        tenant_claim = _text(environ, "TENANT_CLAIM")
        user_writable = _names(environ, "USER_WRITABLE_ATTRIBUTES")
        check_tenant_claim(tenant_claim, user_writable)
        algorithms = tuple(a.strip() for a in environ.get("TOKEN_ALGORITHMS", "RS256").split(",") if a.strip())
        return cls(
            table_name=_text(environ, "TABLE_NAME"),
            key_cache_seconds=_number(environ, "KEY_CACHE_SECONDS", 300, 0, 3600),
            token_issuer=_text(environ, "TOKEN_ISSUER"),
            token_audience=_text(environ, "TOKEN_AUDIENCE"),
            token_jwks_url=_text(environ, "TOKEN_JWKS_URL"),
            token_use=_text(environ, "TOKEN_USE") if "TOKEN_USE" in environ else ACCESS_TOKEN_USE,
            token_algorithms=algorithms,
            token_leeway_seconds=_number(environ, "TOKEN_LEEWAY_SECONDS", 30, 0, 300),
            tenant_claim=tenant_claim,
            user_writable_attributes=user_writable,
            usage_table_name=_text(environ, "USAGE_TABLE_NAME"),
            tenant_limits=_limits(environ, "TENANT", TENANT_LIMITS),
            user_limits=_limits(environ, "USER", USER_LIMITS),
        )

    def require_table_name(self) -> str:
        if self.table_name is None:
            raise MissingSetting("TABLE_NAME is not set")
        return self.table_name

    def require_token_audience(self) -> str:
        if self.token_audience is None:
            raise MissingSetting("TOKEN_AUDIENCE is not set (it is required with TOKEN_ISSUER)")
        return self.token_audience


@cache
def get_authorizer_settings() -> AuthorizerSettings:
    return AuthorizerSettings.from_environ(os.environ)
