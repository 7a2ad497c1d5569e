"""The measurements of `make bench`. Each returns its figure and the baseline it was measured against."""

from __future__ import annotations

import compileall
import contextlib
import copy
import functools
import http.client
import io
import json
import os
import py_compile
import re
import shutil
import statistics
import subprocess
import tempfile
import time
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from devtools.bench import probes
from devtools.emulator.context import LambdaContext
from devtools.emulator.template import document, project
from devtools.loader import LAYER_DIR, ROOT

BENCH = ROOT / ".bench"
BUILD = ROOT / ".aws-sam" / "build"
EVENTS = ROOT / "events"
FUNCTION_ENV = {
    "TABLE_NAME": "todo-bench",
    "IDEMPOTENCY_TABLE_NAME": "todo-bench-idempotency",
    "EVENT_BUS_NAME": "todo-bench-events",
    "ACTIVITY_RETENTION_DAYS": "90",
    "CURSOR_SECRET": "bench-cursor-secret-not-for-any-deployment-0123456789",
    "POWERTOOLS_SERVICE_NAME": "todo-api",
    "POWERTOOLS_METRICS_NAMESPACE": "TodoApi",
    "POWERTOOLS_LOG_LEVEL": "INFO",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_LAMBDA_FUNCTION_NAME": "bench",
}


# ------------------------------------------------------------------ runtime staging
@functools.cache
def python313() -> str:
    candidates = [os.environ.get("PYTHON313", ""), shutil.which("python3.13") or ""]
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates += sorted(str(p) for p in pyenv_root.glob("versions/3.13*/bin/python3.13"))
    for candidate in candidates:  # a pyenv shim exists but may refuse to run: try each
        if candidate and subprocess.run([candidate, "-c", "import sys"], capture_output=True).returncode == 0:
            return candidate
    raise SystemExit("python3.13 is needed for the benchmark (the Lambda runtime's version); install it")


def _pinned(name: str) -> str:
    for line in (ROOT / "requirements" / "dev.lock.txt").read_text().splitlines():
        if line.lower().startswith(name + "=="):
            return line.split()[0]  # `boto3==1.2.3 \`, its hashes on the next lines
    raise SystemExit(f"{name} is not pinned in requirements/dev.lock.txt")


def _pip_target(target: Path, *requirements: str, stamp_text: str = "") -> None:
    stamp = target / ".stamp"
    wanted = "\n".join([*requirements, stamp_text])
    if stamp.exists() and stamp.read_text() == wanted:
        return
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    subprocess.run(
        [python313(), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--target", str(target),
         *requirements],
        check=True,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    compileall.compile_dir(target, quiet=2, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    stamp.write_text(wanted)


def _layer_requirements(target: Path, path: Path) -> None:
    """A layer's hashed requirements file, installed as `make build` ships it (hash-checked)."""
    _pip_target(target, "--require-hashes", "-r", str(path), stamp_text=path.read_text())


def _compile313(folder: Path) -> None:
    subprocess.run(
        [python313(), "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash", str(folder)], check=True
    )


def stage() -> dict[str, Path]:
    """A runtime-only python3.13 world: boto3 alone (as Lambda provides it), the layer, the functions.

    The layer is installed for this machine's architecture (callgrind cannot run arm64 code),
    from the same pinned requirements as `make build`; code is compiled like the build's.
    """
    runtime = BENCH / "runtime"
    _pip_target(runtime, _pinned("boto3"))
    layer = BENCH / "layer" / "python"
    _layer_requirements(layer, LAYER_DIR / "requirements.txt")
    shutil.rmtree(layer / "todo_api", ignore_errors=True)
    shutil.copytree(LAYER_DIR / "todo_api", layer / "todo_api", ignore=shutil.ignore_patterns("__pycache__"))
    _compile313(layer / "todo_api")
    auth_layer = BENCH / "auth-layer" / "python"  # the authorizer's own layer: the JOSE library
    _layer_requirements(auth_layer, ROOT / "layers" / "auth" / "requirements.txt")
    staged: dict[str, Path] = {"runtime": runtime, "layer": layer, "auth_layer": auth_layer}
    functions = BENCH / "functions"
    shutil.rmtree(functions, ignore_errors=True)
    for function in project().all_functions():
        name = function.name
        source = BUILD / name if (BUILD / name).exists() else Path(str(function.codeuri))
        shutil.copytree(source, functions / name, ignore=shutil.ignore_patterns("__pycache__"))
        staged[name] = functions / name
    bare = BENCH / "bare"
    bare.mkdir(parents=True, exist_ok=True)
    (bare / "app.py").write_text(probes.BARE_HANDLER)
    staged["bare"] = bare
    _compile313(functions)
    _compile313(bare)
    return staged


# ------------------------------------------------------------------ instruction counts
def instructions(script: str, task_root: Path) -> int:
    env = {**FUNCTION_ENV, "LAMBDA_TASK_ROOT": str(task_root), "PATH": os.environ.get("PATH", "")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # like Lambda's read-only file system
    # One fixed string hash seed: with a random one, dict and set layouts change from run to run
    # and a warm invocation's count by up to 3 %, more than the difference a change makes.
    env["PYTHONHASHSEED"] = "0"
    with tempfile.TemporaryDirectory() as tmp:
        result = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/out", python313(), "-S", "-c", script],
            capture_output=True,
            text=True,
            env=env,
            cwd=task_root,
        )
    if result.returncode != 0:
        raise RuntimeError(f"probe failed in {task_root}:\n{result.stderr[-3000:]}")
    match = re.search(r"Collected : (\d+)", result.stderr)
    if not match:
        raise RuntimeError(f"no instruction count from callgrind:\n{result.stderr[-2000:]}")
    return int(match.group(1))


def init_ratio(staged: dict[str, Path], functions: list[str]) -> tuple[float, str, dict[str, int]]:
    def count(folder: Path) -> int:
        return instructions(probes.IMPORT.format(path=[str(folder), str(staged["layer"]), str(staged["runtime"])]),
                            folder)  # fmt: skip

    baseline = count(staged["bare"])
    per_function = {name: count(staged[name]) for name in functions}
    worst = max(per_function, key=per_function.__getitem__)
    return round(per_function[worst] / baseline, 3), worst, per_function | {"bare": baseline}


def authorizer_init_ratio(staged: dict[str, Path], bare: int) -> tuple[float, int]:
    """The authorizer's import with the JOSE library (both its layers) against the bare boto3 handler."""
    folder = staged["AuthorizerFunction"]
    path = [str(folder), str(staged["layer"]), str(staged["auth_layer"]), str(staged["runtime"])]
    count = instructions(probes.IMPORT_AUTHORIZER.format(path=path), folder)
    return round(count / bare, 3), count


def warm_token(staged: dict[str, Path], count: int, fresh: bool) -> int:
    """Instructions per warm authorizer call with a bearer token: verified afresh, or remembered."""
    from joserfc.jwk import RSAKey

    folder = staged["AuthorizerFunction"]
    path = [str(folder), str(staged["layer"]), str(staged["auth_layer"]), str(staged["runtime"])]
    key = json.dumps(RSAKey.generate_key(2048, private=True, auto_kid=True).as_dict(private=True))

    def script(n: int) -> str:
        event = str(EVENTS / "authorizer.json")
        return probes.WARM_BEARER.format(path=path, root=str(ROOT), key=key, event=event, fresh=fresh, count=n)

    return round((instructions(script(count), folder) - instructions(script(0), folder)) / count)


def warm_scoped(staged: dict[str, Path], function: str, event: str, count: int, cold: bool) -> int:
    """Instructions per call on per-tenant sessions: the same tenant each time, or a new one (an
    STS answer from memory and a new boto3 client: the in-process cost of a cold tenant)."""
    folder = staged[function]
    path = [str(folder), str(staged["layer"]), str(staged["runtime"])]

    def script(n: int) -> str:
        return probes.WARM_TENANTS.format(
            path=path,
            root=str(ROOT),
            patch=probes.PATCH_SCOPED,
            event=str(EVENTS / f"{event}.json"),
            count=n,
            cold=cold,
        )

    return round((instructions(script(count), folder) - instructions(script(0), folder)) / count)


def sts_calls(handlers: dict[str, Any], client: Any) -> dict[str, float]:
    """AssumeRole calls of the API functions on per-tenant sessions (moto's STS): per tenant new to
    the container, and per later request of a tenant already seen."""
    from todo_api import wiring
    from todo_api.adapters import clients

    counter: Counter[str] = Counter()
    real_sts = clients.sts_client

    def counted_sts() -> Any:
        sts = real_sts()
        sts.meta.events.register("before-call.sts.AssumeRole", lambda **_: counter.update(["assume"]))
        return sts

    saved = (clients.sts_client, clients.dynamodb_client)
    os.environ["TENANT_ROLE_ARN"] = f"arn:aws:iam::{'1' * 12}:role/bench-TenantDataRole"
    clients.sts_client, clients.dynamodb_client = counted_sts, lambda credentials=None: client
    wiring.reset()
    try:
        tenants = [f"bench{n}" for n in range(5)]

        def list_of(tenant: str) -> None:
            context = _sample_context()
            context["authorizer"] = {**context["authorizer"], "tenant": tenant}
            if _invoke(handlers, "ListTodosFunction", "list_todos", requestContext=context)["statusCode"] != 200:
                raise RuntimeError(f"a list of tenant {tenant} on its session failed")

        for tenant in tenants:
            list_of(tenant)
        cold = counter["assume"] / len(tenants)
        counter.clear()
        for tenant in tenants * 3:
            list_of(tenant)
        return {"per_cold_tenant": cold, "per_warm_request": counter["assume"] / (len(tenants) * 3)}
    finally:
        clients.sts_client, clients.dynamodb_client = saved
        del os.environ["TENANT_ROLE_ARN"]
        wiring.reset()


def warm(staged: dict[str, Path], function: str, event: str, count: int, bare: bool = False) -> int:
    folder = staged["bare" if bare else function]
    path = [str(folder), str(staged["layer"]), str(staged["runtime"])]

    def script(n: int) -> str:
        patch = probes.PATCH_BARE if bare else probes.PATCH_APP
        return probes.WARM.format(path=path, root=str(ROOT), patch=patch, event=str(EVENTS / f"{event}.json"), count=n)

    return round((instructions(script(count), folder) - instructions(script(0), folder)) / count)


# ------------------------------------------------------------------ DynamoDB on moto
@contextlib.contextmanager
def moto_functions() -> Iterator[tuple[Any, dict[str, Any]]]:
    for key, value in FUNCTION_ENV.items():
        os.environ[key] = value
    for key in [k for k in os.environ if k.startswith("AWS_ENDPOINT_URL")]:
        del os.environ[key]
    from devtools.moto_harness import api_handlers, moto_tables

    names = {
        "TodoTable": FUNCTION_ENV["TABLE_NAME"],
        "IdempotencyTable": FUNCTION_ENV["IDEMPOTENCY_TABLE_NAME"],
        "UsageTable": "todo-bench-usage",
    }
    with moto_tables(names) as client:
        yield client, api_handlers("bench_")


def _invoke(handlers: dict[str, Any], function: str, sample: str, **changes: Any) -> dict[str, Any]:
    event = copy.deepcopy(json.loads((EVENTS / f"{sample}.json").read_text()))
    for key, value in changes.items():
        if key == "headers":
            event["headers"].update(value)
            event["multiValueHeaders"].update({k: [v] for k, v in value.items()})
        else:
            event[key] = value
        if key == "pathParameters":
            event["path"] = f"/todos/{value['todo_id']}"
    result: dict[str, Any] = handlers[function].lambda_handler(event, LambdaContext("bench", 512, 10))
    return result


def ddb_calls(handlers: dict[str, Any], client: Any) -> dict[str, int]:
    counter: Counter[str] = Counter()

    def count(event_name: str, **_: Any) -> None:
        counter[event_name] += 1

    client.meta.events.register("before-call.dynamodb", count)
    missing = "01JD7Z6ZQ4N8Y3T5V2W9X0ABCE"
    created = json.loads(_invoke(handlers, "CreateTodoFunction", "create_todo")["body"])
    item = {"todo_id": created["id"]}
    gone = {"todo_id": missing}
    stale = {"If-Match": '"99"'}
    plan: list[tuple[str, str, str, dict[str, Any], int]] = [
        ("create", "CreateTodoFunction", "create_todo", {}, 201),
        ("get", "GetTodoFunction", "get_todo", {"pathParameters": item}, 200),
        ("list", "ListTodosFunction", "list_todos", {}, 200),
        ("update", "UpdateTodoFunction", "update_todo", {"pathParameters": item, "headers": {"If-Match": '"1"'}}, 200),
        ("get_404", "GetTodoFunction", "get_todo", {"pathParameters": gone}, 404),
        ("update_404", "UpdateTodoFunction", "update_todo", {"pathParameters": gone}, 404),
        ("update_412", "UpdateTodoFunction", "update_todo", {"pathParameters": item, "headers": stale}, 412),
        ("delete_404", "DeleteTodoFunction", "delete_todo", {"pathParameters": gone}, 404),
        ("delete_412", "DeleteTodoFunction", "delete_todo", {"pathParameters": item, "headers": stale}, 412),
        ("delete", "DeleteTodoFunction", "delete_todo", {"pathParameters": item}, 200),
    ]
    calls = {}
    for name, function, sample, changes, status in plan:
        counter.clear()
        result = _invoke(handlers, function, sample, **changes)
        if result["statusCode"] != status:
            raise RuntimeError(f"{name}: expected {status}, got {result['statusCode']}: {result.get('body')}")
        calls[name] = sum(counter.values())
    client.meta.events.unregister("before-call.dynamodb", count)
    return calls


def scanned_per_returned(handlers: dict[str, Any], client: Any, sizes: list[int]) -> dict[str, float]:
    from todo_api.adapters.dynamodb import to_item
    from todo_api.domain.models import Todo

    pages: list[dict[str, Any]] = []

    def keep(parsed: dict[str, Any], **_: Any) -> None:
        pages.append(parsed)

    client.meta.events.register("after-call.dynamodb.Query", keep)
    ratios = {}
    seeded = 0
    for size in sizes:
        tenant = f"bench-{size}"
        batch = []
        for i in range(size):
            todo_id = f"01JD7Z6ZQ4{seeded:016d}"
            seeded += 1
            stamp = "2026-11-27T10:15:00.123Z"
            todo = Todo(id=todo_id, title=f"todo {i}", completed=i % 3 == 0, created_at=stamp, updated_at=stamp,
                        version=1)  # fmt: skip
            batch.append({"PutRequest": {"Item": to_item(tenant, todo)}})
            if len(batch) == 25 or i == size - 1:
                client.batch_write_item(RequestItems={FUNCTION_ENV["TABLE_NAME"]: batch})
                batch = []
        for flag in (None, "true", "false"):
            query = {"limit": "100"} | ({"completed": flag} if flag else {})
            pages.clear()
            context = {"requestContext": {**_sample_context(), "authorizer": {"tenant": tenant}}}
            result = _invoke(handlers, "ListTodosFunction", "list_todos", queryStringParameters=query,
                             multiValueQueryStringParameters={k: [v] for k, v in query.items()}, **context)  # fmt: skip
            returned = len(json.loads(result["body"])["items"])
            [page] = pages
            ratios[f"{size}/{'all' if flag is None else 'completed=' + flag}"] = round(
                page["ScannedCount"] / max(returned, 1), 3
            )
    client.meta.events.unregister("after-call.dynamodb.Query", keep)
    return ratios


def _sample_context() -> dict[str, Any]:
    context: dict[str, Any] = json.loads((EVENTS / "list_todos.json").read_text())["requestContext"]
    return context


# ------------------------------------------------------------------ artifacts
def _zip_size(folder: Path) -> int:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                archive.write(file, file.relative_to(folder))
    return len(buffer.getvalue())


def _functions() -> dict[str, Any]:
    """The template's functions by logical id."""
    resources = document()["Resources"].items()  # Fn::ForEach entries (the alarms) are lists: no function
    return {k: v for k, v in resources if isinstance(v, dict) and v.get("Type") == "AWS::Serverless::Function"}


def _layers_of(function: str) -> list[str]:
    """Logical ids of a function's layers: the Globals' (SharedLayer) and its own (AuthLayer)."""
    own = _functions()[function]["Properties"].get("Layers", [])
    return ["SharedLayer", *(layer["Ref"] for layer in own if isinstance(layer, dict) and "Ref" in layer)]


def artifacts(staged: dict[str, Path]) -> tuple[int, int, int, str]:
    """Largest API function + its layers zipped, the authorizer + its layers, and .py files without
    a python3.13 .pyc (in the build if any)."""
    names = list(_functions())
    if BUILD.exists():
        root, where = BUILD, "sam build output (.aws-sam/build)"
        layers = {name: BUILD / name for name in ("SharedLayer", "AuthLayer")}
        functions = {name: BUILD / name for name in names if (BUILD / name).exists()}
    else:
        root, where = BENCH, "staged copy (no .aws-sam/build: run make build)"
        layers = {"SharedLayer": staged["layer"].parent, "AuthLayer": staged["auth_layer"].parent}
        functions = {name: staged[name] for name in names}
    layer_sizes = {name: _zip_size(folder) for name, folder in layers.items()}
    sizes = {
        name: _zip_size(folder) + sum(layer_sizes[layer] for layer in _layers_of(name))
        for name, folder in functions.items()
    }
    authorizer = sizes.pop("AuthorizerFunction")
    largest = max(sizes.values())
    uncompiled = 0
    for source in root.rglob("*.py"):
        if "runtime" in source.relative_to(root).parts[:1]:
            continue
        if not list((source.parent / "__pycache__").glob(f"{source.stem}.cpython-313*.pyc")):
            uncompiled += 1
    return largest, authorizer, uncompiled, where


# ------------------------------------------------------------------ local latency
def local_latency(requests: int) -> tuple[float, float, str, float, float]:
    """GET /todos/{id} against the local server (as `make start` runs it) from one client (werkzeug's
    server closes the connection after each answer, so each request opens a new one);
    and the seconds until a change shows in GET /activity: the first change after the start, and
    one after the latency run."""
    from devtools.limits import unlimited
    from devtools.local.serve import served

    key = "bench-local-key"
    # The limiter on (one conditional write per request), its limits above what one connection sends.
    parameters = unlimited(("TenantRateLimit", "TenantBurstLimit", "TenantQuotaPerDay", "TodoCap"))
    with served({"bench": key}, env={"TEMPLATE_PARAMETERS": parameters}) as server:
        connection = http.client.HTTPConnection("127.0.0.1", int(server.url.rsplit(":", 1)[1]), timeout=10)
        headers = {"x-api-key": key, "Content-Type": "application/json"}

        def call(method: str, path: str, body: Any = None, **kwargs: Any) -> tuple[int, Any]:
            connection.request(method, path, body=None if body is None else json.dumps(body), **kwargs)
            answer = connection.getresponse()
            return answer.status, json.loads(answer.read())

        def feed_seconds(title: str) -> float:
            status, todo = call("POST", "/todos", {"title": title}, headers=headers)
            if status != 201:
                raise RuntimeError(f"create failed: {status} {todo}")
            answered, deadline = time.perf_counter(), time.monotonic() + 60
            while time.monotonic() < deadline:
                status, feed = call("GET", "/activity?limit=20", headers=headers)
                if status == 200 and any(item["todo_id"] == todo["id"] for item in feed["items"]):
                    return round(time.perf_counter() - answered, 2)
                time.sleep(0.02)
            raise RuntimeError(f"{title} not in GET /activity within 60 s")

        first_feed = feed_seconds("bench first change")
        status, todo = call("POST", "/todos", {"title": "bench"}, headers=headers)
        if status != 201:
            raise RuntimeError(f"create failed: {status} {todo}")

        def timed(path: str, count: int, **kwargs: Any) -> list[float]:
            samples = []
            for _ in range(count):
                started = time.perf_counter()
                connection.request("GET", path, **kwargs)
                answer = connection.getresponse()
                answer.read()
                samples.append((time.perf_counter() - started) * 1000)
                if answer.status != 200:
                    raise RuntimeError(f"GET {path}: {answer.status}")
            return samples

        timed(f"/todos/{todo['id']}", 20, headers=headers)  # warm-up
        samples = timed(f"/todos/{todo['id']}", requests, headers=headers)
        floor = timed("/openapi.json", min(requests, 200))
        store_read, store_write = store_floor((server.data_dir / "endpoint").read_text().strip(), min(requests, 500))
        later_feed = feed_seconds("bench later change")
    p50 = statistics.median(samples)
    p99 = statistics.quantiles(samples, n=100)[98]
    floor_p50 = statistics.median(floor)
    return (
        round(p50, 2),
        round(p99, 2),
        f"GET /openapi.json (no key, no store) p50 {floor_p50:.2f} ms; DynamoDB Local alone, p50 of a "
        f"GetItem {store_read:.2f} ms and of a conditional UpdateItem {store_write:.2f} ms (a GET makes "
        "one of each: the todo's read and the limiter's write)",
        first_feed,
        later_feed,
    )


def store_floor(endpoint: str, count: int) -> tuple[float, float]:
    """DynamoDB Local's own p50 (ms) of a GetItem and of a conditional UpdateItem, from boto3 in this
    process: what a request's DynamoDB calls cost before any code of the server or the functions."""
    from devtools.emulator import dynamodb
    from devtools.emulator.template import local_table_name

    client = dynamodb.client(endpoint)
    table = local_table_name("UsageTable")
    schema = client.describe_table(TableName=table)["Table"]["KeySchema"]
    key = {part["AttributeName"]: {"S": f"bench-floor#{part['KeyType']}"} for part in schema}
    reads, writes = [], []
    for _ in range(count):
        started = time.perf_counter()
        client.update_item(
            TableName=table,
            Key=key,
            UpdateExpression="SET #n = if_not_exists(#n, :zero) + :one",
            ConditionExpression="attribute_not_exists(#n) OR #n < :most",
            ExpressionAttributeNames={"#n": "n"},
            ExpressionAttributeValues={":zero": {"N": "0"}, ":one": {"N": "1"}, ":most": {"N": str(10 * count)}},
        )
        writes.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        client.get_item(TableName=table, Key=key)
        reads.append((time.perf_counter() - started) * 1000)
    client.delete_item(TableName=table, Key=key)
    return statistics.median(reads), statistics.median(writes)


# ------------------------------------------------------------------ all together
SECTIONS = ("instructions", "ddb", "artifacts", "local", "load")
LOAD_USERS = (8, 24)


def load(quick: bool) -> tuple[dict[str, Any], dict[str, str]]:
    """The mixed CRUD journey with LOAD_USERS concurrent users (devtools.bench.load)."""
    from devtools.bench import load as journey

    seconds = 5.0 if quick else 30.0
    print(f"measuring load: the CRUD journey, {' and '.join(map(str, LOAD_USERS))} users, {seconds:.0f} s each ...")
    runs = journey.measure(list(LOAD_USERS), seconds)
    print(journey.table(runs), flush=True)
    per_users = {f"{users}_users": run for users, run in runs.items()}
    results = {
        "load_failures": {name: run["failures"] for name, run in per_users.items()},
        "load_p99_ms_8_users": runs[8]["p99_ms"],
        "load_p99_ms_24_users": runs[24]["p99_ms"],
        "load_p50_ms": {name: run["p50_ms"] for name, run in per_users.items()},
        "load_requests": {name: run["requests"] for name, run in per_users.items()},
        "load_requests_per_s": {name: run["requests_per_s"] for name, run in per_users.items()},
    }
    journey_text = "create, read (ETag), list, PATCH (If-Match), delete; own todos, 2 tenants"
    baselines = dict.fromkeys(results, f"{seconds:.0f} s per run: {journey_text}")
    return results, baselines


def run_all(
    quick: bool, only: set[str] | frozenset[str] = frozenset(SECTIONS)
) -> tuple[dict[str, Any], dict[str, str]]:
    results: dict[str, Any] = {}
    baselines: dict[str, str] = {}
    if only & {"instructions", "artifacts"}:
        print("staging a python3.13 runtime-only environment ...", flush=True)
        staged = stage()
    if "instructions" in only:
        _instructions(staged, quick, results, baselines)
    if "ddb" in only:
        _ddb(quick, results, baselines)
    if "artifacts" in only:
        _artifacts(staged, results, baselines)
    if "local" in only:
        _local(quick, results, baselines)
    if "load" in only:
        figures, notes = load(quick)
        results.update(figures)
        baselines.update(notes)
    return results, baselines


def _instructions(staged: dict[str, Path], quick: bool, results: dict[str, Any], baselines: dict[str, str]) -> None:
    print("counting import instructions (callgrind) ...", flush=True)
    every = sorted(f.name for f in project().all_functions())
    ratio, worst, counts = init_ratio(staged, ["CreateTodoFunction"] if quick else every)
    results["init_instructions_ratio"] = ratio
    baselines["init_instructions_ratio"] = (
        f"bare boto3 handler {counts['bare']:,} instr; worst {worst} {counts[worst]:,}"
    )

    auth_ratio, auth_count = authorizer_init_ratio(staged, counts["bare"])
    results["authorizer_init_instructions_ratio"] = auth_ratio
    baselines["authorizer_init_instructions_ratio"] = (
        f"bare boto3 handler {counts['bare']:,} instr; authorizer + joserfc {auth_count:,}"
    )

    invocations = 20 if quick else 200
    print(f"counting warm invocations x{invocations} (callgrind) ...", flush=True)
    bare = warm(staged, "bare", "get_todo", invocations, bare=True)
    results["warm_get_instructions"] = warm(staged, "GetTodoFunction", "get_todo", invocations)
    results["warm_post_instructions"] = warm(staged, "CreateTodoFunction", "create_todo", invocations)
    baselines["warm_get_instructions"] = baselines["warm_post_instructions"] = f"bare boto3 handler {bare:,}/call"
    results["warm_get_scoped_instructions"] = warm_scoped(staged, "GetTodoFunction", "get_todo", invocations, False)
    results["cold_tenant_scoped_instructions"] = warm_scoped(staged, "GetTodoFunction", "get_todo", invocations, True)
    baselines["warm_get_scoped_instructions"] = f"warm_get_instructions {results['warm_get_instructions']:,} (own role)"
    baselines["cold_tenant_scoped_instructions"] = "a GET of a tenant new to the container: session + boto3 client"
    results["warm_token_verify_instructions"] = warm_token(staged, invocations, fresh=True)
    results["warm_token_cached_instructions"] = warm_token(staged, invocations, fresh=False)
    baselines["warm_token_verify_instructions"] = "authorizer call, a token not seen yet: RS256 and claims"  # noqa: S105
    baselines["warm_token_cached_instructions"] = "authorizer call, a token seen before (in-container)"  # noqa: S105


def _ddb(quick: bool, results: dict[str, Any], baselines: dict[str, str]) -> None:
    print("counting DynamoDB calls and items read (moto) ...", flush=True)
    with moto_functions() as (client, handlers):
        results["ddb_calls_per_op"] = ddb_calls(handlers, client)
        results["list_scanned_per_returned"] = scanned_per_returned(
            handlers, client, [50, 200] if quick else [50, 1000, 10000]
        )
        results["sts_calls_scoped"] = sts_calls(handlers, client)  # last: it resets the wiring's clients
    baselines["ddb_calls_per_op"] = "1 call (the least an operation can make)"
    baselines["sts_calls_scoped"] = "0 STS calls with the function's own role (TENANT_ROLE_ARN empty)"
    baselines["list_scanned_per_returned"] = "1.0 (every item read is returned) + 1 look-ahead item per full page"


def _artifacts(staged: dict[str, Path], results: dict[str, Any], baselines: dict[str, str]) -> None:
    print("measuring artifacts ...", flush=True)
    largest, authorizer, uncompiled, where = artifacts(staged)
    results["artifact_zip_bytes"] = largest
    results["authorizer_artifact_zip_bytes"] = authorizer
    baselines["authorizer_artifact_zip_bytes"] = "the authorizer + SharedLayer + AuthLayer (joserfc, cryptography)"
    results["uncompiled_py"] = uncompiled
    baselines["artifact_zip_bytes"] = baselines["uncompiled_py"] = where


def _local(quick: bool, results: dict[str, Any], baselines: dict[str, str]) -> None:
    requests = 100 if quick else 2000
    print(f"measuring local latency, {requests} requests on one connection ...", flush=True)
    p50, p99, floor, first_feed, later_feed = local_latency(requests)
    results["local_p50_ms"], results["local_p99_ms"] = p50, p99
    baselines["local_p50_ms"] = baselines["local_p99_ms"] = floor
    results["local_feed_seconds"] = {"first_after_start": first_feed, "later": later_feed}
    baselines["local_feed_seconds"] = "the goal: locally, an event appears within two seconds of the change"
