"""The supervisor that starts DynamoDB Local again whenever its process exits."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable

from devtools.emulator.dynamodb.process import DynamoDBLocal
from devtools.emulator.dynamodb.tables import ensure_tables


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
