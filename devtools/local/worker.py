"""One execution environment of one function: a process of its own, as a Lambda instance is.

    python worker.py <request fd> <response fd> <code folder> <handler> [<layer folder>...]

`devtools.local.instances` starts it with the function's environment. It imports the handler (the
init phase of a cold start) and answers `I` with the init time, then runs one invocation at a time:
a request frame in (`{"context": {...}, "event": ...}`), a response frame out, `R` and the result
as JSON, or `E` and `{"errorType", "errorMessage"}`. A frame is a 4-byte big-endian length, then
the payload. The handler's stdout and stderr are the server's.

It exits when the server's end of the request pipe closes (also on `kill -9` of the server), or,
in the middle of an invocation, within a second of the server's death (it watches its parent).

Standard library only, plus what the function imports: nothing of the project or SAM CLI is loaded
into the function's interpreter but the Lambda context (`context.py`, loaded from its file).
"""

from __future__ import annotations

import importlib.util
import json
import os
import struct
import sys
import threading
import time
import traceback
from pathlib import Path
from types import ModuleType
from typing import BinaryIO

HEADER = struct.Struct(">I")
READY, RESULT, ERROR = b"I", b"R", b"E"


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


def _watch_parent(parent: int) -> None:
    """Exit when the server is gone, even while a handler runs (its pipe is only read between calls)."""
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(1)


def _error(error_type: str, message: str) -> bytes:
    return ERROR + json.dumps({"errorType": error_type, "errorMessage": message}).encode("utf-8")


def main(argv: list[str]) -> int:
    requests, responses = int(argv[0]), os.fdopen(int(argv[1]), "wb")
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
        write_frame(responses, _error("Runtime.ImportModuleError", f"{type(error).__name__}: {error}"))
        return 1
    write_frame(responses, READY + json.dumps({"init_ms": (time.perf_counter() - started) * 1000}).encode())
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
            if str(error) == "Unauthorized":  # an authorizer's expected denial: one line is enough
                print(f"[{name}] {type(error).__name__}: {error}", file=sys.stderr, flush=True)
            else:
                traceback.print_exc(file=sys.stderr)
            write_frame(responses, _error(type(error).__name__, str(error)))
            continue
        try:  # Lambda serializes the result too: a result that is not JSON is an error
            payload = RESULT + json.dumps(result).encode("utf-8")
        except (TypeError, ValueError) as error:
            payload = _error("Runtime.MarshalError", f"Unable to marshal response: {error}")
        write_frame(responses, payload)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
