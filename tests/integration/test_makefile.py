"""The Makefile as a newcomer runs it: where `make build` finds python3.13 (pyenv, PATH, uv), what
`make test` does without one, and `make key` with a given key. Runs the real `make` in a controlled
environment (its own PATH and HOME); nothing is built."""

import shlex
import shutil
import subprocess
from pathlib import Path

import boto3
import pytest

from devtools import keys
from devtools.loader import ROOT
from tests.conftest import TABLES
from todo_api.domain.keys import key_hash

MAKE = shutil.which("make")
PRINT_PY313 = ["--eval", "print-py313: ; @echo '[$(PY313_DIR)]'", "print-py313"]


def make(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    assert MAKE is not None
    return subprocess.run(
        [MAKE, "-s", "--no-print-directory", "-C", str(ROOT), *args], capture_output=True, text=True, env=env
    )


@pytest.fixture(scope="module")
def real_python313() -> Path:
    found = make(*PRINT_PY313).stdout.strip().strip("[]")
    if not found:
        pytest.skip("no python3.13 on this machine to place where the Makefile looks for one")
    return Path(found) / "python3.13"


@pytest.fixture
def bare_env(tmp_path: Path) -> dict[str, str]:
    """No pyenv (HOME without .pyenv, no pyenv on PATH), no python3.13, no uv: only the system's tools."""
    (tmp_path / "bin").mkdir()
    return {"PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path / "home"), "PYENV_ROOT": "/nonexistent"}


def _link(python: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "python3.13").symlink_to(python)
    return folder


def test_python313_on_path_is_found(real_python313, bare_env, tmp_path):
    _link(real_python313, tmp_path / "bin")
    assert make(*PRINT_PY313, env=bare_env).stdout.strip() == f"[{tmp_path / 'bin'}]"


def test_python313_of_uv_is_found(real_python313, bare_env, tmp_path):
    uv_python = _link(real_python313, tmp_path / "uv" / "cpython-3.13" / "bin")
    uv = tmp_path / "bin" / "uv"
    uv.write_text(f'#!/bin/sh\n[ "$*" = "python find 3.13" ] && echo {uv_python / "python3.13"}\n')
    uv.chmod(0o755)
    assert make(*PRINT_PY313, env=bare_env).stdout.strip() == f"[{uv_python}]"


def test_python313_of_pyenv_is_found(real_python313, bare_env, tmp_path):
    pyenv_bin = _link(real_python313, Path(bare_env["HOME"]) / ".pyenv" / "versions" / "3.13.1" / "bin")
    assert make(*PRINT_PY313, env=bare_env).stdout.strip() == f"[{pyenv_bin}]"


def test_without_python313_the_build_step_is_skipped_saying_why(bare_env):
    assert make(*PRINT_PY313, env=bare_env).stdout.strip() == "[]"
    skipped = make("build-or-skip", env=bare_env)
    assert skipped.returncode == 0, skipped.stderr
    assert "the build step was SKIPPED: no python3.13 found" in skipped.stderr
    assert "pyenv install 3.13.0" in skipped.stderr


def test_without_python313_build_required_fails(bare_env):
    failed = make("build-or-skip", env={**bare_env, "BUILD_REQUIRED": "1"})
    assert failed.returncode != 0
    assert "make build: no python3.13 found" in failed.stderr


def test_make_test_runs_the_build_step_through_build_or_skip():
    planned = make("-n", "test", "BUILD_REQUIRED=1", "PY313_DIR=/nonexistent")
    assert "sam build --template template.yaml" in planned.stdout


def test_make_key_stores_the_given_key_for_the_tenant(aws, monkeypatch, capsys):
    """`make key TENANT=demo KEY=local-dev-key`: the key the events/ files and the docs use."""
    planned = make("-n", "key", "TENANT=demo", "KEY=local-dev-key").stdout.strip().splitlines()[-1]
    argv = shlex.split(planned)
    assert argv[1:3] == ["-m", "devtools.keys"]
    monkeypatch.setenv("TABLE_NAME", TABLES["TodoTable"])
    assert keys.main(argv[3:]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == "local-dev-key"
    item = boto3.client("dynamodb").get_item(
        TableName=TABLES["TodoTable"], Key={"PK": {"S": f"APIKEY#{key_hash('local-dev-key')}"}, "SK": {"S": "APIKEY"}}
    )["Item"]
    assert item["tenant"] == {"S": "demo"}
