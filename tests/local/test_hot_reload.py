"""Hot reload: an edit to a function's or the layer's code shows on the next request, no restart.

The server runs on a copy of the project's tree, which the test edits.
"""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.emulator import dynamodb
from tests.local.conftest import ROOT, Local, data, local_api

UNKNOWN_ID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tree = tmp_path_factory.mktemp("tree")
    shutil.copy(ROOT / "template.yaml", tree / "template.yaml")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "functions", tree / "functions", ignore=ignore)
    shutil.copytree(ROOT / "layers", tree / "layers", ignore=ignore)
    return tree


@pytest.fixture(scope="module")
def local_copy(copy: Path, ddb: dynamodb.DynamoDBLocal) -> Iterator[Local]:
    with local_api(copy / "template.yaml", ddb) as api:
        yield api


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    stat = path.stat()
    path.write_text(text.replace(old, new), encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # even on coarse clocks


def test_function_edit_applies_on_next_request(local_copy: Local, copy: Path) -> None:
    before = local_copy.client.get("/")
    assert before.status_code == 200
    message = data(before)["message"]
    edit(copy / "functions/docs/app.py", message, "Reloaded welcome")
    assert data(local_copy.client.get("/")) == {"message": "Reloaded welcome"}


def test_layer_edit_applies_on_next_request(local_copy: Local, copy: Path) -> None:
    tenant = next(iter(local_copy.keys))
    path = f"/todos/{UNKNOWN_ID}"
    before = local_copy.client.get(path, headers=local_copy.headers(tenant))
    assert (before.status_code, data(before)) == (404, {"error": "Todo not found"})
    edit(copy / "layers/shared/todo_api/domain/errors.py", '"Todo not found"', '"No such todo (reloaded)"')
    after = local_copy.client.get(path, headers=local_copy.headers(tenant))
    assert (after.status_code, data(after)) == (404, {"error": "No such todo (reloaded)"})
    assert not (ROOT / "layers/shared/todo_api/domain/errors.py").read_text(encoding="utf-8").count("(reloaded)")


def test_code_watcher_sees_edits_new_and_deleted_files_only_of_code(tmp_path: Path) -> None:
    """What counts as a change: a .py or .json file edited, added or deleted, in any subfolder;
    bytecode caches and other files do not (the functions write their own __pycache__)."""
    from devtools.emulator.runner import CodeWatcher

    package = tmp_path / "code" / "pkg"
    package.mkdir(parents=True)
    module = package / "module.py"
    module.write_text("A = 1\n", encoding="utf-8")
    watcher = CodeWatcher([tmp_path / "code"])
    assert not watcher.changed()

    edit(module, "A = 1", "A = 2")
    assert watcher.changed()
    assert not watcher.changed()  # a change is reported once

    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "module.py").write_text("", encoding="utf-8")
    (package / "notes.txt").write_text("not code", encoding="utf-8")
    assert not watcher.changed()

    (package / "schema.json").write_text("{}", encoding="utf-8")
    assert watcher.changed()
    module.unlink()
    assert watcher.changed()
    assert not watcher.changed()
