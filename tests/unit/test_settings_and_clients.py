"""The API functions' settings and the boto3 clients' configuration, as docs/architecture.md and
docs/deploying.md state them."""

import pytest

from todo_api.adapters import clients
from todo_api.settings import MissingSetting, Settings


def test_a_missing_setting_is_named_by_its_variable(monkeypatch):
    monkeypatch.delenv("EVENT_BUS_NAME", raising=False)
    with pytest.raises(MissingSetting) as raised:
        Settings().require("event_bus_name")
    assert str(raised.value) == "EVENT_BUS_NAME is not set"


@pytest.mark.parametrize("origin", ["https://app.example.com\n", "*\n"])
def test_an_origin_with_a_trailing_line_break_is_refused(monkeypatch, origin):
    # pydantic-core's regex engine (Rust's) matches `$` at the very end only, unlike Python's re
    monkeypatch.setenv("CORS_ALLOW_ORIGIN", origin)
    with pytest.raises(ValueError, match="CORS_ALLOW_ORIGIN"):
        Settings()
    monkeypatch.setenv("CORS_ALLOW_ORIGIN", origin.rstrip("\n"))
    assert Settings().cors_allow_origin in (origin.rstrip("\n"), "*")


@pytest.mark.parametrize("build", [clients.dynamodb_client, clients.events_client])
def test_every_client_tries_a_call_three_times_and_waits_2_s_to_connect_3_s_to_read(build):
    config = build().meta.config
    assert config.retries == dict(mode="standard", total_max_attempts=3)
    assert (config.connect_timeout, config.read_timeout) == (2, 3)


def test_the_cursor_secret_is_required_where_used_and_an_empty_previous_one_is_none(monkeypatch):
    monkeypatch.delenv("CURSOR_SECRET", raising=False)
    monkeypatch.setenv("CURSOR_SECRET_PREVIOUS", "")  # the template's value before any rotation
    settings = Settings()
    with pytest.raises(MissingSetting, match=r"^CURSOR_SECRET is not set\Z"):
        settings.require_secret("cursor_secret")
    assert settings.secret("cursor_secret_previous") is None
    monkeypatch.setenv("CURSOR_SECRET", "s" * 40)
    monkeypatch.setenv("CURSOR_SECRET_PREVIOUS", "p" * 40)
    assert (Settings().require_secret("cursor_secret"), Settings().secret("cursor_secret_previous")) == (
        b"s" * 40,
        b"p" * 40,
    )
    assert "s" * 40 not in repr(Settings())  # never in a log line
