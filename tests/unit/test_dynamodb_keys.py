"""The table's key prefixes are spelled in one module: todo_api/adapters/dynamodb.py.

Every other adapter builds and reads keys through its functions, so a change of the layout (or the
IAM policy's leading keys, which must match it) is one edit. Docstrings may show the layout; code
may not spell it. The prefixes are listed here, not read from the module under test.
"""

import ast
import re
from pathlib import Path

import pytest

ADAPTERS = Path(__file__).resolve().parents[2] / "layers/shared/todo_api/adapters"
KEY_TABLE = ADAPTERS / "dynamodb.py"
PREFIXES = ["TENANT#", "TODO#", "C#", "DELETED#", "COUNTER#", "APIKEY#", "ACTIVITY#", "EVENT#"]
PREFIX = re.compile(r"\b(?:" + "|".join(re.escape(p) for p in PREFIXES) + r"|APIKEY\b)")


def docstrings(tree: ast.AST) -> set[int]:
    """The ids of the string constants that are docstrings (a module's, a class's, a function's)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def key_spellings(path: Path) -> list[str]:
    """Each string in the code (not a docstring) that spells a key prefix, with its line; an f-string
    that glues a value to `#` (`f"{tenant}#..."`, an idempotency claim id) counts too."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skipped:
            if PREFIX.search(node.value):
                found.append(f"{path.name}:{node.lineno}: {node.value!r}")
        elif isinstance(node, ast.JoinedStr):
            for before, after in zip(node.values, node.values[1:], strict=False):
                if (
                    isinstance(before, ast.FormattedValue)
                    and isinstance(after, ast.Constant)
                    and str(after.value).startswith("#")
                ):
                    found.append(f"{path.name}:{node.lineno}: f-string '{{...}}#'")
    return found


OTHER_ADAPTERS = sorted(p for p in ADAPTERS.glob("*.py") if p != KEY_TABLE)


@pytest.mark.parametrize("path", OTHER_ADAPTERS, ids=lambda p: p.name)
def test_no_adapter_but_the_key_table_spells_a_key_prefix(path):
    assert key_spellings(path) == []


def test_the_key_table_spells_every_prefix():
    spelled = " ".join(key_spellings(KEY_TABLE))
    assert [p for p in PREFIXES if p not in spelled] == []
    assert "f-string '{...}#'" in spelled  # the claim id


def test_the_scan_finds_spellings_in_code_but_not_in_docstrings(tmp_path):
    source = tmp_path / "sample.py"
    source.write_text(
        '"""Items `TENANT#<tenant>`."""\n'
        "def key(tenant, hashed):\n"
        '    """The `APIKEY#<hash>` item."""\n'
        '    return {"PK": f"TENANT#{tenant}", "SK": "APIKEY", "C": f"{tenant}#{hashed}", "x": "C#1#"}\n'
    )
    assert len(key_spellings(source)) == 4
