"""The API functions' configuration: one validated model, read once per cold start.

The authorizer reads its own variables without pydantic (`todo_api.authorizer_settings`).

Each function's environment holds only what it uses (see template.yaml); a setting is required
where it is used, by `Settings.require`, so a function without, say, the idempotency table
starts and fails only if it ever needs it.
"""

from functools import cache

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from todo_api.authorizer_settings import MissingSetting  # one error for a missing setting, either model


class Settings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, extra="ignore")

    table_name: str | None = Field(default=None, validation_alias="TABLE_NAME", min_length=3)
    idempotency_table_name: str | None = Field(default=None, validation_alias="IDEMPOTENCY_TABLE_NAME", min_length=3)
    idempotency_ttl_seconds: int = Field(default=86400, validation_alias="IDEMPOTENCY_TTL_SECONDS", gt=0)
    todo_cap: int | None = Field(default=None, validation_alias="TODO_CAP", gt=0)  # none: no cap
    event_bus_name: str | None = Field(default=None, validation_alias="EVENT_BUS_NAME", min_length=1)
    activity_retention_days: int | None = Field(default=None, validation_alias="ACTIVITY_RETENTION_DAYS", gt=0)
    # The cursor signing keys (template: CursorSecret), read by the list functions alone; the
    # previous one, while set (non-empty), is still accepted (a rotation).
    cursor_secret: SecretStr | None = Field(default=None, validation_alias="CURSOR_SECRET")
    cursor_secret_previous: SecretStr | None = Field(default=None, validation_alias="CURSOR_SECRET_PREVIOUS")
    # The role whose STS sessions, one per tenant, reach the tables (None: the function's own role,
    # as on DynamoDB Local, which checks no IAM); see todo_api.adapters.tenant_credentials.
    tenant_role_arn: str | None = Field(
        default=None, validation_alias="TENANT_ROLE_ARN", pattern=r"^$|^arn:aws[a-z-]*:iam::[0-9]{12}:role/\S+$"
    )
    cors_allow_origin: str = Field(
        default="*", validation_alias="CORS_ALLOW_ORIGIN", pattern=r"^\*$|^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$"
    )

    def secret(self, name: str) -> bytes | None:
        """A secret's UTF-8 bytes; None where it is unset or empty."""
        value: SecretStr | None = getattr(self, name)
        return value.get_secret_value().encode() if value is not None and value.get_secret_value() else None

    def require_secret(self, name: str) -> bytes:
        value = self.secret(name)
        if value is None:
            alias = type(self).model_fields[name].validation_alias
            raise MissingSetting(f"{alias} is not set")
        return value

    def require(self, name: str) -> str:
        value = getattr(self, name)
        if value is None:
            alias = type(self).model_fields[name].validation_alias
            raise MissingSetting(f"{alias} is not set")
        return str(value)


@cache
def get_settings() -> Settings:
    return Settings()
