"""Runs a function's handler as the Lambda runtime would, from its CodeUri, with hot reload.

Two runners stand in for SAM CLI's Docker-based `LocalLambdaRunner` (written by hand: SAM CLI can
only run functions in Docker), with its `invoke` signature:

- `LambdaRunner` (`make start`): an execution environment per instance, as Lambda has: each
  instance is a worker process of its own (`devtools.emulator.instances`), with the template's
  Timeout, MemorySize and concurrency limits;
- `InProcessLambdaRunner` (`make invoke`, and tests that reach into a function's modules): the
  handlers imported into this process, one request at a time per function.

Both reload the code when a file under a CodeUri or a layer changes. Each has one `run`, JSON in
and JSON out as Lambda's Invoke API, which `invoke` (SAM CLI's runner signature) calls.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import threading
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from samcli.lib.providers.provider import Function
from samcli.lib.utils.stream_writer import StreamWriter
from samcli.local.lambdafn.exceptions import FunctionNotFound

from devtools.emulator.context import LambdaContext
from devtools.emulator.environment import function_variables
from devtools.emulator.instances import (
    DEFAULT_CONCURRENCY,
    MEMORY_WATCH,
    PROC_MEMORY,
    FunctionError,
    Observer,
    Pool,
    Spec,
    Throttled,
)
from devtools.emulator.secrets import local_secrets
from devtools.emulator.template import LocalServerError, LocalTemplate
from devtools.emulator.zygote import Zygote, enabled, preloaded_modules
from devtools.loader import load_module

WATCHED_SUFFIXES = (".py", ".json")
# Seconds an instance may stay idle before it is stopped (Lambda reclaims idle environments after
# some minutes too); TODO_LOCAL_IDLE_SECONDS overrides it.
IDLE_SECONDS = 300.0
MODULE_PREFIX = "functions_"

__all__ = ["FunctionError", "InProcessLambdaRunner", "LambdaRunner", "Throttled"]


class CodeWatcher:
    """Detects a change (edit, new or deleted file) under the watched folders by mtime and size."""

    def __init__(self, folders: Iterable[Path]) -> None:
        self.folders = sorted({Path(f).resolve() for f in folders})
        self._stamp = self._scan()

    def _scan(self) -> frozenset[tuple[str, int, int]]:
        # Every invocation scans (an edit shows on the very next request), so this is on the hot
        # path: os.walk and os.stat cost less than half of Path.rglob and Path.stat.
        stamp = set()
        for folder in self.folders:
            for root, dirs, files in os.walk(folder):
                dirs[:] = [d for d in dirs if d != "__pycache__"]
                for name in files:
                    if name.endswith(WATCHED_SUFFIXES):
                        path = os.path.join(root, name)
                        try:
                            stat = os.stat(path)
                        except FileNotFoundError:
                            continue
                        stamp.add((path, stat.st_mtime_ns, stat.st_size))
        return frozenset(stamp)

    def changed(self) -> bool:
        stamp = self._scan()
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        return True


class InProcessLambdaRunner:
    """Stands in for `samcli.commands.local.lib.local_lambda.LocalLambdaRunner` (written by hand:
    SAM CLI can only run functions in Docker). Same `invoke` signature as the original: the event
    comes in as a JSON string and the handler's result goes out, as JSON, to `stdout` (`run`).

    Like one Lambda instance per function, a function serves one request at a time.
    """

    def __init__(self, template: LocalTemplate, hot_reload: bool = True) -> None:
        self.template = template
        self.hot_reload = hot_reload
        self._locks = {f.name: threading.Lock() for f in template.all_functions()}
        self._reload_lock = threading.Lock()
        self._generation = 0
        self._handlers: dict[str, tuple[int, Callable[[dict[str, Any], Any], Any]]] = {}
        self.layer_dirs = self._layer_dirs()
        self.watcher = CodeWatcher([*self.code_dirs(), *self.layer_dirs])

    def close(self) -> None:
        """Nothing to stop in process (`LambdaRunner` stops its instances)."""

    def code_dirs(self) -> list[Path]:
        return [Path(f.codeuri) for f in self.template.all_functions() if f.codeuri]

    def _layer_dirs(self) -> list[Path]:
        dirs = []
        for function in self.template.all_functions():
            for layer in function.layers:
                if not layer.codeuri:
                    raise LocalServerError(f"{function.name}: layer {layer.name} has no local ContentUri")
                dirs.append(Path(layer.codeuri).resolve())
        return sorted(set(dirs))

    def layer_packages(self) -> set[str]:
        """Top-level module names that the layers provide (purged from sys.modules on reload)."""
        names = set()
        for folder in self.layer_dirs:
            for child in folder.iterdir():
                if child.is_dir() and (child / "__init__.py").exists():
                    names.add(child.name)
                elif child.suffix == ".py":
                    names.add(child.stem)
        return names

    # The LocalLambdaRunner interface used by LocalApigwService.
    def is_debugging(self) -> bool:
        return False

    def get_function(self, function_identifier: str, tenant_id: str | None = None) -> Function:
        function = self.template.functions.get(function_identifier)
        if function is None:
            raise FunctionNotFound(f"Unable to find a Function with name '{function_identifier}'")
        return function

    def invoke(
        self,
        function_identifier: str,
        event: str,
        tenant_id: str | None = None,
        stdout: StreamWriter | None = None,
        stderr: StreamWriter | None = None,
        **_ignored: Any,
    ) -> None:
        result = self.run(function_identifier, event)
        if stdout is not None:
            stdout.write_str(result)

    def run(self, function_identifier: str, event: str) -> str:
        """Invoke a function with an event, JSON in and JSON out as Lambda's Invoke: its result, or
        FunctionError (an exception, or a result that is not JSON: `Runtime.MarshalError`)."""
        function = self.get_function(function_identifier)
        with self._locks[function.name]:
            handler = self.handler(function)
            context = LambdaContext(function.name, int(function.memory or 128), int(function.timeout or 3))
            try:
                result = handler(json.loads(event), context)
            except Exception as error:
                # The Lambda runtime logs the error and reports errorType/errorMessage to the caller.
                if str(error) == "Unauthorized":  # an authorizer's expected denial: one line is enough
                    print(f"[{function.name}] {type(error).__name__}: {error}", file=sys.stderr, flush=True)
                else:
                    traceback.print_exc(file=sys.stderr)
                raise FunctionError(function.name, type(error).__name__, str(error)) from error
        try:  # Lambda serializes the result too, as the instances' worker does
            return json.dumps(result)
        except (TypeError, ValueError) as error:
            raise FunctionError(
                function.name, "Runtime.MarshalError", f"Unable to marshal response: {error}"
            ) from error

    def handler(self, function: Function) -> Callable[[dict[str, Any], Any], Any]:
        self.reload_if_changed()
        cached = self._handlers.get(function.name)
        if cached is not None and cached[0] == self._generation:
            return cached[1]
        for folder in self.layer_dirs:
            if str(folder) not in sys.path:
                sys.path.insert(0, str(folder))
        if not function.codeuri or not function.handler:
            raise LocalServerError(f"{function.name}: only zip functions with CodeUri and Handler run locally")
        module = load_module(Path(function.codeuri), function.handler, f"{MODULE_PREFIX}{function.name}", fresh=True)
        entry = getattr(module, function.handler.rsplit(".", 1)[1])
        self._handlers[function.name] = (self._generation, entry)
        return entry  # type: ignore[no-any-return]

    def reload_if_changed(self) -> None:
        if not self.hot_reload:
            return
        with self._reload_lock:
            if self.watcher.changed():
                purge_modules(self.layer_packages())
                importlib.invalidate_caches()
                self._generation += 1
                print("[local] code changed: functions reload on their next request", file=sys.stderr, flush=True)


class LambdaRunner(InProcessLambdaRunner):
    """The functions of a template, each instance in a worker process of its own (see the module's
    docstring). Use it as a context manager, or call `close()`, to stop every instance."""

    def __init__(self, template: LocalTemplate, hot_reload: bool = True) -> None:
        super().__init__(template, hot_reload)
        self._pools: dict[str, Pool] = {}
        self._pools_lock = threading.Lock()
        self._local = threading.local()
        tables, secrets = template.table_names(), local_secrets(template)
        self._variables = {f.name: function_variables(f, tables, secrets) for f in template.all_functions()}
        self._environment = dict(os.environ)  # as set up for the functions (`apply_environment`)
        self._idle_seconds = float(self._environment.get("TODO_LOCAL_IDLE_SECONDS") or IDLE_SECONDS)
        self._closing = threading.Event()
        threading.Thread(target=self._reclaim_idle, name="idle-instances", daemon=True).start()
        # The template of new instances, started now so that it imports while the server starts.
        self._template = Zygote(self._preloaded(), self._environment) if enabled(self._environment) else None
        self.observer: Observer | None = None  # each pool's (the local console)
        print(f"[local] {MEMORY_WATCH[PROC_MEMORY]}", file=sys.stderr, flush=True)

    def _reclaim_idle(self) -> None:
        """Every few seconds, stop the instances idle for TODO_LOCAL_IDLE_SECONDS."""
        while not self._closing.wait(min(10.0, max(self._idle_seconds / 4, 0.05))):
            with self._pools_lock:
                pools = list(self._pools.values())
            for pool in pools:
                pool.reclaim(self._idle_seconds)

    def _preloaded(self) -> list[str]:
        own = set(self.layer_packages())
        for folder in self.code_dirs():
            own |= {
                child.stem for child in folder.iterdir() if child.suffix == ".py" or (child / "__init__.py").exists()
            }
        return preloaded_modules([folder / "requirements.txt" for folder in self.layer_dirs], own)

    def __enter__(self) -> LambdaRunner:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._closing.set()
        with self._pools_lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()
        if self._template is not None:
            self._template.close()

    def run(self, function_identifier: str, event: str) -> str:
        """Invoke a function with an event (JSON) in one of its instances; its result (JSON), or FunctionError."""
        function = self.get_function(function_identifier)
        self.reload_if_changed()
        pool = self.pool(function)
        result, init_ms = pool.invoke(event, lambda: self._generation)
        if init_ms is not None:
            self.cold_starts().append((function.name, init_ms))
        return result

    def cold_starts(self) -> list[tuple[str, float]]:
        """This thread's cold starts (function, init ms) since the last `take_cold_starts()`."""
        cold: list[tuple[str, float]] | None = getattr(self._local, "cold", None)
        if cold is None:
            cold = self._local.cold = []
        return cold

    def take_cold_starts(self) -> list[tuple[str, float]]:
        cold = self.cold_starts()
        self._local.cold = []
        return cold

    def pool(self, function: Function) -> Pool:
        with self._pools_lock:
            pool = self._pools.get(function.name)
            if pool is None:
                pool = self._pools[function.name] = Pool(self._spec(function), self._template)
                pool.observer = self.observer
            return pool

    def _spec(self, function: Function) -> Spec:
        if not function.codeuri or not function.handler:
            raise LocalServerError(f"{function.name}: only zip functions with CodeUri and Handler run locally")
        properties = self.template.resources.get(function.name, {}).get("Properties", {})
        reserved = properties.get("ReservedConcurrentExecutions")
        default = int(self._environment.get("TODO_LOCAL_CONCURRENCY", DEFAULT_CONCURRENCY))
        # Each function sees its own variables, not those of the others (this process holds them all);
        # a value this process set instead of the template's (the local endpoints) stays.
        declared = {name: value for variables in self._variables.values() for name, value in variables.items()}
        environment = {k: v for k, v in self._environment.items() if declared.get(k) != v}
        for name, value in self._variables[function.name].items():
            environment.setdefault(name, value)
        return Spec(
            name=function.name,
            code_dir=Path(function.codeuri).resolve(),
            handler=function.handler,
            layers=tuple(Path(str(layer.codeuri)).resolve() for layer in function.layers),
            memory_mb=int(function.memory or 128),
            timeout_s=float(function.timeout or 3),
            environment=environment,
            local_limit=default,
            reserved=int(reserved) if isinstance(reserved, int) else None,
        )

    def reload_if_changed(self) -> None:
        if not self.hot_reload:
            return
        with self._reload_lock:
            if not self.watcher.changed():
                return
            self._generation += 1
        with self._pools_lock:
            pools = list(self._pools.values())
        for pool in pools:
            pool.retire_idle()
        print("[local] code changed: new instances serve the next requests", file=sys.stderr, flush=True)


def purge_modules(packages: Iterable[str]) -> None:
    """Forget the functions' modules and the layers' packages, so the next import reads the files again."""
    prefixes = tuple(packages)
    for name in list(sys.modules):
        if name.startswith(MODULE_PREFIX) or name in prefixes or name.startswith(tuple(p + "." for p in prefixes)):
            del sys.modules[name]
