"""The local console (`/_console/` of `make start`) in real headless Chromium, while `make start`'s real
server process serves: requests made with urllib show up live with their function and cold/warm
mark, a poisoned stream record shows in the dead letters, a tenant's usage chart draws, no API key
or access token is anywhere on the page or in its JSON, and clients that are not on the loopback
(by peer address or by Host header) are refused. The last test takes the docs' screenshot: into
its temporary folder, or over docs/assets/console.png with TODO_WRITE_SCREENSHOTS=1 (`make
screenshots`), so that a test run leaves the checkout as it was.

The oracles are the server's own request log (its `cold <ms> ms` mark, written by the gateway, not
the console), the dead-letter file, and the requests the test made itself. Waits have generous
deadlines and the delays are printed as figures, never asserted.

Chromium is Debian's (`apt-get install -y chromium`), driven by Playwright for Python; where none
is installed the test is skipped with a warning, unless TODO_REQUIRE_BROWSER=1 (CI) makes that
a failure.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devtools.emulator import dynamodb
from devtools.emulator.template import local_table_name
from devtools.local.serve import Served, served
from todo_api.domain.keys import key_hash

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "assets" / "console.png"
CHROMIUM = os.environ.get("TODO_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
TENANT, OTHER = "console", "globex"
POISONED = "poisoned"  # a tenant of its own: its todos list would fail on the poisoned item
WAIT_MS = 30_000  # a bound on each wait for an outcome, not a timing goal


def require_or_skip(message: str) -> None:
    if os.environ.get("TODO_REQUIRE_BROWSER") == "1":
        pytest.fail(message)
    warnings.warn(message, stacklevel=2)
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        require_or_skip(
            f"BROWSER TEST SKIPPED: no Chromium at {CHROMIUM} (apt-get install -y chromium); "
            "the local console was not tested"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def keys() -> dict[str, str]:
    return {TENANT: f"console-{secrets.token_hex(16)}", OTHER: f"globex-{secrets.token_hex(16)}"}


@pytest.fixture(scope="module")
def server(keys: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with served(keys, data_dir=tmp_path_factory.mktemp("console-data")) as running:
        yield running


@pytest.fixture
def page(browser: Any, server: Served) -> Iterator[Any]:
    page = browser.new_page(viewport={"width": 1600, "height": 900})
    page.goto(server.url + "/_console/")
    yield page
    page.close()


def call(server: Served, method: str, path: str, headers: dict[str, str], body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        server.url + path, data=data, method=method, headers={**headers, "Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # our own loopback server
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def logged_cold(server: Served, method: str, path: str) -> list[bool]:
    """Per request line of the server's own log for `method path`: whether it was a cold start."""
    pattern = re.compile(rf"^{method} {re.escape(path)} \d{{3}} \S+ \d+ms.*$", re.M)
    return [" cold " in line for line in pattern.findall(server.log.read_text())]


def wait_until(what: str, predicate: Any, seconds: float = 90.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := predicate():
            return result
        time.sleep(0.05)
    raise AssertionError(f"not within {seconds:.0f} s: {what}")


def open_tab(page: Any, name: str) -> None:
    page.click(f"nav button[data-tab={name}]")


def test_a_request_shows_live_with_its_function_and_cold_or_warm_mark(
    page: Any, server: Served, keys: dict[str, str]
) -> None:
    # GetTodoFunction serves nothing else in this module: its first request starts an instance.
    missing = f"/todos/01JCONSOLE{secrets.token_hex(8).upper()}"
    marks = []
    for _ in range(2):
        rows = page.locator("#request-rows tr", has_text=missing)
        before = rows.count()
        status, _body = call(server, "GET", missing, {"x-api-key": keys[TENANT]})
        assert status == 404
        sent = time.monotonic()
        # The new row, without reloading the page (the newest row comes first).
        page.wait_for_function(
            "([path, n]) => [...document.querySelectorAll('#request-rows tr')]"
            ".filter(r => r.textContent.includes(path)).length > n",
            arg=[missing, before],
            timeout=WAIT_MS,
        )
        row = rows.first
        print(f"\nFIGURE seconds until the request showed in the console: {time.monotonic() - sent:.2f}")
        assert row.get_attribute("data-function") == "GetTodoFunction"
        marks.append(row.locator("td[data-start]").get_attribute("data-start"))
        cells = row.locator("td").all_inner_texts()
        assert cells[1:5] == ["GET", missing, "404", TENANT]
        assert cells[6] == "GetTodoFunction"
    # The server's own log says which of the two started an instance (the gateway's mark, not the console's).
    assert marks == ["cold" if cold else "warm" for cold in logged_cold(server, "GET", missing)]
    assert marks == ["cold", "warm"]
    cold_row = page.locator("#request-rows tr", has_text=missing).last
    assert re.search(r"cold \(init \d+\.\d ms\)", cold_row.inner_text())
    assert re.search(r"pid \d+", cold_row.inner_text())
    if Path("/proc/self/status").exists():  # peak memory against the template's MemorySize (Linux)
        assert re.fullmatch(r"\d+(\.\d)? / 512 MB", cold_row.locator("td").nth(10).inner_text())
    # The function's own figures: both invocations, one cold start, its instance warm now.
    open_tab(page, "functions")
    function = page.locator("#function-rows tr[data-function=GetTodoFunction] td")
    page.wait_for_function(
        "() => document.querySelector('#function-rows tr[data-function=GetTodoFunction]') !== null", timeout=WAIT_MS
    )
    figures = function.all_inner_texts()
    assert figures[1:4] == ["1 / 0 / 1", "2", "1"]


def test_a_poisoned_stream_record_shows_in_the_dead_letters(page: Any, server: Served) -> None:
    poison_id = f"01JPOISON{secrets.token_hex(8).upper()}"
    endpoint = (server.data_dir / "endpoint").read_text().strip()
    # A todo item the stream consumer cannot read (no title, a version that is not a number): it
    # reports it as a failed record, every time, until it goes to the dead letters.
    dynamodb.client(endpoint).put_item(
        TableName=local_table_name("TodoTable"),
        Item={
            "PK": {"S": f"TENANT#{POISONED}"},
            "SK": {"S": f"TODO#{poison_id}"},
            "entity": {"S": "todo"},
            "tenant": {"S": POISONED},
            "version": {"S": "not a number"},
        },
    )
    dead_letters = server.data_dir / "stream-dlq.jsonl"

    def dead_letter() -> Any:
        lines = dead_letters.read_text().splitlines() if dead_letters.is_file() else []
        return next((json.loads(line) for line in lines if poison_id in line), None)

    letter = wait_until("the poisoned record in the dead-letter file", dead_letter)
    open_tab(page, "events")
    shown = page.locator("#dead-letters .letter", has_text=poison_id)
    shown.wait_for(timeout=WAIT_MS)
    text = shown.inner_text()
    info = letter["DDBStreamBatchInfo"]
    assert info["shardId"] in text
    assert f"{info['startSequenceNumber']}..{info['endSequenceNumber']}" in text
    assert "RetryAttemptsExhausted" in text
    # The failed batches that led there, and the mapping's position past the record.
    page.locator("#batch-rows tr", has_text="failed").first.wait_for(timeout=WAIT_MS)
    page.locator("#mappings", has_text=info["endSequenceNumber"]).wait_for(timeout=WAIT_MS)


def test_a_tenants_usage_chart_draws(page: Any, server: Served, keys: dict[str, str]) -> None:
    created = 3
    for n in range(created):
        status, _ = call(server, "POST", "/todos", {"x-api-key": keys[OTHER]}, {"title": f"usage {n}"})
        assert status == 201
    status, _ = call(server, "POST", "/todos", {"x-api-key": keys[OTHER]}, {"title": ""})
    assert status == 400
    open_tab(page, "usage")
    page.wait_for_function("() => Number(document.getElementById('usage').dataset.drawn) >= 1", timeout=WAIT_MS)
    legend = page.locator("#usage-chart").inner_text()
    assert f"{OTHER} requests" in legend
    # The chart's canvas has pixels drawn on it (uPlot draws the series into a <canvas>).
    # The series drawn: the tenant's requests add up to what the table counts for it, the requests made here at least.
    plotted = page.evaluate(
        """(label) => { const chart = window.consoleCharts[0];
                        const index = chart.series.findIndex((s) => s.label === label);
                        return chart.data[index].reduce((sum, n) => sum + (n || 0), 0); }""",
        f"{OTHER} requests",
    )
    counted = sum(int(row.locator("td").nth(3).inner_text()) for row in page.locator("#usage-rows tr").all()
                  if row.locator("td").first.inner_text() == OTHER)  # fmt: skip
    assert plotted == counted >= created + 1
    drawn = page.evaluate(
        """() => { const c = document.querySelector('#usage-chart canvas');
                   const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                   let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; }"""
    )
    assert drawn > 0
    row = page.locator("#usage-rows tr", has_text=OTHER).filter(has_text="/todos").filter(has_text="POST")
    cells = row.first.locator("td").all_inner_texts()
    assert cells[:5] == [OTHER, "POST", "/todos", str(created + 1), "1"]  # the requests made here, one a 400


def token_of(server: Served, user: str) -> str:
    """An access token of the server's OIDC issuer, printed on its last line by `make token`'s command."""
    run = subprocess.run(
        [sys.executable, "-m", "devtools.oidc", "token", "--user", user],
        env={**os.environ, "DYNAMODB_LOCAL_DIR": str(server.data_dir)},
        capture_output=True,
        text=True,
        check=True,
    )
    return run.stdout.strip().splitlines()[-1]


def make_key(server: Served, tenant: str) -> str:
    """A new key of `tenant`, as `make key` stores it while the server runs (the server is not told of it)."""
    key = f"made-{secrets.token_hex(16)}"
    subprocess.run(
        [sys.executable, "-m", "devtools.keys", "create", "--tenant", tenant, "--key", key],
        env={**{k: v for k, v in os.environ.items() if k != "TABLE_NAME"}, "DYNAMODB_LOCAL_DIR": str(server.data_dir)},
        capture_output=True,
        check=True,
    )
    return key


def test_no_key_or_token_is_visible_anywhere(page: Any, server: Served, keys: dict[str, str]) -> None:
    token = token_of(server, f"console-user-{secrets.token_hex(4)}")
    key = make_key(server, TENANT)  # not in TODO_LOCAL_API_KEYS: only the redaction by name hides it
    assert (
        call(server, "POST", "/todos", {"x-api-key": key, "Cookie": f"session={key}"}, {"title": "with a key"})[0]
        == 201
    )
    assert call(server, "GET", "/todos", {"Authorization": f"Bearer {token}"})[0] == 200
    assert call(server, "GET", f"/todos?api_key={key}&token={token}", {"x-api-key": key})[0] in (200, 400)
    seen: list[str] = []
    page.locator("#request-rows tr", has_text="?api_key=").first.wait_for(timeout=WAIT_MS)
    rows = page.locator("#request-rows tr")
    for index in range(rows.count()):
        row = rows.nth(index)
        seq = row.get_attribute("data-seq")
        row.click()
        page.wait_for_function(
            "(seq) => document.getElementById('request-detail').dataset.seq === seq", arg=seq, timeout=WAIT_MS
        )
        seen.append(page.locator("#request-detail").inner_text())
    seen.append(page.content())
    for tab in ("functions", "events", "usage", "data"):
        open_tab(page, tab)
        page.wait_for_timeout(300)
        seen += [page.content(), page.locator("body").inner_text()]
    # The data browser: each tenant's API keys, as hashes only.
    page.select_option("#data-tenant", TENANT)
    page.select_option("#data-kind", "keys")
    page.click("#data-form button[type=submit]")
    page.locator("#data-items", has_text=key_hash(key)).wait_for(timeout=WAIT_MS)
    seen.append(page.locator("body").inner_text())
    # And every answer of the console's JSON API, as the page would read it.
    seen += page.evaluate(
        """async (tenant) => {
             const paths = ["/requests", "/functions", "/events", "/usage", "/tenants"];
             for (const kind of ["todos", "activity", "keys", "claims"]) {
               paths.push(`/data?tenant=${tenant}&kind=${kind}`);
             }
             const out = [];
             for (const p of paths) out.push(await (await fetch("/_console/api" + p)).text());
             const {requests} = JSON.parse(out[0]);
             for (const r of requests) out.push(await (await fetch("/_console/api/requests/" + r.seq)).text());
             return out; }""",
        TENANT,
    )
    everything = "\n".join(seen)
    # The events' headers were shown, redacted.
    assert re.search(r'"x-api-key": "\[redacted\]"', everything, re.IGNORECASE)
    assert re.search(r'"authorization": "\[redacted\]"', everything, re.IGNORECASE)
    assert re.search(r'"cookie": "\[redacted\]"', everything, re.IGNORECASE)
    for secret in (key, keys[TENANT], keys[OTHER], token, token.split(".")[-1]):
        assert secret not in everything


def non_loopback_address() -> str | None:
    """This machine's address on its default route (no packet is sent), if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
            address = str(probe.getsockname()[0])
        except OSError:
            return None
    return None if address.startswith("127.") else address


def status_of(port: int, path: str, host: str | None = None, source: str | None = None) -> int:
    connection = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=30, source_address=(source, 0) if source else None
    )
    try:
        connection.request("GET", path, headers={"Host": host} if host else {})
        return connection.getresponse().status
    finally:
        connection.close()


def test_the_console_refuses_clients_that_are_not_on_the_loopback(server: Served) -> None:
    port = int(server.url.rsplit(":", 1)[1])
    assert status_of(port, "/_console/") == 200
    assert status_of(port, "/_console/api/requests") == 200
    # A Host that is not the loopback (DNS rebinding: a page of another site resolving to 127.0.0.1).
    for host in ("console.example", f"console.example:{port}", "192.0.2.7", "127.0.0.1.example"):
        assert status_of(port, "/_console/", host=host) == 403, host
        assert status_of(port, "/_console/api/requests", host=host) == 403, host
    assert status_of(port, "/_console/", host=f"localhost:{port}") == 200
    # A peer that is not the loopback: a connection from this machine's own network address.
    address = non_loopback_address()
    if address is None:
        require_or_skip("CONSOLE PEER CHECK SKIPPED: this machine has no non-loopback address to connect from")
    assert status_of(port, "/", source=address) == 200  # the connection works: the API answers it
    assert status_of(port, "/_console/", source=address) == 403
    assert status_of(port, "/_console/api/requests", source=address) == 403
    assert status_of(port, "/_console/static/console.js", source=address) == 403


def test_the_screenshot_of_the_docs(page: Any, server: Served, keys: dict[str, str], tmp_path: Path) -> None:
    for path in ("/todos", "/activity"):
        call(server, "GET", path, {"x-api-key": keys[TENANT]})
    call(server, "POST", "/todos", {"x-api-key": keys[OTHER]}, {"title": "for the screenshot"})
    row = page.locator("#request-rows tr", has_text="/activity").first
    row.wait_for(timeout=WAIT_MS)
    row.click()
    page.locator("#detail-event").wait_for()
    shot = SCREENSHOT if os.environ.get("TODO_WRITE_SCREENSHOTS") == "1" else tmp_path / SCREENSHOT.name
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot), full_page=False)
    assert shot.stat().st_size > 10_000
