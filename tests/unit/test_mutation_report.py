"""`make mutation`'s score: equivalent mutants apart from killed ones, stale list entries reported."""

import pytest

from devtools import mutation

CURSOR = "todo_api.domain.cursor.x_decode__mutmut_"
BUS = "todo_api.adapters.event_bus.xǁEventBridgeBusǁpublish__mutmut_"


def test_a_listing_line_names_the_mutant_and_its_status():
    line = f"    {BUS}7: survived"
    match = mutation.RESULT.match(line)
    assert match is not None
    assert (match["name"] + match["number"], match["status"]) == (BUS + "7", "survived")
    assert mutation.module_of(BUS + "7") == "todo_api.adapters.event_bus"
    assert mutation.module_of(CURSOR + "1") == "todo_api.domain.cursor"


def test_listed_survivors_are_equivalent_and_leave_the_score():
    statuses = {CURSOR + "1": "killed", CURSOR + "2": "timeout", CURSOR + "3": "survived", CURSOR + "4": "survived"}
    by_module, stale = mutation.scores(statuses, {CURSOR + "4": "returns the same"})
    assert by_module == {"todo_api.domain.cursor": {"killed": 1, "timeout": 1, "survived": 1, "equivalent": 1}}
    assert stale == []
    assert mutation.killed_percent(by_module["todo_api.domain.cursor"]) == pytest.approx(100 * 2 / 3)


def test_a_listed_mutant_that_timed_out_stays_equivalent():
    by_module, stale = mutation.scores({CURSOR + "1": "timeout", CURSOR + "2": "timeout"}, {CURSOR + "1": "same"})
    assert by_module == {"todo_api.domain.cursor": {"equivalent": 1, "timeout": 1}}
    assert stale == []


def test_an_unlisted_survivor_or_an_unchecked_mutant_counts_against_the_score():
    score = mutation.killed_percent({"killed": 9, "survived": 1, "not checked": 1, "no tests": 1, "equivalent": 4})
    assert score == pytest.approx(75.0)


def test_a_listed_mutant_that_is_killed_or_gone_is_stale():
    statuses = {CURSOR + "1": "killed", CURSOR + "2": "survived"}
    listed = {CURSOR + "1": "thought equivalent", CURSOR + "9": "code since changed", CURSOR + "2": "still equivalent"}
    by_module, stale = mutation.scores(statuses, listed)
    assert by_module["todo_api.domain.cursor"] == {"killed": 1, "equivalent": 1}
    assert stale == [
        f"{CURSOR}1: listed as equivalent but killed",
        f"{CURSOR}9: listed as equivalent but mutmut makes no such mutant",
    ]


def test_stale_entries_or_a_module_below_the_goal_fail_the_goal(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(mutation, "WORKSPACE", tmp_path)
    fine = {"todo_api.domain.cursor": {"killed": 9, "equivalent": 3, "survived": 1}}
    assert mutation.report(fine, [], goal=90) == 0
    assert mutation.report(fine, ["x: listed as equivalent but killed"], goal=90) == 1
    assert mutation.report({"todo_api.http.body": {"killed": 8, "survived": 2}}, [], goal=90) == 1
    assert mutation.report({"todo_api.settings": {"killed": 1, "survived": 9}}, [], goal=90) == 0  # not a goal layer
    assert mutation.report({"todo_api.http.body": {"killed": 8, "survived": 2}}, [], goal=None) == 0
    out = capsys.readouterr().out
    assert "todo_api.domain.cursor       9       13           3    90 %  survived 1" in out


def test_every_listed_equivalent_has_a_reason_and_a_mutmut_name(tmp_path):
    listed = mutation.load_equivalents()
    for name, reason in listed.items():
        assert mutation.RESULT.match(f"    {name}: survived"), name
        assert len(reason.split()) >= 4, name
    blank = tmp_path / "equivalents.toml"
    blank.write_text(f'[equivalent]\n"{CURSOR}1" = " "\n', encoding="utf-8")
    with pytest.raises(SystemExit, match="needs its reason"):
        mutation.load_equivalents(blank)


def test_entries_of_a_group_not_run_are_not_stale():
    listed = {BUS + "3": "mode is the same for JSON types", CURSOR + "9": "gone"}
    _, stale = mutation.scores({CURSOR + "1": "killed"}, listed, ran=("todo_api.domain.",))
    assert stale == [f"{CURSOR}9: listed as equivalent but mutmut makes no such mutant"]


def test_a_group_runs_the_globs_of_its_own_modules():
    domain = mutation.Group("domain", ("src/todo_api/domain/*",), ("tests/unit",))
    rest = mutation.Group("rest", ("src/todo_api/adapters/*", "src/todo_api/wiring.py"), ("tests",))
    assert domain.may_hold("todo_api.domain.cursor*")
    assert domain.may_hold("todo_api.*")
    assert not domain.may_hold("todo_api.http.*")
    assert rest.may_hold("todo_api.wiring*")
    assert rest.prefixes() == ["todo_api.adapters.", "todo_api.wiring"]
