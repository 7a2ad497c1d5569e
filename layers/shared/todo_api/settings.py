"""Configuration: one validated model, read once per cold start.

Each function's environment holds only what it uses (see template.yaml); a setting is required
where it is used, by `Settings.require`, so a function without, say, the idempotency table
starts and fails only if it ever needs it.
"""

from functools import cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class MissingSetting(RuntimeError):
    """A setting this function needs is not in its environment (a template error)."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, extra="ignore")

    table_name: str | None = Field(default=None, validation_alias="TABLE_NAME", min_length=3)
    idempotency_table_name: str | None = Field(default=None, validation_alias="IDEMPOTENCY_TABLE_NAME", min_length=3)
    idempotency_ttl_seconds: int = Field(default=86400, validation_alias="IDEMPOTENCY_TTL_SECONDS", gt=0)
    event_bus_name: str | None = Field(default=None, validation_alias="EVENT_BUS_NAME", min_length=1)
    activity_retention_days: int | None = Field(default=None, validation_alias="ACTIVITY_RETENTION_DAYS", gt=0)
    # The authorizer's: bearer tokens (no TOKEN_ISSUER: keys only) and its in-container caches.
    token_issuer: str | None = Field(default=None, validation_alias="TOKEN_ISSUER")
    token_audience: str | None = Field(default=None, validation_alias="TOKEN_AUDIENCE")
    token_jwks_url: str | None = Field(default=None, validation_alias="TOKEN_JWKS_URL")
    token_use: str | None = Field(default="access", validation_alias="TOKEN_USE")
    token_algorithms: str = Field(default="RS256", validation_alias="TOKEN_ALGORITHMS", min_length=1)
    token_leeway_seconds: int = Field(default=30, validation_alias="TOKEN_LEEWAY_SECONDS", ge=0, le=300)
    tenant_claim: str | None = Field(default=None, validation_alias="TENANT_CLAIM")
    users_usage_key: str | None = Field(default=None, validation_alias="USERS_USAGE_KEY")
    key_cache_seconds: int = Field(default=300, validation_alias="KEY_CACHE_SECONDS", ge=0, le=3600)

    def require(self, name: str) -> str:
        value = getattr(self, name)
        if value is None:
            alias = type(self).model_fields[name].validation_alias
            raise MissingSetting(f"{alias} is not set")
        return str(value)


@cache
def get_settings() -> Settings:
    return Settings()
