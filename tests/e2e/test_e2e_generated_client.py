"""A Python client generated from the server's own `/openapi.json` by openapi-python-client drives
the CRUD flow, with the auth setups docs/clients.md gives: an API key
(`AuthenticatedClient(token=KEY, prefix="", auth_header_name="x-api-key")`) and a signed-in user's
access token (`AuthenticatedClient(token=TOKEN)`, `Authorization: Bearer`).

The client is made with `raise_on_unexpected_status=True`, so a status the document does not list
for the operation raises, and each answer is parsed into the model the document names for its
status: a document that says more or less than the server does fails here."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import requests

from tests.e2e.client import TIMEOUT, Api, Target, unique

GENERATOR = Path(sys.executable).with_name("openapi-python-client")
PACKAGE = "todo_api_client"


@pytest.fixture(scope="module")
def generated(target: Target, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The client package, generated as docs/clients.md says, from the document the server serves."""
    assert GENERATOR.exists(), f"{GENERATOR} is missing: it is pinned in requirements/dev.lock.txt (make install)"
    folder = tmp_path_factory.mktemp("generated-client")
    response = requests.get(target.url + "/openapi.json", timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    document = folder / "openapi.json"
    document.write_text(json.dumps(response.json()), encoding="utf-8")
    # The generator formats its output with ruff, found on PATH: the one of this environment.
    env = {**os.environ, "PATH": f"{GENERATOR.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    output = folder / PACKAGE
    command = [str(GENERATOR), "generate", "--path", str(document), "--meta", "none", "--output-path", str(output)]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr  # every part understood
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def _module(package: ModuleType, name: str) -> Any:
    return importlib.import_module(f"{package.__name__}.{name}")


def _crud(generated: ModuleType, client: Any, title: str, created_ids: list[str]) -> Any:
    """Create, get with its ETag, update with If-Match (and a stale one), list, delete: the todo."""
    models = _module(generated, "models")
    todos = "api.todos."
    create = _module(generated, todos + "create_todo_todos_post")
    get = _module(generated, todos + "get_todo_todos_todo_id_get")
    patch = _module(generated, todos + "update_todo_todos_todo_id_patch")
    put = _module(generated, todos + "update_todo_todos_todo_id_put")
    listing = _module(generated, todos + "list_todos_todos_get")
    delete = _module(generated, todos + "delete_todo_todos_todo_id_delete")

    created = create.sync_detailed(client=client, body=models.TodoCreate(title=title))
    assert created.status_code == 201, created.content
    todo = created.parsed
    assert isinstance(todo, models.Todo), created.content
    created_ids.append(todo.id)  # deleted after the test even if it fails midway
    assert (todo.title, todo.completed, todo.version) == (title, False, 1)
    assert created.headers["Location"].endswith(f"/todos/{todo.id}")

    read = get.sync_detailed(todo.id, client=client)
    assert read.status_code == 200
    assert isinstance(read.parsed, models.Todo)
    assert read.parsed.id == todo.id
    etag = read.headers["ETag"]
    assert etag == '"1"'
    unchanged = get.sync_detailed(todo.id, client=client, if_none_match=etag)
    assert unchanged.status_code == 304
    assert unchanged.parsed is None

    updated = patch.sync_detailed(todo.id, client=client, body=models.TodoUpdate(completed=True), if_match=etag)
    assert updated.status_code == 200, updated.content
    assert isinstance(updated.parsed, models.Todo)
    assert (updated.parsed.title, updated.parsed.completed, updated.parsed.version) == (title, True, 2)

    stale = put.sync_detailed(todo.id, client=client, body=models.TodoUpdate(title="stale"), if_match=etag)
    assert stale.status_code == 412
    assert isinstance(stale.parsed, models.ErrorBody)
    assert stale.parsed.error

    done = listing.sync(client=client, completed=models.ListTodosTodosGetCompletedType0.TRUE, limit=100)
    assert isinstance(done, models.TodoPage)
    assert all(item.completed for item in done.items)
    assert todo.id in {item.id for item in done.items}

    invalid = create.sync_detailed(client=client, body=models.TodoCreate(title=" "))
    assert invalid.status_code == 400
    assert isinstance(invalid.parsed, models.ErrorBody)
    assert [detail.loc for detail in invalid.parsed.details] == [["body", "title"]]

    deleted = delete.sync_detailed(todo.id, client=client, if_match='"2"')
    assert deleted.status_code == 200, deleted.content
    assert isinstance(deleted.parsed, models.Message)
    missing = get.sync_detailed(todo.id, client=client)
    assert missing.status_code == 404
    assert isinstance(missing.parsed, models.ErrorBody)
    assert missing.parsed.error == "Todo not found"
    return todo


def test_a_generated_client_with_the_api_key_creates_reads_updates_lists_and_deletes(
    generated: ModuleType, target: Target, api: Api
) -> None:
    client = generated.AuthenticatedClient(
        base_url=target.url, token=target.key, prefix="", auth_header_name="x-api-key", raise_on_unexpected_status=True
    )
    _crud(generated, client, unique("generated client"), api.created)


def test_a_generated_client_with_a_bearer_token_works_in_the_users_own_tenant(
    generated: ModuleType, target: Target, api: Api
) -> None:
    if target.token is None:
        pytest.skip("bearer-token test: TODO_API_URL is set without TODO_API_TOKEN (a signed-in user's access token)")
    client = generated.AuthenticatedClient(base_url=target.url, token=target.token, raise_on_unexpected_status=True)
    models = _module(generated, "models")
    create = _module(generated, "api.todos.create_todo_todos_post")
    delete = _module(generated, "api.todos.delete_todo_todos_todo_id_delete")
    ids: list[str] = []
    try:
        _crud(generated, client, unique("generated client, signed in"), ids)
        kept = create.sync(client=client, body=models.TodoCreate(title=unique("a user's own")))
        assert isinstance(kept, models.Todo)
        ids.append(kept.id)
        # The user's todos are the user's own: the key's tenant does not see this one.
        assert api.request("GET", f"/todos/{kept.id}").status_code == 404
    finally:
        for todo_id in ids:
            assert delete.sync_detailed(todo_id, client=client).status_code in (200, 404)
