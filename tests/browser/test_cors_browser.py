"""A web page on another origin calls the API in real headless Chromium (CORS, as browsers enforce it).

The API is `make start`'s server; the page is served by a plain HTTP server on another port of
127.0.0.1, which makes it another origin. With any origin allowed (the default), the page lists,
creates, reads the `ETag`, updates with `If-Match`, deletes, and reads the gateway's own errors,
once with an API key and once as a signed-in user, with an `Authorization: Bearer` access token of
the server's own OIDC issuer, as `make token` prints it (its preflight must allow `Authorization`).
With the origins restricted to one, a page on that origin still can, and a page on any other
origin cannot read a single response.

Chromium is Debian's (`apt-get install -y chromium`), driven by Playwright for Python; where none
is installed the test is skipped with a warning, unless TODO_REQUIRE_BROWSER=1 (CI) makes that
a failure.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import sys
import warnings
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from devtools.local.serve import Served, served
from tests.servers import serving

CHROMIUM = os.environ.get("TODO_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
PAGE = b"<!doctype html><html><head><title>todo app</title></head><body>another origin</body></html>"

# Everything the page does, in the page: each call's status and the headers and body it could read,
# or "blocked" when the browser refused to let the page read the response.
SCRIPT = """
async ({api, auth}) => {
  const keyed = auth;  // {"x-api-key": key} or {"Authorization": "Bearer " + token}
  const json = {...keyed, "Content-Type": "application/json"};
  const call = async (path, init) => {
    try {
      const r = await fetch(api + path, init);
      const text = await r.text();
      return {status: r.status, etag: r.headers.get("ETag"), location: r.headers.get("Location"),
              retryAfter: r.headers.get("Retry-After"), body: text ? JSON.parse(text) : null};
    } catch (error) {
      return {blocked: String(error)};
    }
  };
  const out = {};
  out.welcome = await call("/", {});
  out.create = await call("/todos", {method: "POST", headers: json, body: JSON.stringify({title: "from a web page"})});
  const id = out.create.body && out.create.body.id;
  out.list = await call("/todos?limit=100", {headers: keyed});
  out.get = await call("/todos/" + id, {headers: keyed});
  const etag = out.get.etag;
  out.update = await call("/todos/" + id,
    {method: "PATCH", headers: {...json, "If-Match": etag}, body: JSON.stringify({completed: true})});
  out.stale = await call("/todos/" + id,
    {method: "PUT", headers: {...json, "If-Match": etag}, body: JSON.stringify({title: "stale"})});
  out.delete = await call("/todos/" + id, {method: "DELETE", headers: {...keyed, "If-Match": '"2"'}});
  out.gone = await call("/todos/" + id, {headers: keyed});
  out.noKey = await call("/todos", {});
  out.badKey = await call("/todos", {headers: {"x-api-key": "no-such-key"}});
  out.badToken = await call("/todos", {headers: {"Authorization": "Bearer e30.e30.c2lnbmF0dXJl"}});
  out.unknownRoute = await call("/nope", {});  // no custom header, no preflight: an unknown path has none
  out.tooLarge = await call("/todos",
    {method: "POST", headers: json, body: JSON.stringify({title: "x".repeat(70000)})});
  out.badBody = await call("/todos", {method: "POST", headers: json, body: "{}"});
  return out;
}
"""


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, *args: Any) -> None:
        pass


@contextlib.contextmanager
def page_origin() -> Iterator[str]:
    """A web app's origin: http://127.0.0.1:<a free port>, serving a blank page."""
    with serving(ThreadingHTTPServer(("127.0.0.1", 0), _Page)) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        message = (
            f"BROWSER TEST SKIPPED: no Chromium at {CHROMIUM} (apt-get install -y chromium); "
            "CORS was not tested in a browser"
        )
        if os.environ.get("TODO_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        warnings.warn(message, stacklevel=1)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield chromium
        chromium.close()


def run_page(browser: Any, origin: str, api: str, auth: dict[str, str]) -> dict[str, Any]:
    page = browser.new_page()
    try:
        page.goto(origin + "/app.html")
        assert page.evaluate("location.origin") == origin
        result: dict[str, Any] = page.evaluate(SCRIPT, {"api": api, "auth": auth})
        return result
    finally:
        page.close()


def assert_the_app_works(out: dict[str, Any]) -> None:
    assert out["welcome"]["status"] == 200, out["welcome"]
    assert out["create"]["status"] == 201, out["create"]
    todo = out["create"]["body"]
    assert out["create"]["location"] == f"/todos/{todo['id']}"  # Location is exposed to the page
    assert out["list"]["status"] == 200, out["list"]
    assert todo["id"] in [item["id"] for item in out["list"]["body"]["items"]]
    assert out["get"]["status"] == 200, out["get"]
    assert out["get"]["etag"] == '"1"'  # ETag is exposed to the page
    assert out["update"]["status"] == 200, out["update"]
    assert out["update"]["body"]["completed"] is True
    assert out["stale"]["status"] == 412, out["stale"]  # the old ETag no longer matches
    assert out["delete"]["status"] == 200, out["delete"]
    assert out["gone"]["status"] == 404, out["gone"]
    # The gateway's own answers are readable too: no key, a bad key, an unknown route, a huge body.
    assert out["noKey"]["status"] == 401, out["noKey"]
    assert out["noKey"]["body"] == {"error": "Missing or invalid API key"}
    assert out["badKey"]["status"] == 401, out["badKey"]
    assert out["badToken"]["status"] == 401, out["badToken"]
    assert out["badToken"]["body"] == {"error": "Missing or invalid API key"}
    assert out["unknownRoute"]["status"] == 404, out["unknownRoute"]
    assert out["tooLarge"]["status"] == 413, out["tooLarge"]
    assert out["badBody"]["status"] == 400, out["badBody"]
    assert out["badBody"]["body"]["error"]


def token_of(server: Served, user: str) -> str:
    """An access token of the server's OIDC issuer, printed on its last line by `make token`'s command."""
    run = subprocess.run(
        [sys.executable, "-m", "devtools.oidc", "token", "--user", user],
        env={**os.environ, "DYNAMODB_LOCAL_DIR": str(server.data_dir)},  # the server's own issuer and key
        capture_output=True,
        text=True,
        check=True,
    )
    return run.stdout.strip().splitlines()[-1]


def test_a_page_on_another_origin_uses_the_api(browser: Any) -> None:
    key = f"browser-{secrets.token_hex(8)}"
    with served({"browser": key}) as server, page_origin() as origin:
        assert origin != server.url
        assert_the_app_works(run_page(browser, origin, server.url, {"x-api-key": key}))


def test_a_signed_in_user_on_another_origin_uses_the_api_with_a_bearer_token(browser: Any) -> None:
    with served({"browser": f"browser-{secrets.token_hex(8)}"}) as server, page_origin() as origin:
        token = token_of(server, f"browser-user-{secrets.token_hex(4)}")
        out = run_page(browser, origin, server.url, {"Authorization": f"Bearer {token}"})
    assert_the_app_works(out)
    assert [item["id"] for item in out["list"]["body"]["items"]] == [out["create"]["body"]["id"]]  # a new user's own


def test_restricted_origins_let_only_that_origin_read(browser: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    key = f"browser-{secrets.token_hex(8)}"
    with page_origin() as allowed, page_origin() as other:
        monkeypatch.setenv("CORS_ALLOW_ORIGIN", allowed)  # make start's variable, passed on by served()
        with served({"browser": key}) as server:
            assert_the_app_works(run_page(browser, allowed, server.url, {"x-api-key": key}))
            refused = run_page(browser, other, server.url, {"x-api-key": key})
    readable = {name: call for name, call in refused.items() if "blocked" not in call}
    assert readable == {}, f"a page on {other} could read: {readable}"


def test_the_swagger_ui_page_renders_under_its_content_security_policy(browser: Any) -> None:
    with served({"browser": f"browser-{secrets.token_hex(8)}"}) as server:
        page = browser.new_page()
        refused: list[str] = []
        page.on(
            "console",
            lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None,
        )
        try:
            response = page.goto(server.url + "/docs")
            assert response is not None
            assert "script-src 'sha256-" in response.headers["content-security-policy"]
            page.wait_for_selector(".swagger-ui .info .title", timeout=30000)
            assert "To-Do" in page.inner_text(".swagger-ui .info .title")
            assert page.locator(".opblock").count() > 5  # the operations are listed
        finally:
            page.close()
    assert refused == []
