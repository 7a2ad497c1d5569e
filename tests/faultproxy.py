"""A TCP proxy between the functions and DynamoDB Local that breaks the network on demand.

It frames HTTP/1.1 messages by `Content-Length` (botocore and DynamoDB always send one), so it
acts per request, on connections botocore keeps alive:

| mode | what the function's SDK sees | did the request reach DynamoDB? |
|---|---|---|
| `pass` | the answer | yes |
| `reset` | the connection reset as the request is sent | no |
| `hang` | no answer at all (its read timeout fires) | no |
| `slow` | the answer, `delay` seconds late | yes |
| `lose_answer` | the connection reset after DynamoDB answered | yes (the write landed) |

`faults` limits how many requests the mode applies to (None: all); later requests pass.
"""

import contextlib
import socket
import struct
import threading
import time
from dataclasses import dataclass, field


def _read_message(sock: socket.socket) -> bytes | None:
    """One HTTP/1.1 message (headers and a Content-Length body), or None at end of stream."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        body += chunk
    return head + b"\r\n\r\n" + body


def _reset(sock: socket.socket) -> None:
    """Close with a TCP RST (SO_LINGER 0), as a crashed peer or a middlebox does."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


@dataclass
class FaultProxy:
    upstream_port: int
    mode: str = "pass"
    faults: int | None = None
    delay: float = 0.0
    requests: int = 0  # every request the proxy received
    forwarded: int = 0  # the requests that reached DynamoDB
    _server: socket.socket = field(init=False, repr=False)
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __enter__(self) -> "FaultProxy":
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.2)
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._server.close()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.getsockname()[1]}"

    def set(self, mode: str, faults: int | None = None, delay: float = 0.0) -> None:
        with self._lock:
            self.mode, self.faults, self.delay = mode, faults, delay

    def _fault(self) -> str:
        """The mode for the request just received (counting it against `faults`)."""
        with self._lock:
            self.requests += 1
            if self.mode == "pass" or self.faults == 0:
                return "pass"
            if self.faults is not None:
                self.faults -= 1
            return self.mode

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
        try:
            while not self._stop.is_set():
                request = _read_message(client)
                if request is None:
                    return
                mode = self._fault()
                if mode == "reset":
                    _reset(client)
                    return
                if mode == "hang":
                    self._stop.wait(30)  # never answer; the SDK's read timeout gives up first
                    return
                upstream.sendall(request)
                with self._lock:
                    self.forwarded += 1
                answer = _read_message(upstream)
                if answer is None:
                    return
                if mode == "lose_answer":
                    _reset(client)
                    return
                if mode == "slow":
                    time.sleep(self.delay)
                client.sendall(answer)
        except OSError:
            return
        finally:
            client.close()
            upstream.close()
