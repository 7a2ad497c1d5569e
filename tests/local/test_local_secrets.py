"""The template's generated secrets under the local runner (devtools.emulator.secrets), and the cursor
keys they give `make start`'s list functions, over real HTTP."""

import json
import stat
from pathlib import Path

import pytest
import requests

from devtools.emulator.secrets import LocalSecrets
from devtools.emulator.template import LocalServerError, project
from devtools.local.serve import served
from tests.cursors import HOSTILE_KEYS, mint, unknown_secret

CURRENT = "local-current-cursor-secret-0123456789abcdefghijkl"
PREVIOUS = "local-previous-cursor-secret-0123456789abcdefghijk"


def test_a_generated_secret_is_made_once_as_the_template_says_and_kept_private(tmp_path):
    path = tmp_path / "secrets.json"
    secrets = LocalSecrets(project().resources, path)
    reference = "{{resolve:secretsmanager:${CursorSecret}:SecretString:current}}"
    current = secrets.resolve(reference)
    assert len(current) >= 64  # PasswordLength 64, as URL-safe base64 of 64 random bytes
    assert secrets.resolve("{{resolve:secretsmanager:${CursorSecret}:SecretString:previous}}") == ""
    assert LocalSecrets(project().resources, path).resolve(reference) == current  # kept across restarts
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {"CursorSecret": {"current": current, "previous": ""}}
    with pytest.raises(LocalServerError, match="no secret"):
        secrets.resolve("{{resolve:secretsmanager:${TodoTable}:SecretString:current}}")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`make start`'s server whose cursor secret is mid-rotation: CURRENT signs, PREVIOUS still reads."""
    data_dir: Path = tmp_path_factory.mktemp("data")
    (data_dir / "secrets.json").write_text(json.dumps({"CursorSecret": {"current": CURRENT, "previous": PREVIOUS}}))
    key = "cursor-key-1"
    with served({"cursors": key}, data_dir=data_dir) as running:
        session = requests.Session()
        session.headers["x-api-key"] = key
        for title in "abc":
            assert session.post(running.url + "/todos", json={"title": title}, timeout=30).status_code == 201
        yield running.url, session


@pytest.mark.parametrize("key", HOSTILE_KEYS, ids=repr)
def test_a_hand_made_cursor_is_400_over_http(server, key):
    url, session = server
    for secret in (CURRENT, PREVIOUS, unknown_secret()):
        reply = session.get(url + "/todos", params={"cursor": mint(secret, "cursors", "all", key)}, timeout=30)
        assert (reply.status_code, reply.json()) == (400, {"error": "Invalid cursor"})
        assert reply.headers["Content-Type"].startswith("application/json")


def test_cursors_of_the_current_and_the_previous_secret_work_and_no_other(server):
    url, session = server
    first = session.get(url + "/todos", params={"limit": "1"}, timeout=30).json()
    made_id = first["items"][0]["id"]
    assert first["next_cursor"] == mint(CURRENT, "cursors", "all", made_id)
    for secret, status in ((CURRENT, 200), (PREVIOUS, 200), (unknown_secret(), 400)):
        reply = session.get(url + "/todos", params={"cursor": mint(secret, "cursors", "all", made_id)}, timeout=30)
        assert reply.status_code == status
        if status == 200:
            assert [todo["title"] for todo in reply.json()["items"]] == ["b", "c"]
