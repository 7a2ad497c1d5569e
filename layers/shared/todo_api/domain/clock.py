"""Timestamps as the API writes them: RFC 3339 in UTC, millisecond precision, `Z` suffix."""

from datetime import UTC, datetime


def format_timestamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_timestamp(value: str) -> datetime:
    """An RFC 3339 timestamp (naive ones are taken as UTC); raises ValueError otherwise."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def now() -> str:
    return format_timestamp(datetime.now(UTC))
