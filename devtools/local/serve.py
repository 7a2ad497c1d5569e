"""Run `make start`'s server as a child process, for tests and benchmarks over real HTTP.

    with served({"acme": "key-a", "globex": "key-b"}) as server:
        urllib.request.urlopen(server.url + "/todos", ...)

The server gets a free port, its own DynamoDB Local data folder (a temporary one unless given)
and the given tenants' keys; leaving the block stops it and everything it started.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from devtools.emulator.dynamodb import free_port
from devtools.loader import ROOT


@dataclass(frozen=True)
class Served:
    url: str
    data_dir: Path
    log: Path
    process: subprocess.Popen[bytes]

    @property
    def events_file(self) -> Path:
        """Where the local EventBridge stand-in appends the published events."""
        return self.data_dir / "events.jsonl"


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the local server exited ({process.returncode}):\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url + "/", timeout=5) as response:  # noqa: S310  # our own loopback URL
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
    raise RuntimeError(f"the local server did not answer within {timeout:.0f} s:\n{log.read_text()[-4000:]}")


@contextlib.contextmanager
def served(
    keys: dict[str, str],
    data_dir: Path | None = None,
    timeout: float = 180.0,
    template: Path | None = None,
    env: dict[str, str] | None = None,
    command: list[str] | None = None,
    stage: str | None = None,
) -> Iterator[Served]:
    """The local server with `keys` (tenant -> key) on a free port of 127.0.0.1, serving `template`
    (a tree copy's template.yaml; default the project's), with `env` added to its environment;
    `command` runs it another way (`["make", "-s", "start"]`, as the docs say); with a `stage`, under
    its path, as on a stage URL (`Served.url` ends with `/<stage>`)."""
    with contextlib.ExitStack() as stack:
        folder = data_dir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="todo-local-")))
        folder.mkdir(parents=True, exist_ok=True)
        port = free_port()
        log = folder / "server.log"
        environment = {
            **os.environ,
            **({"TODO_LOCAL_TEMPLATE": str(template)} if template else {}),
            **(env or {}),
            **({"TODO_LOCAL_STAGE": stage} if stage else {}),
            "PORT": str(port),
            "DYNAMODB_LOCAL_DIR": str(folder),
            "TODO_LOCAL_API_KEYS": ",".join(f"{tenant}:{key}" for tenant, key in keys.items()),
            "PYTHONUNBUFFERED": "1",
        }
        with log.open("wb") as out:
            process = subprocess.Popen(
                command or [sys.executable, "-m", "devtools.local"],
                cwd=ROOT,
                env=environment,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        try:
            url = f"http://127.0.0.1:{port}" + (f"/{stage}" if stage else "")
            _wait_ready(url, process, log, timeout)
            yield Served(url, folder, log, process)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
