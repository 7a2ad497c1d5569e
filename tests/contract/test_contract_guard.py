"""The contract guard (devtools/contract_guard.py, Optic under contract/optic.yml): a breaking
change to the document fails unless info.version's major number goes up; a compatible one passes.

Each case edits a copy of the released document and runs the real `optic diff --check`."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from devtools import contract_guard

Document = dict[str, Any]
RELEASED: Document = json.loads(contract_guard.RELEASED.read_text(encoding="utf-8"))


def _schema(document: Document, name: str) -> Document:
    return document["components"]["schemas"][name]


def _parameter(document: Document, path: str, method: str, name: str) -> Document:
    return next(p for p in document["paths"][path][method]["parameters"] if p["name"] == name)


def remove_route(document: Document) -> None:
    del document["paths"]["/activity"]


def remove_response_field(document: Document) -> None:
    todo = _schema(document, "Todo")
    del todo["properties"]["updated_at"]
    todo["required"].remove("updated_at")


def remove_status(document: Document) -> None:
    del document["paths"]["/todos/{todo_id}"]["patch"]["responses"]["412"]


def narrow_request_type(document: Document) -> None:
    _schema(document, "TodoCreate")["properties"]["completed"]["type"] = "string"


def narrow_request_max_length(document: Document) -> None:
    _schema(document, "TodoCreate")["properties"]["title"]["maxLength"] = 100


def narrow_union_member_bound(document: Document) -> None:
    _parameter(document, "/todos", "get", "cursor")["schema"]["anyOf"][0]["maxLength"] = 256


def remove_enum_value(document: Document) -> None:
    _parameter(document, "/todos", "get", "completed")["schema"]["anyOf"][0]["enum"] = ["true"]


# Each case is one run of Optic (several seconds): the four kinds, and each path of
# contract/request-constraints.js (a body property, a parameter's union member, an enum there).
BREAKING = [
    remove_route,
    remove_response_field,
    remove_status,
    narrow_request_type,
    narrow_request_max_length,
    narrow_union_member_bound,
    remove_enum_value,
]


def add_and_widen(document: Document) -> None:
    """A new route, a new response field and optional request field, a new status, wider bounds."""
    archive = copy.deepcopy(document["paths"]["/todos/{todo_id}"]["get"])
    archive["operationId"] = "archive_todo"
    document["paths"]["/todos/{todo_id}/archive"] = {"post": archive}
    due = {"type": "string", "format": "date-time", "title": "Due"}
    _schema(document, "Todo")["properties"]["due"] = due
    _schema(document, "TodoCreate")["properties"]["due"] = due
    responses = document["paths"]["/todos/{todo_id}"]["get"]["responses"]
    responses["410"] = copy.deepcopy(responses["404"])
    _schema(document, "TodoCreate")["properties"]["title"]["maxLength"] = 500
    _parameter(document, "/todos", "get", "limit")["schema"]["maximum"] = 200
    _parameter(document, "/todos", "get", "cursor")["schema"]["anyOf"][0]["maxLength"] = 1024
    _parameter(document, "/todos", "get", "completed")["schema"]["anyOf"][0]["enum"].append("any")


def _current(tmp_path: Path, change: Callable[[Document], None], version: str | None = None) -> Path:
    document = copy.deepcopy(RELEASED)
    change(document)
    if version is not None:
        document["info"]["version"] = version
    path = tmp_path / "openapi.json"
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return path


def test_the_committed_document_keeps_the_released_contract() -> None:
    assert contract_guard.check(contract_guard.RELEASED, contract_guard.CURRENT) == 0


@pytest.mark.parametrize("change", BREAKING, ids=lambda change: change.__name__)
def test_a_breaking_change_with_the_same_major_fails(
    change: Callable[[Document], None], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert contract_guard.check(contract_guard.RELEASED, _current(tmp_path, change)) == 1
    output = capsys.readouterr()
    assert "breaking change against openapi.released.json" in output.err
    assert "This is a breaking change." in output.out  # Optic's finding, not another failure


def test_a_compatible_change_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert contract_guard.check(contract_guard.RELEASED, _current(tmp_path, add_and_widen, version="1.1.0")) == 0
    assert "Operations: 1 operation added, 6 changed" in capsys.readouterr().out  # Optic saw them all


@pytest.mark.parametrize("change", [remove_route, narrow_request_max_length], ids=lambda change: change.__name__)
def test_a_breaking_change_with_a_new_major_passes(change: Callable[[Document], None], tmp_path: Path) -> None:
    assert contract_guard.check(contract_guard.RELEASED, _current(tmp_path, change, version="2.0.0")) == 0


def test_a_lower_major_fails(tmp_path: Path) -> None:
    released = _current(tmp_path, lambda document: None, version="2.0.0")
    current = tmp_path / "current.json"
    current.write_text(json.dumps(RELEASED), encoding="utf-8")
    assert contract_guard.check(released, current) == 1


def test_a_ruleset_that_cannot_load_fails_the_guard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Optic itself only warns and exits 0 when a ruleset of its config cannot be loaded."""
    rules = tmp_path / "optic.yml"
    rules.write_text("ruleset:\n  - breaking-changes\n  - ./missing.js\n", encoding="utf-8")
    monkeypatch.setattr(contract_guard, "RULES", rules)
    # The same major as the released document, so that Optic runs whatever the current version is.
    assert contract_guard.check(contract_guard.RELEASED, _current(tmp_path, lambda document: None)) == 1
