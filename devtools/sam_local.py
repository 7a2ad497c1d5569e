"""`make sam-local-e2e`: the end-to-end suite through SAM CLI's own emulator, and every function on its event.

    python -m devtools.sam_local [--architecture x86_64] [--timeout 30] [-- pytest options]
    python -m devtools.sam_local deps [--port 8000] [--events-port 4010]   # make sam-local-deps

`deps` starts, in the foreground, what `env.json` points `sam local` at: DynamoDB Local on port 8000
(data in .local/sam-local-dynamodb, the template's tables, the keys of TODO_LOCAL_API_KEYS, default
`demo:local-dev-key`) and the PutEvents endpoint on port 4010, printing each event; Ctrl-C stops both.

Needs Docker (and the build in `.aws-sam/build`, which `make sam-local-e2e` makes first unless
SAM_LOCAL_BUILD=existing). It starts, each on a free port:

1. DynamoDB Local (a fresh data folder) with the template's tables, and the keys `demo:local-dev-key`
   (the key of `events/*.json` and the README) and one of a second tenant;
2. a local EventBridge PutEvents endpoint, listening on every interface so that the functions'
   containers reach it as `host.docker.internal`;
3. `sam local start-api --env-vars <env.json with those ports>` on the build, with the options of
   `SAM_LOCAL_OPTS` (e.g. `--skip-pull-image --add-host host.docker.internal:172.17.0.1`).

Then it runs `tests/e2e` against it with `TODO_API_EMULATOR=sam-cli` (SAM CLI's differences are
declared in tests/e2e/sam_cli.py), and `sam local invoke` of every function on its `events/` file,
checking each result: the authorizer names tenant demo, the API functions answer 200/201 for the
todo of the events, and the stream consumer turns `events/stream_batch.json` into three EventBridge
events and three entries of the tenant's activity feed. Everything it started is stopped at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests

from devtools.loader import ROOT, ensure_layer_on_path
from devtools.local import dynamodb
from devtools.local.bus import LocalEventBus

ensure_layer_on_path()

from todo_api.adapters.key_store import DynamoDBKeyStore  # noqa: E402
from todo_api.adapters.todo_store import DynamoDBTodoStore  # noqa: E402
from todo_api.domain.keys import key_id  # noqa: E402
from todo_api.domain.models import Todo  # noqa: E402

BUILT_TEMPLATE = ROOT / ".aws-sam" / "build" / "template.yaml"
SAM = ROOT / ".venv" / "bin" / "sam"
TENANT, KEY = "demo", "local-dev-key"  # what events/*.json and the README use
OTHER_TENANT, OTHER_KEY = "sam-e2e-b", "sam-e2e-b-key"
EVENT_TODO_ID = "01JD7Z6ZQ4N8Y3T5V2W9X0ABCD"  # the todo of events/{get,update,delete}_todo.json
DOCKER_HOST_NAME = "host.docker.internal"


def log(message: str) -> None:
    print(f"[sam-local-e2e {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass
class Local:
    """What the SAM CLI processes are pointed at."""

    ddb: dynamodb.DynamoDBLocal
    bus: LocalEventBus
    tables: dict[str, str]
    env_file: Path
    sam_options: list[str]


def env_json(ddb_port: int, bus_port: int, source: Path = ROOT / "env.json") -> dict[str, Any]:
    """env.json with the ports of this run: the host and the variables stay env.json's own."""
    text = source.read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    ports = {"AWS_ENDPOINT_URL_DYNAMODB": ddb_port, "AWS_ENDPOINT_URL_EVENTBRIDGE": bus_port}
    for variables in document.values():
        for name, port in ports.items():
            if name in variables:
                variables[name] = re.sub(r":\d+$", f":{port}", variables[name])
    return document


def docker_host_address(options: list[str]) -> str:
    """Where containers reach this machine: the address of `--add-host host.docker.internal:<ip>` (Linux),
    else every interface (Docker Desktop resolves host.docker.internal itself)."""
    for option, value in itertools.pairwise(options):
        if option == "--add-host" and value.startswith(f"{DOCKER_HOST_NAME}:"):
            return value.split(":", 1)[1]
    return "0.0.0.0"  # noqa: S104  # the containers' network is not the loopback; a run's lifetime only


@contextlib.contextmanager
def reachable_bus(path: Path, host: str, port: int = 0, echo: bool = False) -> Iterator[Any]:
    """The local PutEvents endpoint where the containers reach it (LocalEventBus listens on 127.0.0.1)."""
    bus = LocalEventBus(path, echo=echo)
    bus._server.server_close()
    bus._server = ThreadingHTTPServer((host, port), bus._handler_class())
    with bus:
        yield bus


def provision_keys(endpoint: str, tables: dict[str, str]) -> None:
    keys = DynamoDBKeyStore(dynamodb.client(endpoint), tables["TodoTable"])
    keys.add(TENANT, KEY)
    keys.add(OTHER_TENANT, OTHER_KEY)


def seed_event_todo(endpoint: str, tables: dict[str, str]) -> None:
    """The todo that events/{get,update,delete}_todo.json name (after the e2e suite, which uses its
    id as a well-formed id that does not exist)."""
    todos = DynamoDBTodoStore(dynamodb.client(endpoint), tables["TodoTable"])
    now = "2026-11-27T10:15:30.000Z"
    todos.create(
        TENANT, Todo(id=EVENT_TODO_ID, title="Read a book", completed=False, created_at=now, updated_at=now, version=1)
    )


@contextlib.contextmanager
def started(workdir: Path, architecture: str, timeout: int) -> Iterator[Local]:
    with contextlib.ExitStack() as stack:
        ddb = stack.enter_context(dynamodb.DynamoDBLocal(workdir / "dynamodb"))
        tables = dynamodb.ensure_tables(ddb.endpoint)
        provision_keys(ddb.endpoint, tables)
        extra = shlex.split(os.environ.get("SAM_LOCAL_OPTS", ""))
        host = docker_host_address(extra)
        bus = stack.enter_context(reachable_bus(workdir / "events.jsonl", host))
        bus_port = bus._server.server_address[1]
        env_file = workdir / "env.json"
        env_file.write_text(json.dumps(env_json(ddb.port, bus_port), indent=2))
        # No --template: SAM CLI then takes the build's template and this folder's samconfig.toml
        # (warm_containers = "EAGER"), as for a user who runs `sam local start-api` here.
        options = [
            "--env-vars",
            str(env_file),
            "--parameter-overrides",
            f"Architecture={architecture} FunctionTimeout={timeout}",
            *extra,
        ]
        log(f"DynamoDB Local {ddb.endpoint}, PutEvents endpoint on {host}:{bus_port}, env {env_file}")
        yield Local(ddb, bus, tables, env_file, options)


@contextlib.contextmanager
def start_api(local: Local, workdir: Path, wait_s: float = 300.0) -> Iterator[str]:
    port = dynamodb.free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = workdir / "start-api.log"
    command = [str(SAM), "local", "start-api", "--port", str(port), *local.sam_options]
    log(f"{shlex.join(command)} (log {log_path})")
    with log_path.open("ab") as out:
        process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + wait_s
        while True:
            if process.poll() is not None:
                raise SystemExit(f"sam local start-api exited ({process.returncode}):\n{log_path.read_text()[-3000:]}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(url + "/", timeout=30).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise SystemExit(
                    f"sam local start-api did not answer in {wait_s:.0f} s:\n{log_path.read_text()[-3000:]}"
                )
            time.sleep(1)
        log(f"API up on {url}")
        yield url
    finally:
        stop(process, "sam local start-api")


def stop(process: subprocess.Popen[bytes], name: str) -> None:
    """SIGTERM first (SAM CLI then removes its warm containers), then the process group, then any
    function container of this checkout's build that is left (SAM CLI killed before it cleaned up)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(45)
        except subprocess.TimeoutExpired:
            log(f"{name} did not stop in 45 s: killing its process group")
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    left = own_containers()
    if left:
        subprocess.run(["docker", "rm", "-f", *left], capture_output=True)
        log(f"removed {len(left)} function containers that {name} left")


def own_containers() -> list[str]:
    """SAM CLI's function containers that mount this checkout's build (not another checkout's)."""
    listed = subprocess.run(
        ["docker", "ps", "-aq", "--filter", "label=sam.cli.container.type"], capture_output=True, text=True
    )
    ids = listed.stdout.split()
    if listed.returncode != 0 or not ids:
        return []
    mounts = subprocess.run(
        ["docker", "inspect", "--format", "{{.Id}} {{range .Mounts}}{{.Source}} {{end}}", *ids],
        capture_output=True,
        text=True,
    )
    build = str(BUILT_TEMPLATE.parent) + "/"
    return [line.split()[0] for line in mounts.stdout.splitlines() if f" {build}" in f" {line}"]


def run_e2e(url: str, pytest_args: list[str]) -> int:
    env = {
        **os.environ,
        "TODO_API_URL": url,
        "TODO_API_KEY": KEY,
        "TODO_API_KEY_2": OTHER_KEY,
        "TODO_API_EMULATOR": "sam-cli",
    }
    command = [sys.executable, "-m", "pytest", "tests/e2e", "--confcutdir=tests/e2e", "-p", "no:cacheprovider"]
    log(f"tests/e2e against {url} (TODO_API_EMULATOR=sam-cli)")
    return subprocess.run([*command, *pytest_args], cwd=ROOT, env=env).returncode


# ------------------------------------------------------------------------------ invocations
def invoke(local: Local, function: str, event: str, workdir: Path) -> Any:
    command = [str(SAM), "local", "invoke", function, "--event", event, *local.sam_options]
    started_at = time.monotonic()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    took = time.monotonic() - started_at
    (workdir / f"invoke-{function}.log").write_text(result.stderr)
    if result.returncode != 0:
        raise AssertionError(f"sam local invoke {function} exited {result.returncode}:\n{result.stderr[-3000:]}")
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    if not lines:
        raise AssertionError(f"sam local invoke {function}: no result on stdout:\n{result.stderr[-3000:]}")
    log(f"sam local invoke {function} -e {event}: {took:.1f} s")
    return json.loads(lines[-1])


def _body(result: dict[str, Any]) -> Any:
    return json.loads(result["body"]) if result.get("body") else None


def _status(expected: int) -> Callable[[Any], None]:
    def check(result: Any) -> None:
        assert result["statusCode"] == expected, result

    return check


def check_authorizer(result: Any) -> None:
    assert result["principalId"] == key_id(KEY), result
    assert result["context"] == {"tenant": TENANT}, result
    (statement,) = result["policyDocument"]["Statement"]
    assert statement["Effect"] == "Allow", result


def check_created(result: Any) -> None:
    assert result["statusCode"] == 201, result
    assert _body(result)["title"] == "Read a book", result


def check_got(result: Any) -> None:
    assert result["statusCode"] == 200, result
    assert _body(result)["id"] == EVENT_TODO_ID, result


def check_updated(result: Any) -> None:
    assert result["statusCode"] == 200, result
    todo = _body(result)
    assert (todo["id"], todo["completed"], todo["version"]) == (EVENT_TODO_ID, True, 2), result


def check_listed(result: Any) -> None:
    assert result["statusCode"] == 200, result
    assert EVENT_TODO_ID in [todo["id"] for todo in _body(result)["items"]], result


def check_stream(result: Any) -> None:
    assert result == {"batchItemFailures": []}, result


# In this order: get, update, delete act on the seeded todo of the events; the stream batch is that
# todo's life (created, completed, deleted) and the feed lists it afterwards.
INVOCATIONS: list[tuple[str, str, Callable[[Any], None]]] = [
    ("AuthorizerFunction", "events/authorizer.json", check_authorizer),
    ("DocsFunction", "events/docs.json", _status(200)),
    ("CreateTodoFunction", "events/create_todo.json", check_created),
    ("GetTodoFunction", "events/get_todo.json", check_got),
    ("ListTodosFunction", "events/list_todos.json", check_listed),
    ("UpdateTodoFunction", "events/update_todo.json", check_updated),
    ("DeleteTodoFunction", "events/delete_todo.json", _status(200)),
    ("StreamConsumerFunction", "events/stream_batch.json", check_stream),
]


def check_events_and_feed(local: Local, workdir: Path) -> None:
    types = [event["detail-type"] for event in local.bus.events]
    assert types == ["todo.created", "todo.completed", "todo.deleted"], local.bus.events
    assert {event["detail"]["tenant"] for event in local.bus.events} == {TENANT}, local.bus.events
    assert {event["source"] for event in local.bus.events} == {"todo-api"}, local.bus.events
    result = invoke(local, "ListActivityFunction", "events/list_activity.json", workdir)
    assert result["statusCode"] == 200, result
    feed = [item for item in _body(result)["items"] if item["todo_id"] == EVENT_TODO_ID]
    assert [item["type"] for item in feed] == ["todo.deleted", "todo.completed", "todo.created"], feed


def run_invocations(local: Local, workdir: Path) -> list[str]:
    failures = []
    for function, event, check in INVOCATIONS:
        try:
            check(invoke(local, function, event, workdir))
        except AssertionError as error:
            failures.append(f"{function} on {event}: {error}")
    try:
        check_events_and_feed(local, workdir)
    except AssertionError as error:
        failures.append(f"stream consumer's events and ListActivityFunction's feed: {error}")
    return failures


def functions_of_template() -> set[str]:
    text = BUILT_TEMPLATE.read_text(encoding="utf-8")
    return set(re.findall(r"^  (\w+):\n    Type: AWS::Serverless::Function", text, re.MULTILINE))


def deps(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.sam_local deps", description="what env.json names")
    parser.add_argument("--port", type=int, default=8000, help="DynamoDB Local (env.json: 8000)")
    parser.add_argument("--events-port", type=int, default=4010, help="PutEvents endpoint (env.json: 4010)")
    parser.add_argument("--host", help="address the containers reach (default: every interface)")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    pairs = [pair.split(":", 1) for pair in os.environ.get("TODO_LOCAL_API_KEYS", f"{TENANT}:{KEY}").split(",")]
    try:
        with dynamodb.DynamoDBLocal(ROOT / ".local" / "sam-local-dynamodb", args.port) as ddb:
            tables = dynamodb.ensure_tables(ddb.endpoint)
            keys = DynamoDBKeyStore(dynamodb.client(ddb.endpoint), tables["TodoTable"])
            for tenant, key in pairs:
                keys.add(tenant.strip(), key.strip())
            with reachable_bus(ROOT / ".local" / "events.jsonl", args.host or "0.0.0.0", args.events_port, echo=True):  # noqa: S104
                print(
                    f"DynamoDB Local on port {args.port} (keys: {', '.join(t for t, _ in pairs)}), PutEvents endpoint"
                    f" on port {args.events_port}; run sam local start-api (or invoke) now. Ctrl-C stops both.",
                    file=sys.stderr,
                    flush=True,
                )
                while ddb.process is not None and ddb.process.poll() is None:
                    time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["deps"]:
        return deps(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m devtools.sam_local", description=__doc__.splitlines()[0])
    parser.add_argument("--architecture", default="x86_64", choices=["arm64", "x86_64"])
    parser.add_argument("--timeout", type=int, default=30, help="the functions' Timeout under the emulator (s)")
    parser.add_argument("pytest_args", nargs="*", help="extra arguments for pytest")
    args = parser.parse_args(argv)
    # SIGTERM (CI's timeout, a killed make) unwinds like Ctrl-C: every process started here is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if not BUILT_TEMPLATE.exists():
        raise SystemExit(
            f"no build at {BUILT_TEMPLATE}: run make build (or make sam-local-e2e without SAM_LOCAL_BUILD)"
        )
    invoked = {function for function, _, _ in INVOCATIONS} | {"ListActivityFunction"}
    if functions_of_template() != invoked:
        raise SystemExit(f"functions without an invocation here: {sorted(functions_of_template() - invoked)}")
    (ROOT / ".local").mkdir(exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="sam-local-e2e-", dir=ROOT / ".local"))
    log(f"logs in {workdir}")
    started_at = time.monotonic()
    with started(workdir, args.architecture, args.timeout) as local:
        with start_api(local, workdir) as url:
            e2e = run_e2e(url, args.pytest_args)
        log(f"tests/e2e through sam local start-api: exit {e2e} ({time.monotonic() - started_at:.0f} s so far)")
        seed_event_todo(local.ddb.endpoint, local.tables)
        failures = run_invocations(local, workdir)
    for failure in failures:
        log(f"FAILED {failure}")
    log(
        f"sam local invoke: {len(INVOCATIONS) + 1 - len(failures)} of {len(INVOCATIONS) + 1} functions checked;"
        f" {time.monotonic() - started_at:.0f} s in all"
    )
    return 1 if e2e or failures else 0


if __name__ == "__main__":
    sys.exit(main())
