"""The bench reads the real template, whose alarms are written as Fn::ForEach (lists, not resources)."""

from __future__ import annotations

from devtools.bench import measure
from devtools.emulator.template import project


def test_the_bench_finds_every_function_and_its_layers_in_the_real_template() -> None:
    expected = sorted(function.name for function in project().all_functions())
    assert sorted(measure._functions()) == expected
    assert len(expected) == 9
    assert measure._layers_of("AuthorizerFunction") == ["SharedLayer", "AuthLayer"]
    assert measure._layers_of("CreateTodoFunction") == ["SharedLayer"]
