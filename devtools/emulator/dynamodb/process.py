"""DynamoDB Local as a child process, and the clients of the local tools.

`DynamoDBLocal` runs the jar (`install`) with Java 17 as a child process in its own process group,
so that stopping it (also on Ctrl-C or SIGTERM of the parent) leaves no orphan. It listens on
127.0.0.1 only (or on the one address given, such as the docker0 address for SAM CLI's containers):
the jar itself has no such option and listens on every interface, accepting any credentials, so it
is started through `DynamoDBLocalOnHost.java` (beside this module), which sets the address on its
Jetty connector and answers 421 to a request whose Host is not a loopback name (or that address):
DNS rebinding.

`client()` and `config()` are the one botocore set-up of the local tools' clients (DynamoDB Local,
its streams); `free_port()` the one free port of 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3
from botocore.config import Config

from devtools.emulator.context import REGION
from devtools.emulator.dynamodb.install import EMULATOR_DIR, LOCAL_DIR, DynamoDBLocalError, ensure_installed, java_path

# The launcher that binds the jar's server to one address (a single-file Java program).
LAUNCHER = Path(__file__).with_name("DynamoDBLocalOnHost.java")
LOOPBACK = "127.0.0.1"
DEFAULT_DB_PATH = LOCAL_DIR / "dynamodb"

DUMMY_CREDENTIALS = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}

# A development database: start fast (C1 compiler only, serial GC) rather than peak throughput.
JVM_OPTIONS = ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto"]


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def config(attempts: int = 3) -> Config:
    """The botocore configuration of the local tools' clients (DynamoDB Local, its streams).

    Retry semantics, stated once: `total_max_attempts` counts every attempt, the first included
    (standard mode); `attempts=1` is a probe that asks once. A request waits at most 2 s to connect
    and 10 s for each answer (DynamoDB Local's first calls after a start are slow).
    """
    return Config(retries={"mode": "standard", "total_max_attempts": attempts}, connect_timeout=2, read_timeout=10)


def client(endpoint: str, attempts: int = 3, service: str = "dynamodb") -> Any:
    """A client of DynamoDB Local (`dynamodb` or `dynamodbstreams`; dummy credentials, fixed region)."""
    return boto3.client(  # type: ignore[call-overload]
        service, endpoint_url=endpoint, region_name=REGION, config=config(attempts), **DUMMY_CREDENTIALS
    )


def answers(endpoint: str) -> bool:
    """Whether a DynamoDB Local answers at `endpoint` now."""
    try:
        client(endpoint, attempts=1).list_tables(Limit=1)
    except Exception:
        return False
    return True


# The watchdog waits for EOF on its stdin, which only we hold: when this process ends, even by
# SIGKILL, the pipe closes and the watchdog stops DynamoDB Local's process group. No orphan JVM.
_WATCHDOG = """
import os, signal, sys, time
pgid = int(sys.argv[1])
sys.stdin.buffer.read()
for sig in (signal.SIGTERM, signal.SIGKILL):
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        break
    for _ in range(50):
        time.sleep(0.1)
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            sys.exit(0)
"""


class DynamoDBLocal:
    """DynamoDB Local as a child process; use as a context manager or call start() and stop().

    Data lives in `db_path` (`-sharedDb`, so every client sees the same tables whatever its
    credentials and region). It listens on `host` only: 127.0.0.1 unless another address is given
    (SAM CLI's containers reach it on the docker0 address; "0.0.0.0" is every interface).
    Stopping kills the child's whole process group; so does a watchdog process if this process
    dies without stopping it.
    """

    def __init__(self, db_path: Path | str = DEFAULT_DB_PATH, port: int | None = None, host: str = LOOPBACK) -> None:
        self.db_path = Path(db_path)
        self.port = port or free_port()
        self.host = host
        self.process: subprocess.Popen[bytes] | None = None
        self._watchdog: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.db_path / "dynamodb-local.log"

    @property
    def endpoint(self) -> str:
        """Where this machine's clients reach it: its address, or 127.0.0.1 when it is every interface."""
        host = LOOPBACK if self.host in ("0.0.0.0", "::", "") else self.host  # noqa: S104  # a comparison
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}"

    def start(self, timeout: float = 30.0) -> DynamoDBLocal:
        jar = ensure_installed()
        self.db_path.mkdir(parents=True, exist_ok=True)
        command = [
            java_path(),
            *JVM_OPTIONS,
            f"-Djava.library.path={EMULATOR_DIR / 'DynamoDBLocal_lib'}",
            "-cp",
            str(jar),
            str(LAUNCHER),
            self.host,
            "-sharedDb",
            "-dbPath",
            str(self.db_path),
            "-port",
            str(self.port),
            "-disableTelemetry",
        ]
        log = self.log_path.open("ab")
        try:
            # A new session: a Ctrl-C in the terminal reaches only us, and we stop the whole group.
            self.process = subprocess.Popen(
                command, cwd=str(EMULATOR_DIR), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        finally:
            log.close()
        self._watchdog = subprocess.Popen(
            [sys.executable, "-c", _WATCHDOG, str(self.process.pid)], stdin=subprocess.PIPE, start_new_session=True
        )
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        probe = client(self.endpoint, attempts=1)
        while True:
            if self.process is not None and self.process.poll() is not None:
                raise DynamoDBLocalError(
                    f"DynamoDB Local exited with code {self.process.returncode}; see {self.log_path}"
                )
            try:
                probe.list_tables(Limit=1)
                return
            except Exception as error:  # not listening yet
                if time.monotonic() > deadline:
                    raise DynamoDBLocalError(f"DynamoDB Local did not answer on {self.endpoint}: {error}") from error
                time.sleep(0.2)

    def stop(self, timeout: float = 10.0) -> None:
        process, self.process = self.process, None
        watchdog, self._watchdog = self._watchdog, None
        try:
            if process is None or process.poll() is not None:
                return
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout)
        finally:
            if watchdog is not None:
                if watchdog.stdin is not None:
                    watchdog.stdin.close()  # the watchdog finds the group gone and exits
                watchdog.wait(timeout)

    def __enter__(self) -> DynamoDBLocal:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
