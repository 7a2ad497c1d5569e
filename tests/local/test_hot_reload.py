"""Hot reload: an edit to a function's or the layer's code shows on the next request, no restart.

The server runs on a copy of the project's tree, which the test edits.
"""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.local import dynamodb
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
