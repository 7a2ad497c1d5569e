"""The layers of the shared package, as its imports and constructors show them.

domain <- adapters <- wiring <- handlers, and http beside them: the domain imports no SDK and
nothing outside itself, only adapters speak DynamoDB's wire format, only the wiring module builds
adapters and services, and handlers take what they use from http, wiring and the domain's models.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "layers/shared/todo_api"
HANDLERS = sorted((ROOT / "functions").glob("*/app.py"))


def modules(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def package_of(path: Path) -> str:
    return str(path.relative_to(ROOT / "layers/shared").with_suffix("")).replace("/", ".")


def test_importing_the_domain_loads_no_sdk_and_no_event_handler():
    names = ", ".join(package_of(p) for p in modules(PACKAGE / "domain"))
    code = f"import sys, {names}; print(' '.join(sorted(sys.modules)))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT / "layers/shared", capture_output=True, text=True, check=True
    ).stdout.split()
    assert "todo_api.domain.todos" in loaded
    forbidden = [m for m in loaded if m.split(".")[0] in {"boto3", "botocore", "aws_lambda_powertools"}]
    assert forbidden == []


@pytest.mark.parametrize("path", modules(PACKAGE / "domain"), ids=lambda p: p.name)
def test_the_domain_imports_only_itself_among_the_package(path):
    inner = {name for name in imports(path) if name.startswith("todo_api")}
    assert all(name.startswith("todo_api.domain") for name in inner), inner


@pytest.mark.parametrize("path", modules(PACKAGE / "http"), ids=lambda p: p.name)
def test_http_knows_neither_adapters_nor_wiring(path):
    inner = {name for name in imports(path) if name.startswith("todo_api")}
    assert not {n for n in inner if n.startswith(("todo_api.adapters", "todo_api.wiring"))}, inner


def _speaks_wire_format(path: Path) -> bool:
    """Writes a DynamoDB attribute value: a dict literal keyed by "S", "N" or "BOOL"."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Dict) and any(
            isinstance(key, ast.Constant) and key.value in {"S", "N", "BOOL"} for key in node.keys
        ):
            return True
    return False


def test_only_adapters_write_dynamodbs_wire_format():
    speakers = {p.relative_to(PACKAGE).as_posix() for p in modules(PACKAGE) + HANDLERS if _speaks_wire_format(p)}
    assert speakers
    assert {p for p in speakers if not p.startswith("adapters/")} == set()


BUILT_ONLY_IN_WIRING = {"TodoService", "ActivityFeed", "StreamConsumer", "TokenVerifier", "Jwks", "CachedKeys"}


def _constructed(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {
        node.func.id if isinstance(node.func, ast.Name) else node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name | ast.Attribute)
    }
    return {n for n in names if n in BUILT_ONLY_IN_WIRING or n.startswith(("DynamoDB", "EventBridge")) or n == "client"}


def test_only_the_wiring_module_constructs_adapters_services_and_clients():
    builders = {
        p.relative_to(ROOT).as_posix(): built for p in modules(PACKAGE) + HANDLERS if (built := _constructed(p))
    }
    # adapters/clients.py makes the boto3 clients that wiring caches (`boto3.client`).
    assert builders == {
        "layers/shared/todo_api/wiring.py": builders["layers/shared/todo_api/wiring.py"],
        "layers/shared/todo_api/adapters/clients.py": {"client"},
    }
    assert {"TodoService", "DynamoDBTodoStore", "DynamoDBKeyStore", "TokenVerifier", "Jwks", "CachedKeys"} <= builders[
        "layers/shared/todo_api/wiring.py"
    ]


@pytest.mark.parametrize("path", HANDLERS, ids=lambda p: p.parent.name)
def test_handlers_take_the_package_only_from_http_wiring_and_the_domain(path):
    inner = {name for name in imports(path) if name.startswith("todo_api")}
    allowed = ("todo_api.http", "todo_api.domain.")
    assert all(name in {"todo_api", "todo_api.wiring"} or name.startswith(allowed) for name in inner), inner
    assert not any(name.startswith("todo_api.adapters") for name in inner)


DEVTOOLS = ROOT / "devtools"


def defining(pattern: str) -> list[str]:
    """The devtools and tests modules whose text holds `pattern`."""
    found = []
    for path in [*modules(DEVTOOLS), *modules(ROOT / "tests")]:
        if path != Path(__file__).resolve() and pattern in path.read_text(encoding="utf-8"):
            found.append(str(path.relative_to(ROOT)))
    return found


def test_one_template_reader_one_context_one_free_port_one_moto_harness():
    assert defining("SamLocalStackProvider.get_stacks(") == ["devtools/emulator/template.py"]
    assert defining("yaml_parse(") == ["devtools/emulator/template.py"]
    assert defining("def get_remaining_time_in_millis") == ["devtools/emulator/context.py"]
    assert defining("def free_port") == ["devtools/emulator/dynamodb/process.py"]
    assert defining("with mock_aws()") == ["devtools/moto_harness.py"]
    assert defining('"total_max_attempts"') == ["devtools/emulator/dynamodb/process.py"]


def top_level_definitions() -> dict[str, list[str]]:
    """Each name a module of the shared package defines at its top (function or class): its modules."""
    found: dict[str, list[str]] = {}
    for path in modules(PACKAGE):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                found.setdefault(node.name, []).append(package_of(path))
    return found


def test_the_error_body_sits_beside_the_error_map():
    """The contract's error body is the HTTP edge's, not the domain's: the domain raises errors, and
    todo_api.http.errors alone turns them into statuses and this body."""
    definitions = top_level_definitions()
    assert definitions["ErrorBody"] == ["todo_api.http.errors"]
    assert definitions["ErrorDetail"] == ["todo_api.http.errors"]


def test_one_meaning_per_name_in_the_package():
    """No two modules of the shared package define a function or class of the same name (the caller's
    tenant from the authorizer's context and the tenant a token's claims name were both `tenant_of`)."""
    shared = {name: where for name, where in top_level_definitions().items() if len(where) > 1}
    assert shared == {}
