"""An execution environment per instance, as Lambda has, through real worker processes.

The server runs on a copy of the project's tree whose DocsFunction, ListActivityFunction and
ListTodosFunction are a probe handler (below) with limits of their own in the copied template:
the probe reports its process, counts what its instance served (a module global) and can wait for
a meeting, block on a gate file, sleep or allocate memory.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from devtools.emulator import dynamodb, instances
from devtools.local.serve import served
from tests.local.conftest import ROOT, Local, local_api

PROBE = """
import json
import os
import sys
import time
from pathlib import Path

ROOM = Path({room!r})
_served = []  # a module global: what this instance served
PRELOADED = sorted(name for name in ("boto3", "pydantic", "tests") if name in sys.modules)  # before this import


def lambda_handler(event, context):
    query = event.get("queryStringParameters") or {{}}
    mode = query.get("mode", "info")
    _served.append(mode)
    started = time.time()
    if mode == "meet":  # wait (bounded) until `n` invocations are inside a handler at once
        (ROOM / f"{{os.getpid()}}-{{len(_served)}}").touch()
        deadline = time.monotonic() + 25
        while len(list(ROOM.iterdir())) < int(query["n"]) and time.monotonic() < deadline:
            time.sleep(0.01)
    elif mode == "gate":  # say so, then wait for the gate file
        (ROOM / "inside").touch()
        while not (ROOM / "gate").exists():
            time.sleep(0.01)
    elif mode == "hold":  # say so (one file per invocation), then wait for the gate file
        (ROOM / f"held-{{os.getpid()}}-{{len(_served)}}").touch()
        while not (ROOM / "gate").exists():
            time.sleep(0.01)
    elif mode == "sleep":
        time.sleep(float(query["s"]))
    elif mode == "alloc":
        hold = b"x" * (int(query["mb"]) * 2**20)
        time.sleep(0.5)
        del hold
    body = {{"pid": os.getpid(), "served": len(_served), "met": len(list(ROOM.iterdir())), "started": started,
             "ended": time.time(), "function": context.function_name, "env": os.environ.get("AWS_LAMBDA_FUNCTION_NAME"),
             "table": os.environ.get("TABLE_NAME"), "idempotency": os.environ.get("IDEMPOTENCY_TABLE_NAME"),
             "preloaded": PRELOADED, "sid": os.getsid(0), "cwd": os.getcwd(), "parent": os.getppid()}}
    return {{"statusCode": 200, "headers": {{"Content-Type": "application/json"}}, "body": json.dumps(body)}}
"""

# The probe's functions and the limits the copied template gives them; this machine's limit
# (TODO_LOCAL_CONCURRENCY) is 2 instances a function.
LOCAL_LIMIT = 2
# The probe's functions and the limits the copied template gives them.
LIMITS = {
    "functions/docs/": "      Timeout: 30\n",
    "functions/list_activity/": "      ReservedConcurrentExecutions: 1\n",
    "functions/list_todos/": "      Timeout: 2\n      MemorySize: 256\n",
}


def probe_tree(tree: Path, room: Path) -> Path:
    """A copy of the project's tree with the probe in the functions of LIMITS; its template.yaml."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "functions", tree / "functions", ignore=ignore)
    shutil.copytree(ROOT / "layers", tree / "layers", ignore=ignore)
    template = (ROOT / "template.yaml").read_text(encoding="utf-8")
    for code_uri, limits in LIMITS.items():
        line = f"      CodeUri: {code_uri}\n"
        assert template.count(line) == 1, code_uri
        template = template.replace(line, line + limits)
        (tree / code_uri / "app.py").write_text(PROBE.format(room=str(room)), encoding="utf-8")
    (tree / "template.yaml").write_text(template, encoding="utf-8")
    return tree / "template.yaml"


@pytest.fixture(scope="module")
def room(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("room")


@pytest.fixture(autouse=True)
def empty_room(room: Path) -> None:
    for path in room.iterdir():
        path.unlink()


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory, room: Path) -> Path:
    return probe_tree(tmp_path_factory.mktemp("probe-tree"), room).parent


@pytest.fixture(scope="module")
def probed(tree: Path, ddb: dynamodb.DynamoDBLocal) -> Iterator[tuple[Local, str]]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TODO_LOCAL_CONCURRENCY", str(LOCAL_LIMIT))  # read when the runner starts
        with local_api(tree / "template.yaml", ddb) as api:
            server = make_server("127.0.0.1", 0, api.app, threaded=True)
            thread = threading.Thread(target=server.serve_forever, daemon=True)
            thread.start()
            try:
                yield api, f"http://127.0.0.1:{server.server_port}"
            finally:
                server.shutdown()


def call(url: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers=headers or {})  # loopback
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def at_once(*calls: Any) -> list[tuple[int, Any]]:
    results: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        results[index] = calls[index]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    return results


def lines_of(api: Local, prefix: str) -> list[str]:
    return [line for line in api.log if line.startswith(prefix)]


def wait_for(predicate: Any, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_concurrent_requests_run_at_once_in_instances_of_their_own(probed: tuple[Local, str], tree: Path) -> None:
    """Both invocations are inside the handler at once (each waits for the other), in two processes
    whose module globals are their own; each of them was a cold start, shown in the request log:
    the code just changed, so no instance of before may serve (hot reload replaces instances)."""
    api, url = probed
    old = call(url + "/?mode=info")[1]["pid"]
    app = tree / "functions/docs/app.py"
    stat = app.stat()
    app.write_text(app.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
    os.utime(app, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # even on coarse clocks
    first, second = at_once(lambda: call(url + "/?mode=meet&n=2"), lambda: call(url + "/?mode=meet&n=2"))
    assert first[0] == second[0] == 200, (first, second)
    assert first[1]["met"] == second[1]["met"] == 2  # neither finished before the other had begun
    assert first[1]["pid"] != second[1]["pid"]
    assert max(first[1]["started"], second[1]["started"]) < min(first[1]["ended"], second[1]["ended"])
    assert first[1]["served"] == second[1]["served"] == 1  # globals per instance
    assert {first[1]["pid"], second[1]["pid"]}.isdisjoint({os.getpid(), old})
    cold = lines_of(api, "GET /?mode=meet&n=2 200 DocsFunction")
    assert len(cold) == 2, api.log
    assert all(" cold " in line for line in cold), api.log


def test_a_warm_instance_is_reused_and_knows_its_function(probed: tuple[Local, str]) -> None:
    api, url = probed
    status, first = call(url + "/?mode=info")
    assert status == 200
    status, body = call(url + "/?mode=info")
    assert status == 200
    assert (body["pid"], body["served"]) == (first["pid"], first["served"] + 1)  # the same instance again
    assert " cold " not in api.log[-1]
    # Each instance's environment is its function's own: its name, only its own variables.
    assert (body["function"], body["env"]) == ("DocsFunction", "DocsFunction")
    assert body["table"] is not None
    assert body["idempotency"] is None  # IDEMPOTENCY_TABLE_NAME is CreateTodoFunction's


def test_an_instance_is_forked_from_a_template_that_loaded_only_the_runtime(probed: tuple[Local, str]) -> None:
    """The probe imports nothing of the SDK or pydantic, yet they are loaded when its module runs:
    the instance was forked from the template of new instances, which imported the runtime's modules
    (never the project's: `tests` is not there). It is still a process and session of its own, in
    its code folder, whose parent is the template, not the server."""
    api, url = probed
    status, body = call(url + "/?mode=info")
    assert status == 200
    assert body["preloaded"] == ["boto3", "pydantic"]
    assert body["sid"] == body["pid"] != os.getpid()
    assert body["parent"] != os.getpid()
    assert body["cwd"].endswith("functions/docs")
    template = api.gateway.runner._template
    assert template is not None
    assert body["parent"] == template.process.pid


def test_an_idle_instance_is_reclaimed_and_the_next_request_starts_a_new_one(probed: tuple[Local, str]) -> None:
    """As Lambda reclaims idle environments: the pool stops the instances idle for the given time
    (the server does it every few seconds for TODO_LOCAL_IDLE_SECONDS); the next request is cold."""
    api, url = probed
    status, before = call(url + "/?mode=info")
    assert status == 200
    pool = api.gateway.runner.pool(api.gateway.runner.get_function("DocsFunction"))
    assert pool.reclaim(3600) == 0  # not idle that long
    assert pool.reclaim(0) >= 1
    status, after = call(url + "/?mode=info")
    assert status == 200
    assert after["pid"] != before["pid"]
    assert after["served"] == 1
    assert " cold " in api.log[-1]
    assert not Path(f"/proc/{before['pid']}").exists() or _zombie(before["pid"])


def test_beyond_its_reserved_concurrency_a_request_is_throttled_with_retry_after(
    probed: tuple[Local, str], room: Path
) -> None:
    """ListActivityFunction has ReservedConcurrentExecutions 1: while its one instance is busy,
    another request is refused at once, with the template's INTEGRATION_FAILURE gateway response
    (what API Gateway answers for a throttled Lambda): 503, Retry-After and the contract's body."""
    api, url = probed
    headers = api.headers(next(iter(api.keys)))
    results: list[Any] = []
    blocked = threading.Thread(target=lambda: results.append(call(url + "/activity?mode=gate", headers)))
    blocked.start()
    try:
        wait_for((room / "inside").exists, "the first request inside the handler")
        request = urllib.request.Request(url + "/activity?mode=info", headers=headers)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=120)  # loopback
        assert refused.value.code == 503
        assert refused.value.headers["Retry-After"] == "1"
        assert refused.value.headers["Content-Type"] == "application/json"
        assert refused.value.headers["Access-Control-Expose-Headers"] == "ETag, Location, Retry-After"
        assert json.loads(refused.value.read()) == {"error": "Service is busy, retry later"}
        assert lines_of(api, "GET /activity?mode=info 503 ListActivityFunction"), api.log
    finally:
        (room / "gate").touch()
        blocked.join(120)
    assert results[0][0] == 200
    assert call(url + "/activity?mode=info", headers)[0] == 200  # the instance is free again


def test_beyond_the_local_limit_a_request_waits_for_a_free_instance(probed: tuple[Local, str], room: Path) -> None:
    """DocsFunction has no reserved concurrency, so on the stage it scales: here, past this machine's
    limit of LOCAL_LIMIT instances, a request waits until one is free and is then served by it: no
    error, and no instance beyond the limit."""
    _api, url = probed
    results: list[Any] = []
    burst = LOCAL_LIMIT + 2
    threads = [threading.Thread(target=lambda: results.append(call(url + "/?mode=hold"))) for _ in range(burst)]
    for thread in threads:
        thread.start()
    try:
        wait_for(lambda: len(list(room.glob("held-*"))) >= LOCAL_LIMIT, "the limit's invocations inside the handler")
    finally:
        (room / "gate").touch()
        for thread in threads:
            thread.join(120)
    assert [status for status, _ in results] == [200] * burst, results
    assert len({body["pid"] for _, body in results}) == LOCAL_LIMIT  # the waiting ones ran in those instances
    assert len(list(room.glob("held-*"))) == burst


def test_past_its_timeout_a_function_is_stopped_and_its_instance_replaced(probed: tuple[Local, str]) -> None:
    """ListTodosFunction has Timeout 2: a 60 s invocation is stopped and answered 502 as API Gateway
    answers a function error; the next request gets a new instance."""
    api, url = probed
    headers = api.headers(next(iter(api.keys)))
    status, before = call(url + "/todos?mode=info", headers)
    assert status == 200
    assert call(url + "/todos?mode=sleep&s=60", headers) == (502, {"error": "Internal server error"})
    assert lines_of(api, "GET /todos?mode=sleep&s=60 502 ListTodosFunction"), api.log
    status, after = call(url + "/todos?mode=info", headers)
    assert status == 200
    assert after["pid"] != before["pid"]
    assert after["served"] == 1
    assert " cold " in api.log[-1]
    assert not Path(f"/proc/{before['pid']}").exists() or _zombie(before["pid"])


@pytest.mark.parametrize("proc", [True, False], ids=["by-proc", "by-reported-peak"])
def test_over_its_memory_size_a_function_fails_as_out_of_memory(
    probed: tuple[Local, str], monkeypatch: pytest.MonkeyPatch, proc: bool
) -> None:
    """ListTodosFunction has MemorySize 256: holding 400 MB kills its instance (502); 50 MB does not.
    Where /proc is missing (macOS), the peak an instance reports with its response (getrusage) is
    checked after the invocation, with the same outcome."""
    if not proc:
        monkeypatch.setattr(instances, "PROC_MEMORY", False)
        monkeypatch.setattr(instances, "_memory_kb", lambda pid, field: pytest.fail("/proc read"))
    api, url = probed
    headers = api.headers(next(iter(api.keys)))
    status, small = call(url + "/todos?mode=alloc&mb=50", headers)
    assert status == 200
    assert call(url + "/todos?mode=alloc&mb=400", headers) == (502, {"error": "Internal server error"})
    status, after = call(url + "/todos?mode=info", headers)
    assert status == 200
    assert after["pid"] != small["pid"]
    assert after["served"] == 1


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except OSError:
        return True


def test_instances_die_with_the_server_even_on_kill_9() -> None:
    """The server killed with SIGKILL: its instances notice their pipe close and exit."""
    with served({"acme": "kill-key"}) as local:
        assert call(local.url + "/")[0] == 200
        assert call(local.url + "/todos", {"x-api-key": "kill-key"})[0] == 200
        pids = [
            int(line.split(" pid ")[1].split()[0])
            for line in local.log.read_text().splitlines()
            if " instance pid " in line and line.endswith("ms)")
        ]
        assert len(pids) >= 3, local.log.read_text()[-2000:]  # docs, the authorizer, list
        assert all(Path(f"/proc/{pid}").exists() for pid in pids)
        os.kill(local.process.pid, signal.SIGKILL)
        local.process.wait(30)
        wait_for(lambda: all(_zombie(pid) for pid in pids), "the instances to exit")
