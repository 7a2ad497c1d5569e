"""The end-to-end suite: the contract over real HTTP, against any base URL.

    TODO_API_URL    base URL, e.g. a stage's `ApiUrl` output; unset: the local server is started
    TODO_API_KEY    a key of tenant A (required with TODO_API_URL)
    TODO_API_KEY_2  a key of another tenant B (optional; without it the cross-tenant tests skip)

Without TODO_API_URL a session fixture starts `make start`'s server (devtools.local.serve) with two
fresh tenants and stops it at the end. Tests create their own todos with unique titles, never
rely on what a deployed table already holds, and delete what they created.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest
import requests

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
        yield Target(url.rstrip("/"), key, _env("TODO_API_KEY_2"), local=False)
        return
    from devtools.local.serve import served  # only here: against a deployed stage the suite needs no devtools

    keys = {"e2e-a": f"e2e-a-{secrets.token_hex(16)}", "e2e-b": f"e2e-b-{secrets.token_hex(16)}"}
    with served(keys) as server:
        yield Target(server.url, keys["e2e-a"], keys["e2e-b"], local=True)


@pytest.fixture(scope="session")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


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
