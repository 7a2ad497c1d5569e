"""The template's parameters that limit callers and tenants (docs/capacity.md), and a setting of them
above anything a test suite or a benchmark sends, for the runs that test something else."""

from __future__ import annotations

from collections.abc import Iterable

LIMIT_PARAMETERS = (
    "TenantRateLimit",
    "TenantBurstLimit",
    "TenantQuotaPerDay",
    "UserRateLimit",
    "UserBurstLimit",
    "UserQuotaPerDay",
    "TodoCap",
)


def unlimited(names: Iterable[str] = LIMIT_PARAMETERS) -> str:
    """`Name=value` pairs, as TEMPLATE_PARAMETERS and `--parameter-overrides` take them."""
    return " ".join(f"{name}={1_000_000_000}" for name in names)
