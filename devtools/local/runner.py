"""Runs a function's handler as the Lambda runtime would, from its CodeUri, with hot reload.

`InProcessLambdaRunner` stands in for SAM CLI's Docker-based `LocalLambdaRunner` (written by hand:
SAM CLI can only run functions in Docker). It imports each handler from its CodeUri (layers on
`sys.path`), one request at a time per function, and reloads the code when a file under a CodeUri
or a layer changes.
"""

from __future__ import annotations

import importlib
import json
import sys
import threading
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from samcli.lib.providers.provider import Function
from samcli.lib.utils.stream_writer import StreamWriter
from samcli.local.lambdafn.exceptions import FunctionNotFound

from devtools.loader import load_module
from devtools.local.context import LambdaContext
from devtools.local.template import LocalServerError, LocalTemplate

WATCHED_SUFFIXES = (".py", ".json")
MODULE_PREFIX = "functions_"


class FunctionError(Exception):
    """A function raised: what the Lambda runtime reports as errorType and errorMessage."""

    def __init__(self, function: str, error: BaseException) -> None:
        super().__init__(str(error))
        self.function = function
        self.error_type = type(error).__name__
        self.message = str(error)


class CodeWatcher:
    """Detects a change (edit, new or deleted file) under the watched folders by mtime and size."""

    def __init__(self, folders: Iterable[Path]) -> None:
        self.folders = sorted({Path(f).resolve() for f in folders})
        self._stamp = self._scan()

    def _scan(self) -> frozenset[tuple[str, int, int]]:
        stamp = set()
        for folder in self.folders:
            for path in folder.rglob("*"):
                if path.suffix in WATCHED_SUFFIXES and "__pycache__" not in path.parts:
                    try:
                        stat = path.stat()
                    except FileNotFoundError:
                        continue
                    stamp.add((str(path), stat.st_mtime_ns, stat.st_size))
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
    comes in as a JSON string and the handler's result goes out, as JSON, to `stdout`.

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
        result = self.run(function_identifier, json.loads(event))
        if stdout is not None:
            stdout.write_str(json.dumps(result))

    def run(self, function_identifier: str, event: Any) -> Any:
        """Invoke a function with an event (a dict); return its result or raise FunctionError."""
        function = self.get_function(function_identifier)
        with self._locks[function.name]:
            handler = self.handler(function)
            context = LambdaContext(function.name, int(function.memory or 128), int(function.timeout or 3))
            try:
                return handler(event, context)
            except Exception as error:
                # The Lambda runtime logs the error and reports errorType/errorMessage to the caller.
                if str(error) == "Unauthorized":  # an authorizer's expected denial: one line is enough
                    print(f"[{function.name}] {type(error).__name__}: {error}", file=sys.stderr, flush=True)
                else:
                    traceback.print_exc(file=sys.stderr)
                raise FunctionError(function.name, error) from error

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


def purge_modules(packages: Iterable[str]) -> None:
    """Forget the functions' modules and the layers' packages, so the next import reads the files again."""
    prefixes = tuple(packages)
    for name in list(sys.modules):
        if name.startswith(MODULE_PREFIX) or name in prefixes or name.startswith(tuple(p + "." for p in prefixes)):
            del sys.modules[name]
