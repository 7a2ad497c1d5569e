"""Lambda event filtering (an event source mapping's FilterCriteria), for the subset that works
locally: nested keys and lists of exact values; `check_pattern` refuses any other pattern."""

from __future__ import annotations

from typing import Any

from devtools.emulator.template import LocalServerError


def check_pattern(pattern: Any, where: str) -> None:
    if isinstance(pattern, dict):
        for value in pattern.values():
            check_pattern(value, where)
    elif not isinstance(pattern, list) or any(isinstance(v, (dict, list)) for v in pattern):
        raise LocalServerError(f"{where}: only exact-value filter patterns work locally, not {pattern!r}")


def matches(pattern: Any, value: Any) -> bool:
    """Lambda event filtering, for the subset `check_pattern` admits: nested keys, lists of exact values."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(k in value and matches(p, value[k]) for k, p in pattern.items())
    return value in pattern
