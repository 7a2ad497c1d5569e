"""Configuration: one validated model, read once per cold start."""

from functools import cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, extra="ignore")

    table_name: str = Field(validation_alias="TABLE_NAME", min_length=3)
    idempotency_table_name: str = Field(validation_alias="IDEMPOTENCY_TABLE_NAME", min_length=3)
    idempotency_ttl_seconds: int = Field(default=86400, validation_alias="IDEMPOTENCY_TTL_SECONDS", gt=0)


@cache
def get_settings() -> Settings:
    return Settings()
