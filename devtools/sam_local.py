"""`make sam-local-e2e`: the end-to-end suite through SAM CLI's own emulator, and every function on its event.

    python -m devtools.sam_local [--architecture x86_64] [--timeout 30] [-- pytest options]
    python -m devtools.sam_local deps [--port 8000] [--events-port 4010]   # make sam-local-deps

`deps` starts, in the foreground, what `env.json` points `sam local` at: DynamoDB Local on port 8000
(data in .local/sam-local-dynamodb, the template's tables, the keys of TODO_LOCAL_API_KEYS, default
`demo:local-dev-key`) and the PutEvents endpoint on port 4010, printing each event; Ctrl-C stops both.

Needs Docker (and the build in `.aws-sam/build`, which `make sam-local-e2e` makes first unless
SAM_LOCAL_BUILD=existing). It starts, each on a free port:

1. DynamoDB Local (a fresh data folder) with the template's tables, and the keys `demo:local-dev-key`
   (the key of `events/*.json` and the docs) and one of each of the suite's two tenants;
2. a local EventBridge PutEvents endpoint; both it and DynamoDB Local listen on the address of
   `--add-host host.docker.internal:<address>` in SAM_LOCAL_OPTS (the docker0 address on Linux),
   else on every interface (Docker Desktop), so that the functions' containers reach them;
3. `sam local start-api --env-vars <env.json with those ports>` on the build, with the options of
   `SAM_LOCAL_OPTS` (e.g. `--skip-pull-image --add-host host.docker.internal:172.17.0.1`);
4. the table's stream into StreamConsumerFunction, which SAM CLI does not do: `sam local
   start-lambda` with the same options, and the stream poller of `make start`
   (devtools.emulator.streams, with the event's batch size, retries and filters), whose handler invokes
   the function there, in SAM CLI's container, through the Lambda Invoke API.

Then it runs `tests/e2e` against it with `TODO_API_EMULATOR=sam-cli` (SAM CLI's differences are
declared in tests/e2e/sam_cli.py), stops the poller, and `sam local invoke` of every function on its `events/` file,
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
from pathlib import Path
from typing import Any

import boto3
import requests
from botocore.config import Config

from devtools.emulator import dynamodb
from devtools.emulator.bus import LocalEventBus
from devtools.emulator.context import REGION
from devtools.emulator.streams import stream_pollers
from devtools.emulator.template import project
from devtools.limits import unlimited
from devtools.loader import ROOT, ensure_layer_on_path
from devtools.local import keys as local_keys

ensure_layer_on_path()

from todo_api.adapters.todo_store import DynamoDBTodoStore  # noqa: E402
from todo_api.domain.keys import key_id  # noqa: E402
from todo_api.domain.models import Todo  # noqa: E402

BUILT_TEMPLATE = ROOT / ".aws-sam" / "build" / "template.yaml"
SAM = ROOT / ".venv" / "bin" / "sam"
TENANT, KEY = "demo", "local-dev-key"  # what events/*.json and the docs use
# The suite's two tenants: not demo, whose feed the invocations of events/ check afterwards.
E2E_TENANT, E2E_KEY = "sam-e2e-a", "sam-e2e-a-key"
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


def provision_keys(endpoint: str, tables: dict[str, str]) -> None:
    local_keys.provision_keys(
        endpoint, [(TENANT, KEY), (E2E_TENANT, E2E_KEY), (OTHER_TENANT, OTHER_KEY)], tables["TodoTable"]
    )


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
        extra = shlex.split(os.environ.get("SAM_LOCAL_OPTS", ""))
        host = docker_host_address(extra)
        # DynamoDB Local listens on that address only (not the loopback): this machine's tools use it too.
        ddb = stack.enter_context(dynamodb.DynamoDBLocal(workdir / "dynamodb", host=host))
        tables = dynamodb.ensure_tables(ddb.endpoint)
        provision_keys(ddb.endpoint, tables)
        bus = stack.enter_context(LocalEventBus(workdir / "events.jsonl", host=host))  # where containers reach it
        bus_port = bus.port
        env_file = workdir / "env.json"
        env_file.write_text(json.dumps(env_json(ddb.port, bus_port), indent=2))
        # No --template: SAM CLI then takes the build's template and this folder's samconfig.toml
        # (warm_containers = "EAGER"), as for a user who runs `sam local start-api` here.
        options = [
            "--env-vars",
            str(env_file),
            "--parameter-overrides",
            # SAM CLI takes the last --parameter-overrides only: the build's and the limits' in one. The
            # suite's requests come faster than a tenant's default rate, and the limits are tested in
            # tests/local/test_fair_capacity.py, so here they are out of the way.
            f"Architecture={architecture} FunctionTimeout={timeout} {unlimited()}",
            *extra,
        ]
        log(f"DynamoDB Local {ddb.endpoint}, PutEvents endpoint on {host}:{bus_port}, env {env_file}")
        yield Local(ddb, bus, tables, env_file, options)


@contextlib.contextmanager
def sam_serving(
    local: Local, workdir: Path, command: str, ready: Callable[[str], bool], *, extra: tuple[str, ...] = (), sweep: bool
) -> Iterator[str]:
    """`sam local <command>` on a free port, once `ready(url)`; stopped afterwards (see `stop`)."""
    port = dynamodb.free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = workdir / f"{command}.log"
    argv = [str(SAM), "local", command, "--port", str(port), *extra, *local.sam_options]
    log(f"{shlex.join(argv)} (log {log_path})")
    with log_path.open("ab") as out:
        process = subprocess.Popen(argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 300.0
        while not ready(url):
            if process.poll() is not None:
                raise SystemExit(f"sam local {command} exited ({process.returncode}):\n{log_path.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise SystemExit(f"sam local {command} did not answer in 300 s:\n{log_path.read_text()[-3000:]}")
            time.sleep(1)
        log(f"sam local {command} up on {url}")
        yield url
    finally:
        stop(process, f"sam local {command}", sweep=sweep)


def api_answers(url: str) -> bool:
    with contextlib.suppress(requests.RequestException):
        return requests.get(url + "/", timeout=30).status_code == 200
    return False


def http_answers(url: str) -> bool:
    """Any HTTP answer (start-lambda serves only the Invoke API's paths)."""
    with contextlib.suppress(requests.RequestException):
        requests.get(url + "/", timeout=5)
        return True
    return False


def start_api(local: Local, workdir: Path) -> contextlib.AbstractContextManager[str]:
    return sam_serving(local, workdir, "start-api", api_answers, sweep=True)


class StartLambdaRunner:
    """Runs a function in `sam local start-lambda` (SAM CLI's container, through the Lambda Invoke API),
    for devtools.emulator.streams' pollers, which call `run(function, event)` as on make start's runner
    (JSON in, JSON out)."""

    def __init__(self, endpoint: str, timeout: int) -> None:
        # One attempt: the poller retries a failed batch itself, as Lambda's event source mapping does.
        config = dynamodb.config(attempts=1).merge(Config(read_timeout=timeout + 60))
        self._client = boto3.client(  # type: ignore[call-overload]
            "lambda", endpoint_url=endpoint, region_name=REGION, config=config, **dynamodb.DUMMY_CREDENTIALS
        )
        self.invocations = 0

    def run(self, function: str, event: str) -> str:
        response = self._client.invoke(FunctionName=function, Payload=event.encode())
        self.invocations += 1
        payload = (response["Payload"].read() or b"null").decode()
        if response.get("FunctionError"):
            raise RuntimeError(f"{function} failed: {json.loads(payload)}")
        return payload


@contextlib.contextmanager
def stream_consumer(local: Local, workdir: Path, timeout: int) -> Iterator[StartLambdaRunner]:
    """The table's stream into StreamConsumerFunction under SAM CLI, while the block runs."""
    # LAZY: only the functions invoked here get a container (the stream consumer), reused warm.
    with sam_serving(
        local, workdir, "start-lambda", http_answers, extra=("--warm-containers", "LAZY"), sweep=False
    ) as url:
        runner = StartLambdaRunner(url, timeout)
        pollers = stream_pollers(project(), runner, local.ddb.endpoint)  # type: ignore[arg-type]
        if len(pollers) != 1:
            raise SystemExit(f"expected one stream event source in template.yaml, found {len(pollers)}")
        with contextlib.ExitStack() as stack:
            for poller in pollers:
                stack.enter_context(poller)
            log(f"stream of {pollers[0].table_name} -> StreamConsumerFunction via {url}")
            yield runner
        log(f"stream poller stopped: {runner.invocations} invocations of the stream consumer")


def stop(process: subprocess.Popen[bytes], name: str, sweep: bool = True) -> None:
    """SIGTERM first (SAM CLI then removes its warm containers), then the process group, then (`sweep`)
    any function container of this checkout's build that is left (SAM CLI killed before it cleaned up)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(45)
        except subprocess.TimeoutExpired:
            log(f"{name} did not stop in 45 s: killing its process group")
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    left = own_containers() if sweep else []
    if left:
        subprocess.run(["docker", "rm", "-f", *left], capture_output=True)
        log(f"removed {len(left)} function containers that SAM CLI left")


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
        "TODO_API_KEY": E2E_KEY,
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


def check_events_and_feed(local: Local, workdir: Path, before: int) -> None:
    """The events published since `before` (those of the suite's stream came first) and the feed."""
    events = local.bus.since(before)
    types = [event["detail-type"] for event in events]
    assert types == ["todo.created", "todo.completed", "todo.deleted"], events
    assert {event["detail"]["tenant"] for event in events} == {TENANT}, events
    assert {event["source"] for event in events} == {"todo-api"}, events
    result = invoke(local, "ListActivityFunction", "events/list_activity.json", workdir)
    assert result["statusCode"] == 200, result
    feed = [item for item in _body(result)["items"] if item["todo_id"] == EVENT_TODO_ID]
    assert [item["type"] for item in feed] == ["todo.deleted", "todo.completed", "todo.created"], feed


def run_invocations(local: Local, workdir: Path) -> list[str]:
    failures = []
    before = local.bus.received
    for function, event, check in INVOCATIONS:
        try:
            check(invoke(local, function, event, workdir))
        except AssertionError as error:
            failures.append(f"{function} on {event}: {error}")
    try:
        check_events_and_feed(local, workdir, before)
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
    parser.add_argument("--host", help="where containers reach both, e.g. docker0's address (default: all)")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    pairs = local_keys.configured_keys()  # TENANT:KEY unless TODO_LOCAL_API_KEYS
    try:
        host = args.host or "0.0.0.0"  # noqa: S104  # where containers reach both
        with dynamodb.DynamoDBLocal(ROOT / ".local" / "sam-local-dynamodb", args.port, host=host) as ddb:
            tables = dynamodb.ensure_tables(ddb.endpoint)
            local_keys.provision_keys(ddb.endpoint, pairs, tables["TodoTable"])
            with LocalEventBus(ROOT / ".local" / "events.jsonl", args.events_port, echo=True, host=host):
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
            # The poller stops before the invocations below: their todo's changes are theirs to check.
            with stream_consumer(local, workdir, args.timeout) as consumer:
                e2e = run_e2e(url, args.pytest_args)
            suite_events = local.bus.received
        log(
            f"tests/e2e through sam local start-api: exit {e2e}; the stream consumer ran {consumer.invocations}"
            f" times and published {suite_events} events ({time.monotonic() - started_at:.0f} s so far)"
        )
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
