"""`make sam-local-e2e` and `make sam-local-deps`: SAM CLI's own emulator (Docker), and what it is pointed at.

    python -m devtools.sam_local [--architecture x86_64] [--timeout 30] [-- pytest options of tests/e2e]
    python -m devtools.sam_local deps [--port 8000] [--events-port 4010]   # make sam-local-deps

`deps` starts, in the foreground, what `env.json` points `sam local` at: DynamoDB Local on port 8000
(data in .local/sam-local-dynamodb, the template's tables, the keys of TODO_LOCAL_API_KEYS, default
`demo:local-dev-key`) and the PutEvents endpoint on port 4010, printing each event; Ctrl-C stops both.

The rest is the harness of `make sam-local-e2e` and of tests/sam_local's fixtures. It needs Docker
(`unavailable` says what is missing) and the build in `.aws-sam/build`, which `make sam-local-e2e`
makes first unless SAM_LOCAL_BUILD=existing. Each part starts on a free port and is stopped afterwards:

1. `started`: DynamoDB Local (a fresh data folder) with the template's tables, and the keys
   `demo:local-dev-key` (the key of `events/*.json` and the docs) and one of each of the e2e suite's
   two tenants; a local EventBridge PutEvents endpoint; both listen on the address of
   `--add-host host.docker.internal:<address>` in SAM_LOCAL_OPTS (the docker0 address on Linux), else on
   every interface (Docker Desktop), so that the functions' containers reach them; and the options
   for `sam local` (`--env-vars <env.json with those ports>` and those of `SAM_LOCAL_OPTS`, e.g.
   `--skip-pull-image --add-host host.docker.internal:172.17.0.1`);
2. `start_api`: `sam local start-api` on the build;
3. `stream_consumer`: the table's stream into StreamConsumerFunction, which SAM CLI does not do: `sam
   local start-lambda` with the same options, and the stream poller of `make start`
   (devtools.emulator.streams, with the event's batch size, retries and filters), whose handler invokes
   the function there, in SAM CLI's container, through the Lambda Invoke API;
4. `invoke`: `sam local invoke` of one function on an event file, and its result.

`main` (make sam-local-e2e) runs `tests/e2e` against 1-3 with `TODO_API_EMULATOR=sam-cli` (SAM CLI's
differences are declared in tests/e2e/sam_cli.py), stops them, and then runs `tests/sam_local` (`sam
local invoke` of every function on its `events/` file, each result checked; its fixtures start 1 again
with the same architecture and timeout, passed as SAM_LOCAL_ARCH and SAM_LOCAL_TIMEOUT). It fails if
either suite fails.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import re
import shlex
import shutil
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


BUILT_TEMPLATE = ROOT / ".aws-sam" / "build" / "template.yaml"
SAM = ROOT / ".venv" / "bin" / "sam"
TENANT, KEY = "demo", "local-dev-key"  # what events/*.json and the docs use
# The suite's two tenants: not demo, whose feed the invocations of events/ check afterwards.
E2E_TENANT, E2E_KEY = "sam-e2e-a", "sam-e2e-a-key"
OTHER_TENANT, OTHER_KEY = "sam-e2e-b", "sam-e2e-b-key"
DOCKER_HOST_NAME = "host.docker.internal"
ARCHITECTURES = ("arm64", "x86_64")
TIMEOUT = 30  # s, the functions' Timeout under the emulator (the template's is for Lambda)


class SamLocalError(RuntimeError):
    """`sam local invoke` failed: no result from the function."""


def unavailable() -> str | None:
    """What `sam local` lacks here (SAM CLI, a Docker daemon, the build), or None when nothing."""
    if not SAM.exists():
        return f"no SAM CLI at {SAM} (make install)"
    if shutil.which("docker") is None:
        return "no docker command: sam local runs the functions in Docker"
    try:
        info = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return "docker info did not answer in 60 s: sam local runs the functions in Docker"
    if info.returncode != 0:
        reason = info.stderr.strip()[-300:]
        return f"no Docker daemon answers (docker info: {reason}): sam local runs the functions in Docker"
    if not BUILT_TEMPLATE.exists():
        return f"no build at {BUILT_TEMPLATE}: run make build (or make sam-local-e2e without SAM_LOCAL_BUILD)"
    return None


def new_workdir() -> Path:
    """A fresh folder for a run's logs and data, .local/sam-local-e2e-*."""
    (ROOT / ".local").mkdir(exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="sam-local-e2e-", dir=ROOT / ".local"))


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


def run_invocations(workdir: Path, architecture: str, timeout: int) -> int:
    """tests/sam_local: `sam local invoke` of every function on its events/ file, on a harness of its own."""
    env = {
        **os.environ,
        "SAM_LOCAL_ARCH": architecture,
        "SAM_LOCAL_TIMEOUT": str(timeout),
        "SAM_LOCAL_WORKDIR": str(workdir),
    }
    command = [sys.executable, "-m", "pytest", "tests/sam_local", "-p", "no:cacheprovider"]
    log("tests/sam_local: sam local invoke of every function on its events/ file")
    return subprocess.run(command, cwd=ROOT, env=env).returncode


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


def invoke(local: Local, function: str, event: Path | str, workdir: Path) -> Any:
    """`sam local invoke function --event event`: the function's result (its last line on stdout)."""
    command = [str(SAM), "local", "invoke", function, "--event", str(event), *local.sam_options]
    started_at = time.monotonic()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    took = time.monotonic() - started_at
    (workdir / f"invoke-{function}.log").write_text(result.stderr)
    if result.returncode != 0:
        raise SamLocalError(f"sam local invoke {function} exited {result.returncode}:\n{result.stderr[-3000:]}")
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    if not lines:
        raise SamLocalError(f"sam local invoke {function}: no result on stdout:\n{result.stderr[-3000:]}")
    log(f"sam local invoke {function} -e {event}: {took:.1f} s")
    return json.loads(lines[-1])


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
    parser.add_argument("--architecture", default="x86_64", choices=ARCHITECTURES)
    parser.add_argument("--timeout", type=int, default=TIMEOUT, help="the functions' Timeout under the emulator (s)")
    parser.add_argument("pytest_args", nargs="*", help="extra arguments for pytest of tests/e2e")
    args = parser.parse_args(argv)
    # SIGTERM (CI's timeout, a killed make) unwinds like Ctrl-C: every process started here is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if (missing := unavailable()) is not None:
        raise SystemExit(missing)
    workdir = new_workdir()
    log(f"logs in {workdir}")
    started_at = time.monotonic()
    with started(workdir, args.architecture, args.timeout) as local:
        with start_api(local, workdir) as url, stream_consumer(local, workdir, args.timeout) as consumer:
            e2e = run_e2e(url, args.pytest_args)
        log(
            f"tests/e2e through sam local start-api: exit {e2e}; the stream consumer ran {consumer.invocations}"
            f" times and published {local.bus.received} events ({time.monotonic() - started_at:.0f} s so far)"
        )
    invocations = run_invocations(workdir / "invoke", args.architecture, args.timeout)
    log(
        f"tests/e2e exit {e2e}, tests/sam_local (sam local invoke) exit {invocations};"
        f" {time.monotonic() - started_at:.0f} s in all"
    )
    return 1 if e2e or invocations else 0


if __name__ == "__main__":
    sys.exit(main())
