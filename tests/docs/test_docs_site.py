"""The docs site as a reader gets it: built strictly by MkDocs, its home page rendered in headless
Chromium (Debian's, driven by Playwright, as tests/browser does) with the navigation and the
architecture picture drawn by the Mermaid the site serves itself (no network); every alarm of
template.yaml with its runbook; the README's links and picture in step with the pages."""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import warnings
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from devtools.loader import ROOT
from tests.servers import serving

CHROMIUM = os.environ.get("TODO_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    built = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "mkdocs"), "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        check=False,
    )
    assert built.returncode == 0, built.stderr
    return out


def test_the_home_page_renders_with_navigation_and_the_architecture_picture(site: Path, tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("TODO_REQUIRE_BROWSER"):
            pytest.fail(f"no Chromium at {CHROMIUM} (apt-get install -y chromium)")
        warnings.warn(f"SKIPPED: no Chromium at {CHROMIUM} (apt-get install -y chromium)", stacklevel=1)
        pytest.skip("no Chromium")
    from playwright.sync_api import sync_playwright

    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(site))
    with serving(ThreadingHTTPServer(("127.0.0.1", 0), handler)) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            outside: list[str] = []
            page.route(
                re.compile(r"^(?!http://127\.0\.0\.1).*"),
                lambda route: (outside.append(route.request.url), route.abort()),
            )
            # Material draws the picture into a closed shadow root; opened here so the test can read it.
            page.add_init_script(
                "const attach = Element.prototype.attachShadow;"
                "Element.prototype.attachShadow = function (init) {"
                "  return attach.call(this, {...init, mode: 'open'});"
                "};"
            )
            page.goto(url + "/")
            page.wait_for_selector(".mermaid svg", timeout=30_000)
            nav = page.locator("nav.md-nav--primary").first
            assert nav.is_visible()
            for title in ["Getting started", "API", "Operating", "Architecture"]:
                assert nav.get_by_text(title, exact=True).first.count() == 1
            picture = page.locator(".mermaid svg").first
            picture.scroll_into_view_if_needed()
            assert picture.is_visible()
            box = picture.bounding_box()
            assert box is not None
            assert box["width"] > 300
            assert box["height"] > 150
            labels = picture.text_content() or ""
            for node in ["AuthorizerFunction", "TodoTable", "StreamConsumerFunction", "tombstone"]:
                assert node in labels
            page.screenshot(path=str(tmp_path / "home.png"), full_page=True)
            assert (tmp_path / "home.png").stat().st_size > 10_000
            assert not outside, f"the page reached outside the site: {outside}"
        finally:
            browser.close()


def alarms() -> set[str]:
    """Every alarm of the template: the plain ones and the `Fn::ForEach` loops' `${Name}...Alarm`."""

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    template = yaml.load((ROOT / "template.yaml").read_text(encoding="utf-8"), Loader=Loader)
    found = set()
    for name, resource in template["Resources"].items():
        if name.startswith("Fn::ForEach::"):
            found |= {key.replace("${Name}", "Name") for key in resource[2] if key.endswith("Alarm")}
        elif resource.get("Type") == "AWS::CloudWatch::Alarm":
            found.add(name)
    return found


def test_every_alarm_of_the_template_has_its_runbook() -> None:
    operating = (ROOT / "docs" / "operating.md").read_text(encoding="utf-8")
    runbooks = set(re.findall(r"^### (\w+Alarm)$", operating, flags=re.MULTILINE))
    assert len(alarms()) == 10
    assert alarms() == runbooks


def test_the_readme_links_to_pages_that_exist_and_shows_the_sites_picture() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\((docs/[^)#]+)(?:#[^)]*)?\)", readme)
    assert links
    assert [link for link in links if not (ROOT / link).is_file()] == []
    picture = (ROOT / "docs" / "architecture.mmd").read_text(encoding="utf-8")
    assert f"```mermaid\n{picture}```" in readme


def test_the_readme_is_a_landing_page() -> None:
    assert len((ROOT / "README.md").read_text(encoding="utf-8").splitlines()) <= 160
