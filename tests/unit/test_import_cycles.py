"""No import cycles among the project's own modules; and the generic emulator (`devtools.emulator`)
imports nothing of this project's own (`devtools.local`, the token issuer, `make key`, sam_local, the
API's package and handlers), at the top, deferred or for typing alike.

The graph is read from the source with `ast`, so it holds every import a module spells: at the top,
inside functions (a deferred import that exists only to break a cycle still couples the two modules)
and under `if TYPE_CHECKING:` (mypy follows those, and a cycle there is the same design knot with the
runtime error postponed). `from package import name` counts as an import of `package.name` when that
is one of the project's modules, else of `package` (as grimp counts it). Each handler in functions/ is named
`functions.<name>.app`; nothing imports a handler, so the name only has to be unique.

networkx (already in the dev lock) finds the cycles. grimp/import-linter would need every root to be an
importable package, which functions/*/app.py (all named `app`) and tests/ helpers are not.
"""

import ast
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[2]
# Where each tree's modules are importable from, and the folder holding them.
TREES = [
    (ROOT / "layers/shared", ROOT / "layers/shared/todo_api"),
    (ROOT, ROOT / "devtools"),
    (ROOT, ROOT / "functions"),
    (ROOT, ROOT / "tests"),
]
SKIPPED_PARTS = {"node_modules", "__pycache__", ".venv"}


def module_name(base: Path, path: Path) -> str:
    parts = list(path.relative_to(base).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for base, folder in TREES:
        for path in folder.rglob("*.py"):
            if SKIPPED_PARTS.isdisjoint(path.parts):
                found[module_name(base, path)] = path
    return found


def imported_names(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules `name`'s source imports, relative imports resolved."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                source = ".".join([*anchor, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            for alias in node.names:
                found.add(f"{source}.{alias.name}" if f"{source}.{alias.name}" in modules else source)
    return {target for target in found if target in modules and target != name}


def import_graph() -> "nx.DiGraph[str]":
    modules = project_modules()
    graph: nx.DiGraph[str] = nx.DiGraph()
    graph.add_nodes_from(modules)
    for name, path in modules.items():
        graph.add_edges_from((name, target) for target in imported_names(name, path, modules))
    return graph


def cycles(graph: "nx.DiGraph[str]") -> list[list[str]]:
    """Each elementary cycle in import order, starting from its smallest name."""
    found = []
    for cycle in nx.simple_cycles(graph):
        start = cycle.index(min(cycle))
        found.append(cycle[start:] + cycle[:start])
    return sorted(found)


def test_the_graph_sees_the_trees_and_their_imports():
    graph = import_graph()
    assert graph.has_edge("todo_api.wiring", "todo_api.adapters.clients")  # at the top
    assert graph.has_edge("todo_api.wiring", "todo_api.adapters.todo_store")  # inside a function
    assert graph.has_edge("todo_api.wiring", "todo_api.domain.todos")  # under TYPE_CHECKING
    assert graph.has_edge("devtools.local.console.app", "devtools.local.console.redact")  # from package import module
    assert graph.has_edge("devtools.local.keys", "devtools.emulator.template")
    assert graph.has_edge("functions.create_todo.app", "todo_api.wiring")
    assert graph.has_edge("tests.unit.test_todo_service", "tests.fakes")


def test_a_cycle_is_found_through_deferred_type_checking_and_relative_imports(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from pkg import b\n")
    (pkg / "b.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .c import X\n")
    (pkg / "c.py").write_text("from . import a\n")
    names = {module_name(tmp_path, p): p for p in pkg.glob("*.py")}
    graph: nx.DiGraph[str] = nx.DiGraph()
    for name, path in names.items():
        graph.add_edges_from((name, target) for target in imported_names(name, path, names))
    assert cycles(graph) == [["pkg.a", "pkg.b", "pkg.c"]]


def test_no_import_cycles():
    found = cycles(import_graph())
    assert found == [], "import cycles:\n" + "\n".join(" -> ".join([*c, c[0]]) for c in found)


# What the generic emulator must not know: this project's own devtools and its API.
PROJECT_OWN = ("devtools.local", "devtools.keys", "devtools.oidc", "devtools.sam_local", "todo_api", "functions")


def emulator_imports_of_the_project(graph: "nx.DiGraph[str]") -> list[tuple[str, str]]:
    """Each import by a module of devtools.emulator of a module of this project's own (PROJECT_OWN)."""
    return sorted(
        (source, target)
        for source, target in graph.edges
        if (source == "devtools.emulator" or source.startswith("devtools.emulator."))
        and any(target == own or target.startswith(f"{own}.") for own in PROJECT_OWN)
    )


def test_the_emulator_imports_nothing_of_the_project():
    graph = import_graph()
    assert graph.has_edge("devtools.emulator.secrets", "devtools.emulator.state")  # the graph sees the emulator
    found = emulator_imports_of_the_project(graph)
    assert found == [], "the emulator imports this project's own modules:\n" + "\n".join(
        f"{source} -> {target}" for source, target in found
    )


def test_an_import_of_the_project_by_the_emulator_is_found():
    graph: nx.DiGraph[str] = nx.DiGraph()
    graph.add_edges_from(
        [
            ("devtools.emulator.dynamodb.process", "devtools.local.keys"),
            ("devtools.emulator.gateway", "todo_api.wiring"),
            ("devtools.emulator", "functions.create_todo.app"),
            ("devtools.emulator.state", "devtools.oidc"),
            ("devtools.emulator.runner", "devtools.loader"),  # generic devtools: allowed
            ("devtools.local.server", "devtools.emulator.gateway"),  # the other way: allowed
            ("devtools.emulator_extra", "devtools.keys"),  # not the emulator
            ("devtools.emulator.bus", "devtools.keystore"),  # not devtools.keys
        ]
    )
    assert emulator_imports_of_the_project(graph) == [
        ("devtools.emulator", "functions.create_todo.app"),
        ("devtools.emulator.dynamodb.process", "devtools.local.keys"),
        ("devtools.emulator.gateway", "todo_api.wiring"),
        ("devtools.emulator.state", "devtools.oidc"),
    ]
