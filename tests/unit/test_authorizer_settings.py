"""The authorizer's settings (read without pydantic) and what its cold start loads.

The authorizer is on the path of every request, so its cold start is kept short by loading
neither pydantic (its settings are read by the standard library, the key store needs no todo
models) nor, until a container's first bearer token, the JOSE library. `make bench` counts the
instructions; these tests pin down the imports that the figure depends on.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from todo_api.authorizer_settings import AuthorizerSettings, MissingSetting

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_are_keys_only_with_a_five_minute_key_cache():
    settings = AuthorizerSettings.from_environ({})
    assert settings == AuthorizerSettings(
        table_name=None,
        key_cache_seconds=300,
        token_issuer=None,
        token_audience=None,
        token_jwks_url=None,
        token_use="access",
        token_algorithms=("RS256",),
        token_leeway_seconds=30,
        tenant_claim=None,
    )


def test_every_variable_is_read():
    settings = AuthorizerSettings.from_environ(
        {
            "TABLE_NAME": "todo-dev",
            "KEY_CACHE_SECONDS": "0",
            "TOKEN_ISSUER": "https://issuer.example",
            "TOKEN_AUDIENCE": "app-client",
            "TOKEN_JWKS_URL": "https://issuer.example/jwks.json",
            "TOKEN_USE": "id",
            "TOKEN_ALGORITHMS": "RS256, ES256",
            "TOKEN_LEEWAY_SECONDS": "300",
            "TENANT_CLAIM": "cognito:groups",
        }
    )
    assert settings == AuthorizerSettings(
        table_name="todo-dev",
        key_cache_seconds=0,
        token_issuer="https://issuer.example",
        token_audience="app-client",
        token_jwks_url="https://issuer.example/jwks.json",
        token_use="id",
        token_algorithms=("RS256", "ES256"),
        token_leeway_seconds=300,
        tenant_claim="cognito:groups",
    )
    assert settings.require_table_name() == "todo-dev"
    assert settings.require_token_audience() == "app-client"


def test_empty_parameters_mean_not_configured():
    """The template passes an unset parameter as an empty string: no issuer, no token_use check."""
    names = ("TOKEN_ISSUER", "TOKEN_AUDIENCE", "TOKEN_JWKS_URL", "TOKEN_USE", "TENANT_CLAIM")
    settings = AuthorizerSettings.from_environ(dict.fromkeys(names, ""))
    assert [getattr(settings, name.lower()) for name in names] == [None] * len(names)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("KEY_CACHE_SECONDS", "five minutes"),
        ("KEY_CACHE_SECONDS", "-1"),
        ("KEY_CACHE_SECONDS", "3601"),
        ("KEY_CACHE_SECONDS", ""),
        ("TOKEN_LEEWAY_SECONDS", "301"),
        ("TOKEN_LEEWAY_SECONDS", "-1"),
        ("TOKEN_LEEWAY_SECONDS", "1.5"),
    ],
)
def test_a_number_out_of_range_or_not_a_number_fails_the_cold_start(name, value):
    with pytest.raises(ValueError, match=name):
        AuthorizerSettings.from_environ({name: value})


def test_the_bounds_themselves_are_allowed():
    settings = AuthorizerSettings.from_environ({"KEY_CACHE_SECONDS": "3600", "TOKEN_LEEWAY_SECONDS": "0"})
    assert (settings.key_cache_seconds, settings.token_leeway_seconds) == (3600, 0)


def test_a_missing_table_or_audience_is_named_when_needed():
    settings = AuthorizerSettings.from_environ({"TOKEN_ISSUER": "https://issuer.example"})
    with pytest.raises(MissingSetting, match="TABLE_NAME"):
        settings.require_table_name()
    with pytest.raises(MissingSetting, match="TOKEN_AUDIENCE"):
        settings.require_token_audience()


def _loaded_after(code: str) -> set[str]:
    """Top-level packages loaded by a fresh interpreter that imports the authorizer, then runs `code`."""
    script = (
        "import json, sys\n"
        f"sys.path[:0] = [{str(ROOT / 'functions/authorizer')!r}, {str(ROOT / 'layers/shared')!r}]\n"
        "import app\n"
        "from todo_api import wiring\n"
        f"{code}\n"
        "print(json.dumps(sorted({name.split('.')[0] for name in sys.modules})))\n"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "TABLE_NAME": "todo-test",
        "TOKEN_ISSUER": "https://issuer.example",
        "TOKEN_AUDIENCE": "app-client",
        "POWERTOOLS_SERVICE_NAME": "todo-api",
    }
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    return set(json.loads(run.stdout))


def test_the_authorizers_cold_start_loads_neither_pydantic_nor_the_jose_library():
    loaded = _loaded_after("")
    assert {"app", "todo_api", "boto3", "aws_lambda_powertools"} <= loaded  # the probe did import it
    # (cryptography, which joserfc needs, may be loaded by botocore where pyOpenSSL is installed)
    assert loaded.isdisjoint({"pydantic", "pydantic_core", "pydantic_settings", "joserfc"})


def test_a_key_look_up_and_a_token_verifier_load_the_jose_library_but_still_no_pydantic():
    loaded = _loaded_after("wiring.key_lookup()\nwiring.token_verifier()")
    assert {"joserfc", "cryptography"} <= loaded
    assert loaded.isdisjoint({"pydantic", "pydantic_core", "pydantic_settings"})


@pytest.mark.parametrize(
    ("environ", "problem"),
    [
        ({"TENANT_CLAIM": "custom:tenant"}, "USER_WRITABLE_ATTRIBUTES must list"),
        ({"TENANT_CLAIM": "custom:tenant", "USER_WRITABLE_ATTRIBUTES": ""}, "USER_WRITABLE_ATTRIBUTES must list"),
        ({"TENANT_CLAIM": "custom:tenant", "USER_WRITABLE_ATTRIBUTES": "email, custom:tenant"}, "is writable by users"),
    ],
)
def test_a_custom_tenant_claim_users_may_write_stops_the_cold_start(environ, problem):
    with pytest.raises(ValueError, match=problem):
        AuthorizerSettings.from_environ(environ)


@pytest.mark.parametrize(
    "environ",
    [
        {"TENANT_CLAIM": "custom:tenant", "USER_WRITABLE_ATTRIBUTES": "email,custom:nickname"},
        {"TENANT_CLAIM": "cognito:groups"},  # set by administrators only, whatever the client allows
        {"TENANT_CLAIM": "org_id"},
        {},
    ],
)
def test_a_tenant_claim_users_cannot_write_is_accepted(environ):
    assert AuthorizerSettings.from_environ(environ).tenant_claim == environ.get("TENANT_CLAIM")
