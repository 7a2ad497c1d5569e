"""Execution environments: each instance of a function is a worker process of its own (`worker.py`).

As on Lambda, an instance starts on first use (its cold start: the handler's import), is reused
while warm, and a new one starts for a request that arrives while every instance of the function
is busy. Two limits, of different kinds:

- the template's `ReservedConcurrentExecutions`, the function's own limit on the stage: an
  invocation beyond it (counting those running and those waiting) is throttled at once, as Lambda
  throttles a synchronous invocation (`Throttled`);
- TODO_LOCAL_CONCURRENCY (default 10), a limit of this machine, not of the stage (where a function
  without reserved concurrency scales to the account's limit): at most that many instances of a
  function run at once, and a request beyond it waits, first come first served, for one of them to
  be free. The client sees latency, never an error the stage would not give.

Lambda's limits, each ending the instance (the next request gets a new one):
- `Timeout`: an invocation still running at its deadline is stopped (`Sandbox.Timedout`);
- an instance idle for TODO_LOCAL_IDLE_SECONDS (default 300) is stopped, as Lambda reclaims idle
  execution environments, so memory returns near its idle figure after a burst;
- `MemorySize`: the instance's resident memory is watched (read from /proc while an invocation
  runs, and its peak, VmHWM, after each invocation and after init); over the limit the process is
  killed and the invocation fails as an out-of-memory error does on Lambda (`Runtime.OutOfMemory`).
  Where there is no /proc (macOS), the peak the instance reports with each response (getrusage)
  is checked after init and after each invocation, and nothing is read while one runs.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from devtools.emulator import worker
from devtools.emulator.zygote import ForkedProcess, Zygote

WORKER = Path(worker.__file__).resolve()
DEFAULT_CONCURRENCY = 10
# Lambda gives the init phase 10 s; here the machine may be busy starting several at once.
INIT_TIMEOUT_S = 60.0
WATCH_INTERVAL_S = 0.02  # how often a running invocation's memory is read
# Linux: memory read from /proc, also while an invocation runs; elsewhere (macOS): the peak the
# instance reports with each response only (`worker.peak_kb`).
PROC_MEMORY = os.path.isdir("/proc/self")
MEMORY_WATCH = {
    True: "MemorySize: each instance's memory is read from /proc while it runs and after each invocation",
    False: "MemorySize: no /proc here: each instance's peak memory is checked after init and after each "
    "invocation (getrusage), not while one runs",
}


class FunctionError(Exception):
    """An invocation failed: what Lambda reports as errorType and errorMessage.

    `status` is what API Gateway answers for it on a Lambda proxy integration by default: 502 when
    the function ran and failed (an exception, a timeout, out of memory), 500 when Lambda refused
    the invocation (throttled: the INTEGRATION_FAILURE gateway response, which a template may
    give a status of its own)."""

    status = 502

    def __init__(self, function: str, error_type: str, message: str) -> None:
        super().__init__(message)
        self.function = function
        self.error_type = error_type
        self.message = message


class Throttled(FunctionError):
    """The function's reserved concurrency is reached: Lambda's 429 TooManyRequestsException,
    which API Gateway answers with its INTEGRATION_FAILURE gateway response (by default a 500)."""

    status = 500

    def __init__(self, function: str, limit: int) -> None:
        super().__init__(function, "TooManyRequestsException", f"Rate Exceeded. (concurrency limit {limit})")


# Told of each invocation once it ended: the function, its instance (None when throttled or its
# init failed), init ms on a cold start, its start after any init (perf_counter), its error if any.
Observer = Callable[["Spec", "Instance | None", "float | None", float, "FunctionError | None"], None]


@dataclass(frozen=True)
class Spec:
    """What an instance of a function needs to start."""

    name: str
    code_dir: Path
    handler: str
    layers: tuple[Path, ...]
    memory_mb: int
    timeout_s: float
    environment: dict[str, str]
    local_limit: int  # instances at once on this machine (TODO_LOCAL_CONCURRENCY); beyond: wait
    reserved: int | None = None  # the template's ReservedConcurrentExecutions; beyond: Throttled


def _memory_kb(pid: int, field: str) -> int:
    """`VmRSS` (resident now) or `VmHWM` (peak resident) of a process, in kB; 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(field.encode()):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _log(message: str) -> None:
    print(f"[local] {message}", file=sys.stderr, flush=True)


class Instance:
    """One worker process running one function, one invocation at a time: forked by the template of
    new instances when there is one (`devtools.emulator.zygote`), else a fresh interpreter."""

    def __init__(self, spec: Spec, generation: int, template: Zygote | None = None) -> None:
        self.spec = spec
        self.generation = generation
        request_read, request_write = os.pipe()
        response_read, response_write = os.pipe()
        env = {
            **spec.environment,
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(int(spec.timeout_s)),
            "LAMBDA_TASK_ROOT": str(spec.code_dir),
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("PYTHONPATH", None)  # the function sees its code folder, its layers and the runtime
        arguments = [str(spec.code_dir), spec.handler, *map(str, spec.layers)]
        self.process: subprocess.Popen[bytes] | ForkedProcess
        try:
            self.process = self._fork(template, request_read, response_write, arguments, env) or subprocess.Popen(
                [sys.executable, str(WORKER), str(request_read), str(response_write), *arguments],
                pass_fds=(request_read, response_write),
                cwd=spec.code_dir,
                env=env,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C in a terminal reaches the server, which stops the workers
            )
        finally:
            os.close(request_read)
            os.close(response_write)
        self.pid = self.process.pid
        self._requests = request_write
        self._responses = response_read
        self._poll = select.poll()
        self._poll.register(response_read, select.POLLIN | select.POLLHUP)
        self.stopped = False
        self.idle_since = time.monotonic()
        self.runtime_modules: list[str] = []  # what it imported of the runtime's modules
        self.learned = False  # runtime_modules changed (after the first invocation)
        self.peak_kb = 0  # after init and after each invocation (`_peak`)

    def _fork(
        self, template: Zygote | None, request_read: int, response_write: int, arguments: list[str], env: dict[str, str]
    ) -> ForkedProcess | None:
        if template is None or not template.alive:
            return None
        try:
            return template.fork(request_read, response_write, arguments, env, self.spec.code_dir)
        except OSError as error:
            _log(f"{self.spec.name}: no instance template ({error}): a fresh interpreter starts instead")
            return None

    def _over_memory(self, field: str) -> bool:
        return PROC_MEMORY and _memory_kb(self.pid, field) > self.spec.memory_mb * 1024

    def _peak(self, reported: int) -> int:
        """The peak resident memory (kB): VmHWM where /proc is, else what the instance reported."""
        return _memory_kb(self.pid, "VmHWM") if PROC_MEMORY else reported

    def _out_of_memory(self) -> FunctionError:
        self.stop(f"over its MemorySize of {self.spec.memory_mb} MB")
        return FunctionError(
            self.spec.name, "Runtime.OutOfMemory", "Runtime exited with error: signal: killed (out of memory)"
        )

    def _wait(self, deadline: float) -> bytes | None:
        """The next frame before `deadline` (None when the deadline passed), watching the memory meanwhile."""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            if self._poll.poll(min(left, WATCH_INTERVAL_S) * 1000):
                frame = worker.read_frame(self._responses)
                if frame is None:
                    raise self._exited()
                return frame
            if self._over_memory("VmRSS"):
                raise self._out_of_memory()

    def _exited(self) -> FunctionError:
        with suppress(subprocess.TimeoutExpired):
            self.process.wait(1)
        code = self.process.returncode
        self.stop(f"exited ({code})")
        reason = f"signal: {signal.Signals(-code).name}" if code is not None and code < 0 else f"exit status {code}"
        return FunctionError(self.spec.name, "Runtime.ExitError", f"Runtime exited with error: {reason}")

    def start(self) -> float:
        """Run the init phase (the handler's import); its duration in ms."""
        started = time.perf_counter()
        frame = self._wait(time.monotonic() + INIT_TIMEOUT_S)
        if frame is None:
            self.stop("init did not finish")
            raise FunctionError(self.spec.name, "Runtime.InitError", f"init did not finish in {INIT_TIMEOUT_S:.0f} s")
        if frame[:1] != worker.READY:
            self.stop("init failed")
            error = json.loads(frame[1 + worker.PEAK.size :])
            raise FunctionError(self.spec.name, error["errorType"], error["errorMessage"])
        ready = json.loads(frame[1:])
        self.runtime_modules = ready.get("modules", [])
        self.peak_kb = self._peak(ready.get("peak_kb", 0))
        if self.peak_kb > self.spec.memory_mb * 1024:
            raise self._out_of_memory()
        return (time.perf_counter() - started) * 1000

    def call(self, event: str) -> str:
        """Invoke the handler with `event` (JSON); its result (JSON), or FunctionError."""
        context = {"memory": self.spec.memory_mb, "timeout": int(self.spec.timeout_s), "request_id": str(uuid.uuid4())}
        request = f'{{"context":{json.dumps(context)},"event":{event}}}'.encode()
        try:
            worker.write_frame_fd(self._requests, request)
        except OSError as error:
            raise self._exited() from error
        deadline = time.monotonic() + self.spec.timeout_s
        frame = self._wait(deadline)
        if frame is not None and frame[:1] == worker.MODULES:  # after its first invocation
            self.runtime_modules = json.loads(frame[1:])
            self.learned = True
            frame = self._wait(deadline)
        if frame is None:
            self.stop(f"past its Timeout of {self.spec.timeout_s:g} s")
            raise FunctionError(
                self.spec.name, "Sandbox.Timedout", f"Task timed out after {self.spec.timeout_s:.2f} seconds"
            )
        # a peak between two readings, or a fast one
        self.peak_kb = self._peak(worker.PEAK.unpack_from(frame, 1)[0])
        if self.peak_kb > self.spec.memory_mb * 1024:
            raise self._out_of_memory()
        body = frame[1 + worker.PEAK.size :]
        if frame[:1] == worker.RESULT:
            return body.decode("utf-8")
        failure = json.loads(body)
        raise FunctionError(self.spec.name, str(failure.get("errorType")), str(failure.get("errorMessage")))

    @property
    def alive(self) -> bool:
        return not self.stopped and self.process.poll() is None

    def stop(self, reason: str | None = None) -> None:
        if self.stopped:
            return
        self.stopped = True
        if reason:
            _log(f"{self.spec.name}: instance pid {self.pid} stopped: {reason}")
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        for fd in (self._requests, self._responses):
            with suppress(OSError):
                os.close(fd)
        with suppress(subprocess.TimeoutExpired):
            self.process.wait(5)


class _Waiter:
    """A request waiting for an instance: `release` hands it one (or, if that one cannot serve, the
    right to start a new one: `instance` stays None)."""

    def __init__(self) -> None:
        self.ready = threading.Event()
        self.instance: Instance | None = None


class Pool:
    """The instances of one function: warm ones are reused, new ones start while all are busy, up to
    the local limit; beyond it a request waits in line (see the module's docstring)."""

    def __init__(self, spec: Spec, template: Zygote | None = None) -> None:
        self.spec = spec
        self._template = template
        self._idle: list[Instance] = []
        self._busy = 0  # instances serving (or starting for) a request
        self._waiting: deque[_Waiter] = deque()
        self._lock = threading.Lock()
        self._closed = False
        self.observer: Observer | None = None  # told of every invocation (the local console)

    def acquire(self, generation: int) -> tuple[Instance, float | None]:
        """A warm instance of this code generation, else a new one (and its init ms), else the first
        one another request releases; Throttled beyond the template's reserved concurrency."""
        stale: list[Instance] = []
        waiter = None
        try:
            with self._lock:
                while self._idle:
                    instance = self._idle.pop()  # the most recently used: the warmest
                    if instance.generation == generation and instance.alive:
                        self._busy += 1
                        return instance, None
                    stale.append(instance)
                reserved = self.spec.reserved
                if reserved is not None and self._busy + len(self._waiting) >= reserved:
                    raise Throttled(self.spec.name, reserved)
                if self._busy < self.spec.local_limit:
                    self._busy += 1
                else:
                    waiter = _Waiter()
                    self._waiting.append(waiter)
        finally:
            for instance in stale:
                instance.stop()
        if waiter is not None:
            waiter.ready.wait()  # the slot of a released instance is ours when this returns
            if waiter.instance is not None:
                return waiter.instance, None
        try:
            instance = Instance(self.spec, generation, self._template)
            init_ms = instance.start()
        except BaseException:
            self._free_slot()
            raise
        _log(f"{self.spec.name}: instance pid {instance.pid} started (init {init_ms:.0f} ms)")
        if self._template is not None:
            self._template.preload(instance.runtime_modules)
        return instance, init_ms

    def _free_slot(self) -> None:
        """An instance's slot is free: the first waiting request takes it (to start a new instance)."""
        with self._lock:
            if self._waiting:
                self._waiting.popleft().ready.set()
            else:
                self._busy -= 1

    def release(self, instance: Instance, generation: int) -> None:
        """The invocation ended: the instance goes to the first waiting request, else back to the idle ones."""
        reusable = instance.generation == generation and instance.alive
        with self._lock:
            if reusable and not self._closed:
                if self._waiting:
                    waiter = self._waiting.popleft()
                    waiter.instance = instance
                    waiter.ready.set()
                    return
                self._busy -= 1
                instance.idle_since = time.monotonic()
                self._idle.append(instance)
                return
        instance.stop()
        self._free_slot()

    def invoke(self, event: str, generation: Callable[[], int]) -> tuple[str, float | None]:
        """The result of `event` (JSON in, JSON out) and, on a cold start, the init ms."""
        started, instance, init_ms, error = time.perf_counter(), None, None, None
        try:
            instance, init_ms = self.acquire(generation())
            started = time.perf_counter()  # the invocation's duration, as Lambda's, leaves out its init
            try:
                return instance.call(event), init_ms
            finally:
                if instance.learned and self._template is not None:
                    instance.learned = False
                    self._template.preload(instance.runtime_modules)
                self.release(instance, generation())
        except FunctionError as failure:
            error = failure
            raise
        finally:
            if self.observer is not None:
                self.observer(self.spec, instance, init_ms, started, error)

    def reclaim(self, idle_seconds: float) -> int:
        """Stop the instances idle for `idle_seconds` or more, as Lambda reclaims idle environments;
        how many."""
        now = time.monotonic()
        with self._lock:
            old = [i for i in self._idle if now - i.idle_since >= idle_seconds]
            self._idle = [i for i in self._idle if now - i.idle_since < idle_seconds]
        for instance in old:
            instance.stop(f"idle for {idle_seconds:g} s")
        return len(old)

    def retire_idle(self) -> None:
        """Stop the idle instances (after a code change; busy ones stop when their invocation ends)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for instance in idle:
            instance.stop()

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self.retire_idle()
