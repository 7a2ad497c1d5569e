"""`make bench`'s copy for the docs site (docs/performance/results.json): every figure with its
goal, baseline and verdict, the machine and the date; a quick run never replaces a full run's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from devtools.bench import __main__ as bench


def figures(value: float) -> tuple[dict[str, Any], dict[str, str]]:
    results: dict[str, Any] = {key: value for key in bench.GOALS}
    results["ddb_calls_per_op"] = {"get": 1, "create": 1}
    results["uncompiled_py"] = 0
    return results, {key: f"baseline of {key}" for key in bench.GOALS}


@pytest.fixture
def outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BENCH_JSON", str(tmp_path / "results.json"))
    monkeypatch.setenv("BENCH_DOCS_JSON", str(tmp_path / "docs.json"))
    return tmp_path / "docs.json"


def run(monkeypatch: pytest.MonkeyPatch, value: float, *args: str) -> None:
    monkeypatch.setattr(bench.measure, "run_all", lambda quick, only: figures(value))
    bench.main(list(args))


def test_a_full_run_publishes_every_figure_with_goal_machine_and_date(outputs, monkeypatch):
    run(monkeypatch, 1.5)
    published = json.loads(outputs.read_text())
    assert published["quick"] is False
    assert published["machine"]
    assert published["measured_at"].endswith("UTC")
    by_name = {figure["name"]: figure for figure in published["figures"]}
    assert list(by_name) == list(bench.GOALS)
    assert by_name["init_instructions_ratio"] == {
        "name": "init_instructions_ratio",
        "value": 1.5,
        "op": "<=",
        "goal": 1.6,
        "baseline": "baseline of init_instructions_ratio",
        "met": True,
    }
    assert by_name["authorizer_init_instructions_ratio"]["met"] is False  # 1.5 > 1.35
    assert by_name["warm_token_cached_instructions"]["goal"] is None  # a figure without a goal
    assert by_name["warm_token_cached_instructions"]["met"] is None


def test_a_quick_run_publishes_only_where_no_full_run_has(outputs, monkeypatch):
    run(monkeypatch, 1.0, "--quick")
    assert json.loads(outputs.read_text())["quick"] is True
    run(monkeypatch, 1.1, "--quick")  # a quick run replaces a quick run's figures
    assert json.loads(outputs.read_text())["figures"][0]["value"] == 1.1
    run(monkeypatch, 1.2)
    run(monkeypatch, 1.3, "--quick")  # but never a full run's
    published = json.loads(outputs.read_text())
    assert published["quick"] is False
    assert published["figures"][0]["value"] == 1.2


def test_a_run_of_some_sections_never_replaces_the_published_figures(outputs, monkeypatch):
    run(monkeypatch, 1.2)
    run(monkeypatch, 1.4, "--only", "local")
    assert json.loads(outputs.read_text())["figures"][0]["value"] == 1.2
