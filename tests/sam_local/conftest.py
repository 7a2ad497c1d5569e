"""Every function through SAM CLI's own emulator: `sam local invoke` on its `events/` file (Docker).

Not part of the default run (pyproject's addopts: `--ignore=tests/sam_local`): `make sam-local-e2e`
runs it after tests/e2e, or name it, with Docker and the build in `.aws-sam/build`:

    SAM_LOCAL_OPTS='--add-host host.docker.internal:172.17.0.1' .venv/bin/pytest tests/sam_local

    SAM_LOCAL_ARCH      the build's architecture (default: this machine's), as `make sam-local-e2e` passes it
    SAM_LOCAL_TIMEOUT   the functions' Timeout under the emulator, in seconds (default 30)
    SAM_LOCAL_WORKDIR   the folder for the logs and DynamoDB Local's data (default: a new .local/sam-local-e2e-*)
    SAM_LOCAL_OPTS      extra `sam local` options (`--skip-pull-image`, `--add-host ...`)

Selected where SAM CLI, a Docker daemon or the build is missing, every test fails, saying which.
The harness (DynamoDB Local with the template's tables and the keys, the PutEvents endpoint, the
`sam local` options) is devtools.sam_local's, started once for the session.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from devtools import sam_local


@pytest.fixture(scope="session", autouse=True)
def sam_local_available() -> None:
    """SAM CLI, a Docker daemon and the build, or every test here fails saying which is missing."""
    if (missing := sam_local.unavailable()) is not None:
        pytest.fail(f"tests/sam_local need SAM CLI, Docker and the build: {missing}", pytrace=False)


@pytest.fixture(scope="session")
def workdir() -> Path:
    given = os.environ.get("SAM_LOCAL_WORKDIR", "").strip()
    folder = Path(given) if given else sam_local.new_workdir()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def local(workdir: Path) -> Iterator[sam_local.Local]:
    """DynamoDB Local, the keys and the PutEvents endpoint, and the `sam local` options that point at them."""
    machine = "arm64" if platform.machine().lower() in ("aarch64", "arm64") else "x86_64"
    architecture = os.environ.get("SAM_LOCAL_ARCH", "").strip() or machine
    if architecture not in sam_local.ARCHITECTURES:
        pytest.fail(f"SAM_LOCAL_ARCH={architecture!r}: one of {', '.join(sam_local.ARCHITECTURES)}")
    timeout = int(os.environ.get("SAM_LOCAL_TIMEOUT", "").strip() or sam_local.TIMEOUT)
    with sam_local.started(workdir, architecture, timeout) as started:
        yield started


@pytest.fixture(scope="session")
def invoke(local: sam_local.Local, workdir: Path) -> Callable[[str, Path], Any]:
    """`sam local invoke` of a function on an event file: its result."""

    def run(function: str, event: Path) -> Any:
        return sam_local.invoke(local, function, event, workdir)

    return run
