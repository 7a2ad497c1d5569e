"""One execution environment of one function: a process of its own, as a Lambda instance is.

    python worker.py <request fd> <response fd> <code folder> <handler> [<layer folder>...]

`devtools.emulator.instances` starts it with the function's environment. It imports the handler (the
init phase of a cold start) and answers `I` with the init time, then runs one invocation at a time:
a request frame in (`{"context": {...}, "event": ...}`), a response frame out, `R` and the result
as JSON, or `E` and `{"errorType", "errorMessage"}`, each kind followed by 8 bytes (big-endian) of
its peak resident memory in kB (`peak_kb`). A frame is a 4-byte big-endian length, then the
payload. The handler's stdout and stderr are the server's.

It exits when the server's end of the request pipe closes (also on `kill -9` of the server), or,
in the middle of an invocation, within a second of its parent's death (it watches its parent).

    python worker.py --zygote <control socket fd> [<module>...]

The template of new instances (`devtools.emulator.zygote` starts it): it imports the given modules (the
runtime's heavy ones: the AWS SDK, the layers' dependencies, never a function's or a layer's own
code) once, then forks a new instance for each request on its control socket (the instance's
environment, working folder, pipes and `main`'s arguments), so that an instance starts without
importing them again. The forked instance is the same process an instance started afresh would be,
but for those modules already in `sys.modules`: it sets up its own environment, session and
signals, then runs `main`. The template reports each instance's pid, and its exit status once it
ends; it exits when the server's end of the control socket closes, and its instances then within a
second (their parent is gone).

Standard library only, plus what the function imports: nothing of the project or SAM CLI is loaded
into the function's interpreter but the Lambda context (`context.py`, loaded from its file).
"""

from __future__ import annotations

import gc
import importlib
import importlib.util
import json
import os
import resource
import select
import signal
import socket
import struct
import sys
import threading
import time
import traceback
from contextlib import suppress
from pathlib import Path
from types import ModuleType
from typing import BinaryIO

HEADER = struct.Struct(">I")
PEAK = struct.Struct(">Q")  # after a response's kind: the instance's peak resident memory (kB)
READY, RESULT, ERROR = b"I", b"R", b"E"
MODULES = b"M"  # after the first invocation: the runtime's modules loaded by then (see READY)
# The template's control frames: it is ready, an instance started (its pid), an instance ended
# (its pid and exit status, negative for a signal, as subprocess reports it); and the server's:
# fork an instance, import these modules ahead.
TEMPLATE_READY, STARTED, ENDED = b"Z", b"P", b"X"
FORK, PRELOAD = b"F", b"L"
MAX_CONTROL_FRAME = 1 << 20


def write_frame(out: BinaryIO, payload: bytes) -> None:
    out.write(HEADER.pack(len(payload)) + payload)
    out.flush()


def write_frame_fd(fd: int, payload: bytes) -> None:
    """`write_frame` on a raw file descriptor (the server's side of the pipe)."""
    data = memoryview(HEADER.pack(len(payload)) + payload)
    while data:
        data = data[os.write(fd, data) :]


def read_exactly(fd: int, size: int) -> bytes | None:
    """`size` bytes from the file descriptor, or None at the end of the stream."""
    chunks, left = [], size
    while left:
        chunk = os.read(fd, left)
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int) -> bytes | None:
    """The next frame's payload, or None at the end of the stream."""
    header = read_exactly(fd, HEADER.size)
    if header is None:
        return None
    return read_exactly(fd, HEADER.unpack(header)[0])


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def runtime_modules(own: list[Path]) -> list[str]:
    """The modules loaded now that are the runtime's (the standard library, installed packages), not
    of the function's or a layer's code: the template of new instances may import them ahead."""
    folders = tuple(str(folder.resolve()) + os.sep for folder in own)
    names = []
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if name == "__main__" or not isinstance(path, str) or os.path.abspath(path).startswith(folders):
            continue
        names.append(name)
    return sorted(names)


def _report_modules(responses: BinaryIO, first: bool, own: list[Path]) -> bool:
    """After the first invocation, the runtime's modules it loaded too (its clients' and the like)."""
    if first:
        write_frame(responses, MODULES + json.dumps(runtime_modules(own)).encode())
    return False


def _watch_parent(parent: int) -> None:
    """Exit when the server is gone, even while a handler runs (its pipe is only read between calls)."""
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(1)


def peak_kb() -> int:
    """This process's peak resident memory in kB, from getrusage (which gives kB on Linux, bytes on
    macOS): portable, unlike /proc. A process started by another (fork, exec) may inherit the other's
    peak (Linux keeps it across exec); `main` reports only a peak above the one it started with."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak


def _error(error_type: str, message: str, peak: int = 0) -> bytes:
    return ERROR + PEAK.pack(peak) + json.dumps({"errorType": error_type, "errorMessage": message}).encode("utf-8")


def main(argv: list[str]) -> int:
    requests, responses = int(argv[0]), os.fdopen(int(argv[1]), "wb")
    inherited = peak_kb()

    def grown() -> int:  # the peak once above what this process started with (0 until then)
        peak = peak_kb()
        return peak if peak > inherited else 0

    code_dir, handler_name, layers = Path(argv[2]), argv[3], argv[4:]
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    # As on Lambda: the code folder, then the layers, then the runtime's own packages.
    sys.path[:1] = [str(code_dir), *layers]
    context_module = _load(Path(__file__).with_name("context.py"), "_lambda_context")
    name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "function")
    module_name, _, attribute = handler_name.rpartition(".")
    started = time.perf_counter()
    try:
        module = _load(code_dir / (module_name.replace(".", "/") + ".py"), f"functions_{name}")
        handler = getattr(module, attribute)
    except Exception as error:  # Lambda's Runtime.ImportModuleError: the instance never serves
        traceback.print_exc(file=sys.stderr)
        write_frame(responses, _error("Runtime.ImportModuleError", f"{type(error).__name__}: {error}", grown()))
        return 1
    init_ms = (time.perf_counter() - started) * 1000
    own = [code_dir, *map(Path, layers), Path(__file__).parent]
    ready = {"init_ms": init_ms, "modules": runtime_modules(own), "peak_kb": grown()}
    write_frame(responses, READY + json.dumps(ready).encode())
    first = True
    while (frame := read_frame(requests)) is not None:
        request = json.loads(frame)
        spec = request["context"]
        context = context_module.LambdaContext(
            function_name=name,
            memory_limit_in_mb=spec["memory"],
            timeout_seconds=spec["timeout"],
            aws_request_id=spec["request_id"],
        )
        try:
            result = handler(request["event"], context)
        except Exception as error:
            first = _report_modules(responses, first, own)
            if str(error) == "Unauthorized":  # an authorizer's expected denial: one line is enough
                print(f"[{name}] {type(error).__name__}: {error}", file=sys.stderr, flush=True)
            else:
                traceback.print_exc(file=sys.stderr)
            write_frame(responses, _error(type(error).__name__, str(error), grown()))
            continue
        try:  # Lambda serializes the result too: a result that is not JSON is an error
            payload = RESULT + PEAK.pack(grown()) + json.dumps(result).encode("utf-8")
        except (TypeError, ValueError) as error:
            payload = _error("Runtime.MarshalError", f"Unable to marshal response: {error}", grown())
        first = _report_modules(responses, first, own)
        write_frame(responses, payload)
    return 0


class ControlReader:
    """The frames of a control socket, in order, each FORK frame with the two descriptors sent with
    it (descriptors arrive with the bytes they were sent with: kept in order, one pair per FORK)."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buffer = b""
        self._fds: list[int] = []

    def buffered(self) -> bool:
        """A whole frame is already read (the socket need not be readable for the next `read`)."""
        if len(self._buffer) < HEADER.size:
            return False
        size: int = HEADER.unpack(self._buffer[: HEADER.size])[0]
        return len(self._buffer) >= HEADER.size + size

    def read(self) -> tuple[bytes, list[int]] | None:
        """The next frame and its descriptors; None at the end of the socket."""
        while True:
            if len(self._buffer) >= HEADER.size:
                size = HEADER.unpack(self._buffer[: HEADER.size])[0]
                if len(self._buffer) >= HEADER.size + size:
                    payload = self._buffer[HEADER.size : HEADER.size + size]
                    self._buffer = self._buffer[HEADER.size + size :]
                    fds = []
                    if payload[:1] == FORK:
                        fds, self._fds = self._fds[:2], self._fds[2:]
                    return payload, fds
            data, fds, _flags, _address = socket.recv_fds(self._sock, MAX_CONTROL_FRAME, 2)
            self._fds += fds
            if not data:
                return None
            self._buffer += data


def _status(wait_status: int) -> int:
    return -os.WTERMSIG(wait_status) if os.WIFSIGNALED(wait_status) else os.WEXITSTATUS(wait_status)


def _reap(control: socket.socket) -> None:
    while True:
        try:
            pid, wait_status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        control.sendall(_frame(ENDED + json.dumps([pid, _status(wait_status)]).encode()))


def _frame(payload: bytes) -> bytes:
    return HEADER.pack(len(payload)) + payload


def _instance(control: socket.socket, wakeup: tuple[int, int], request: dict[str, object], fds: list[int]) -> None:
    """In the forked child: become the instance the request describes; never returns."""
    code = 1
    try:
        os.setsid()  # a session of its own, as a started instance has (the server kills its group)
        control.close()
        signal.set_wakeup_fd(-1)
        for fd in wakeup:
            os.close(fd)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        environment = request["env"]
        assert isinstance(environment, dict)
        os.environ.clear()
        os.environ.update(environment)
        os.chdir(str(request["cwd"]))
        gc.unfreeze()
        arguments = request["argv"]
        assert isinstance(arguments, list)
        code = main([str(fds[0]), str(fds[1]), *map(str, arguments)])
    except BaseException:  # whatever happens, the child must not return into the template's loop
        traceback.print_exc(file=sys.stderr)
    finally:
        for stream in (sys.stdout, sys.stderr):
            with suppress(Exception):  # a closed stream: nothing more to say
                stream.flush()
        os._exit(code)


def _preload(names: list[str]) -> None:
    for name in names:
        if name in sys.modules:
            continue
        try:
            importlib.import_module(name)
        except Exception:  # noqa: S112  # an instance imports it itself, or fails as it would
            continue
    gc.collect()
    gc.freeze()  # what is loaded now stays out of the collector's way: its pages stay shared


def _warm_sdk(services: list[str]) -> None:
    """boto3's default session with the service models of `services` loaded (parsed JSON, nothing
    else: no client, no credentials, no region resolved), so that an instance's first client does
    not parse them again. boto3 creates this session on first use anyway; here it exists before."""
    if not services or "boto3" not in sys.modules:
        return
    import boto3

    try:
        boto3.setup_default_session()
        loader = boto3.DEFAULT_SESSION._session.get_component("data_loader")  # type: ignore[union-attr]
        for service in services:
            for kind in ("service-2", "endpoint-rule-set-1", "paginators-1", "waiters-2"):
                with suppress(Exception):  # a model a service does not have
                    loader.load_service_model(service, kind, api_version=None)  # as a client asks
        for name in ("endpoints", "partitions", "_retry", "sdk-default-configuration"):
            with suppress(Exception):
                loader.load_data(name)
    except Exception as error:  # an instance loads them itself
        print(f"[local] SDK models not preloaded: {error}", file=sys.stderr, flush=True)
        boto3.DEFAULT_SESSION = None


def zygote(argv: list[str]) -> int:
    """The template of new instances (see the module's docstring)."""
    control = socket.socket(fileno=int(argv[0]))
    reader = ControlReader(control)
    _preload(argv[1:])
    _warm_sdk([name for name in os.environ.get("TODO_LOCAL_SDK_SERVICES", "").split(",") if name])
    gc.collect()
    gc.freeze()
    wakeup = os.pipe()
    for fd in wakeup:
        os.set_blocking(fd, False)
    signal.set_wakeup_fd(wakeup[1])
    signal.signal(signal.SIGCHLD, lambda _signum, _frame: None)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the server, which stops the template
    control.sendall(_frame(TEMPLATE_READY))
    while True:
        ready = [control.fileno()] if reader.buffered() else select.select([control.fileno(), wakeup[0]], [], [])[0]
        if wakeup[0] in ready:
            while True:
                try:
                    if not os.read(wakeup[0], 512):
                        break
                except BlockingIOError:
                    break
            _reap(control)
        if control.fileno() not in ready:
            continue
        received = reader.read()
        if received is None:  # the server is gone
            return 0
        payload, fds = received
        if payload[:1] == PRELOAD:  # modules an instance imported at init: the next ones have them
            _preload(json.loads(payload[1:]))
            continue
        request = json.loads(payload[1:])
        pid = os.fork()
        if pid == 0:
            _instance(control, wakeup, request, fds)
        for fd in fds:
            os.close(fd)
        control.sendall(_frame(STARTED + str(pid).encode()))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--zygote"]:
        sys.exit(zygote(sys.argv[2:]))
    sys.exit(main(sys.argv[1:]))
