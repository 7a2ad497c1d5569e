"""The template process that forks new instances (`worker.py --zygote`), seen from the server.

A new instance forked from a process that has already imported the runtime's heavy modules (the
AWS SDK, the layers' dependencies, then whatever else of the runtime the first instances imported at
init: the standard library's and installed packages' modules) starts in a fraction of the time a
fresh interpreter takes to import them, which is most of a cold start here: the 8-user tail of
`make bench` is cold starts.
What an instance is does not change: a process of its own, with its own session, environment,
working folder, limits and globals; the function's and the layers' own code is never preloaded, so
an edit still shows on the next request (new instances import it afresh).

`fork` needs a POSIX system; TODO_LOCAL_FORK=0 turns it off (each instance is then a fresh
interpreter, as before). On macOS, a process that forks after loading some system frameworks may
crash in the child: the template imports only Python packages and starts no thread, which avoids
it; if an instance still dies at start there, TODO_LOCAL_FORK=0 is the way out.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from contextlib import suppress
from importlib import metadata
from pathlib import Path

from devtools.emulator import worker

WORKER = Path(worker.__file__).resolve()
# What the Lambda runtime for Python provides and every function here imports: the AWS SDK.
RUNTIME_MODULES = ("boto3", "botocore.session", "botocore.client")
READY_TIMEOUT_S = 120.0


def enabled(environment: dict[str, str]) -> bool:
    return hasattr(os, "fork") and environment.get("TODO_LOCAL_FORK", "1").strip() not in ("0", "false", "")


def preloaded_modules(requirements: list[Path], own_names: set[str]) -> list[str]:
    """The runtime's modules and the import names of the layers' requirements (their
    `requirements.txt`), leaving out every name that a function or a layer provides itself."""
    distributions = metadata.packages_distributions()  # import name -> distributions
    by_distribution: dict[str, list[str]] = {}
    for name, owners in distributions.items():
        for owner in owners:
            by_distribution.setdefault(_normal(owner), []).append(name)
    names = list(RUNTIME_MODULES)
    for path in requirements:
        if not path.exists():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            requirement = line.split("#", 1)[0].strip()
            if not requirement:
                continue
            distribution = _normal(requirement.split(";")[0].split("[")[0].split("=")[0].split("<")[0].split(">")[0])
            for module in sorted(by_distribution.get(distribution, [])):
                if module.isidentifier() and module not in names:
                    names.append(module)
    return [name for name in names if name.split(".")[0] not in own_names]


# The botocore service name of an `AWS_ENDPOINT_URL_<SERVICE>` variable where it differs.
_SERVICE_NAMES = {"EVENTBRIDGE": "events"}


def sdk_services(environment: dict[str, str]) -> list[str]:
    """The AWS services the functions reach here: those the runner gives a local endpoint
    (`AWS_ENDPOINT_URL_<SERVICE>`), whose SDK models the template loads ahead."""
    prefix = "AWS_ENDPOINT_URL_"
    return sorted(
        _SERVICE_NAMES.get(name[len(prefix) :], name[len(prefix) :].lower())
        for name in environment
        if name.startswith(prefix)
    )


def _normal(distribution: str) -> str:
    return distribution.strip().lower().replace("_", "-").replace(".", "-")


class ForkedProcess:
    """An instance forked by the template: what `Instance` uses of `subprocess.Popen`."""

    def __init__(self, template: Zygote, pid: int) -> None:
        self._template = template
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self._template.exit_status(self.pid, 0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self.returncode = self._template.exit_status(self.pid, timeout)
        if self.returncode is None:
            raise subprocess.TimeoutExpired(f"instance {self.pid}", timeout or 0)
        return self.returncode


class Zygote:
    """The template process, its control socket and what it reported (started pids, exit statuses)."""

    def __init__(self, modules: list[str], environment: dict[str, str]) -> None:
        ours, theirs = socket.socketpair()
        env = {k: v for k, v in environment.items() if k != "PYTHONPATH"}
        env["TODO_LOCAL_SDK_SERVICES"] = ",".join(sdk_services(environment))
        try:
            self.process = subprocess.Popen(
                [sys.executable, str(WORKER), "--zygote", str(theirs.fileno()), *modules],
                pass_fds=(theirs.fileno(),),
                env=env,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        finally:
            theirs.close()
        self._control = ours
        self._send_lock = threading.Lock()
        self._state = threading.Condition()
        self._ready = False
        self._closed = False
        self._started: list[int] = []
        self._ended: dict[int, int] = {}
        self._preloaded: set[str] = set(modules)
        threading.Thread(target=self._read, name="instance-template", daemon=True).start()

    def _read(self) -> None:
        try:
            reader = worker.ControlReader(self._control)
            while (received := reader.read()) is not None:
                payload, _fds = received
                with self._state:
                    kind, body = payload[:1], payload[1:]
                    if kind == worker.TEMPLATE_READY:
                        self._ready = True
                    elif kind == worker.STARTED:
                        self._started.append(int(body))
                    elif kind == worker.ENDED:
                        pid, status = json.loads(body)
                        self._ended[int(pid)] = int(status)
                    self._state.notify_all()
        except OSError:
            pass
        with self._state:
            self._closed = True
            self._state.notify_all()

    def fork(
        self, request_read: int, response_write: int, argv: list[str], env: dict[str, str], cwd: Path
    ) -> ForkedProcess:
        """A new instance: `worker.main` with these pipes and arguments, in this environment and folder."""
        payload = worker.FORK + json.dumps({"argv": argv, "env": env, "cwd": str(cwd)}).encode()
        with self._send_lock:
            with self._state:
                if not self._state.wait_for(lambda: self._ready or self._closed, READY_TIMEOUT_S) or self._closed:
                    raise OSError("the instance template is not running")
            socket.send_fds(self._control, [worker.HEADER.pack(len(payload)) + payload], [request_read, response_write])
            with self._state:
                if (
                    not self._state.wait_for(lambda: self._started or self._closed, READY_TIMEOUT_S)
                    or not self._started
                ):
                    raise OSError("the instance template did not start an instance")
                pid = self._started.pop(0)
        return ForkedProcess(self, pid)

    def preload(self, modules: list[str]) -> None:
        """Have the template import these modules (what an instance imported at init, of the runtime)
        before it forks the next instance; those it has already are not sent again."""
        new = [name for name in modules if name not in self._preloaded]
        if not new:
            return
        self._preloaded.update(new)
        payload = worker.PRELOAD + json.dumps(new).encode()
        with self._send_lock, suppress(OSError):
            self._control.sendall(worker.HEADER.pack(len(payload)) + payload)

    def exit_status(self, pid: int, timeout: float | None) -> int | None:
        """The instance's exit status once it ended (forgotten once read), else None after `timeout`."""
        with self._state:
            self._state.wait_for(lambda: pid in self._ended or self._closed, timeout)
            if pid in self._ended:
                return self._ended.pop(pid)
            if self._closed:  # the template is gone: its instances end with it
                return -9
            return None

    @property
    def alive(self) -> bool:
        return not self._closed and self.process.poll() is None

    def close(self) -> None:
        with suppress(OSError):
            self._control.close()
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, 9)
        with suppress(subprocess.TimeoutExpired):
            self.process.wait(5)
