"""The end-to-end suite: the contract over real HTTP, against any base URL.

    TODO_API_URL    base URL, e.g. a stage's `ApiUrl` output; unset: the local server is started
    TODO_API_KEY    a key of tenant A (required with TODO_API_URL)
    TODO_API_KEY_2  a key of another tenant B (optional; without it the cross-tenant tests skip)
    TODO_API_TOKEN  a signed-in user's access token (optional; without it the bearer-token tests skip)
    TODO_API_EMULATOR=sam-cli  the URL is `sam local start-api`: SAM CLI's differences from API
                    Gateway, declared in tests/e2e/sam_cli.py, are expected (see there)

Without TODO_API_URL a session fixture starts `make start`'s server (devtools.local.serve) with two
fresh tenants, under a stage's path (`/dev`, as a deployed stage's URL has it, so that a test
assuming the host's root fails here first), and stops it at the end. Tests create their own todos
with unique titles, never rely on what a deployed table already holds, and delete what they created.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest
import requests

from tests.e2e import sam_cli
from tests.e2e.client import Api, Target


def _env(name: str) -> str | None:
    return os.environ.get(name, "").strip() or None


@pytest.fixture(scope="session")
def target() -> Iterator[Target]:
    url = _env("TODO_API_URL")
    if url is not None:
        key = _env("TODO_API_KEY")
        if key is None:
            pytest.fail("TODO_API_URL is set but TODO_API_KEY (a key of the tenant to test as) is not")
        yield Target(url.rstrip("/"), key, _env("TODO_API_KEY_2"), local=False, token=_env("TODO_API_TOKEN"))
        return
    from devtools import oidc  # only here: against a deployed stage the suite needs no devtools
    from devtools.local.serve import served

    keys = {"e2e-a": f"e2e-a-{secrets.token_hex(16)}", "e2e-b": f"e2e-b-{secrets.token_hex(16)}"}
    with served(keys, stage="dev") as server:
        issuer = server.data_dir / "oidc"  # the server's own issuer, as `make token` finds it
        token = oidc.issue(oidc.issuer_url(issuer), f"e2e-{secrets.token_hex(4)}", folder=issuer)
        yield Target(server.url, keys["e2e-a"], keys["e2e-b"], local=True, token=token)


EMULATOR = (os.environ.get("TODO_API_EMULATOR") or "").strip() or None
# Every response of the running test, for checking a declared SAM CLI difference.
_RESPONSES: list[requests.Response] = []
_HELD = pytest.StashKey[sam_cli.Answer]()


def _record(response: requests.Response, *args: object, **kwargs: object) -> None:
    _RESPONSES.append(response)


@pytest.fixture(scope="session")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.hooks["response"].append(_record)
        yield session


def pytest_configure(config: pytest.Config) -> None:
    if EMULATOR not in (None, "sam-cli"):
        raise pytest.UsageError(f"TODO_API_EMULATOR={EMULATOR!r}: only 'sam-cli' is known")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if EMULATOR != "sam-cli":
        return
    for item in items:
        difference = sam_cli.declared(item.nodeid)
        if isinstance(difference, sam_cli.Skip):
            item.add_marker(pytest.mark.skip(reason=f"declared SAM CLI difference: {difference.why}"))


def _body(response: requests.Response) -> object:
    try:
        return response.json()
    except ValueError:
        return response.text


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Under SAM CLI, a test with a declared answer must fail with that answer among its responses."""
    difference = sam_cli.declared(item.nodeid) if EMULATOR == "sam-cli" else None
    if not isinstance(difference, sam_cli.Answer):
        return (yield)
    _RESPONSES.clear()
    try:
        yield
    except AssertionError as error:
        answers = [(r.status_code, _body(r)) for r in _RESPONSES]
        if any(difference.matches(status, body) for status, body in answers):
            item.stash[_HELD] = difference
            return None
        raise AssertionError(
            f"declared SAM CLI difference {difference} is not among the answers {answers[-5:]}: "
            "a new difference; update tests/e2e/sam_cli.py"
        ) from error
    raise AssertionError(
        f"declared SAM CLI difference {difference} did not occur (the test passes): remove it from tests/e2e/sam_cli.py"
    )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if EMULATOR != "sam-cli":
        return
    held = [r for r in terminalreporter.stats.get("passed", []) if getattr(r, "sam_cli_difference", None)]
    terminalreporter.write_line(f"declared SAM CLI differences held: {len(held)} tests (tests/e2e/sam_cli.py)")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[pytest.TestReport]:
    report: pytest.TestReport = yield
    if call.when == "call" and _HELD in item.stash:
        report.sam_cli_difference = str(item.stash[_HELD])  # type: ignore[attr-defined]
        report.sections.append(("SAM CLI difference", str(item.stash[_HELD])))
    return report


def _deleting_created(client: Api) -> Iterator[Api]:
    yield client
    for todo_id in client.created:
        response = client.request("DELETE", f"/todos/{todo_id}")
        assert response.status_code in (200, 404), response.text


@pytest.fixture
def api(target: Target, http: requests.Session) -> Iterator[Api]:
    """Tenant A; the todos a test creates through it are deleted afterwards."""
    yield from _deleting_created(Api(target.url, target.key, http))


@pytest.fixture
def other(target: Target, http: requests.Session) -> Iterator[Api]:
    """Tenant B, another tenant than `api`'s."""
    if target.other_key is None:
        pytest.skip("cross-tenant test: TODO_API_URL is set without TODO_API_KEY_2 (a key of a second tenant)")
    yield from _deleting_created(Api(target.url, target.other_key, http))


@pytest.fixture
def anonymous(target: Target, http: requests.Session) -> Api:
    """No x-api-key header at all."""
    return Api(target.url, None, http)
