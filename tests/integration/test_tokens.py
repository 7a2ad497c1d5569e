"""Bearer tokens through the authorizer: the local OIDC issuer over real HTTP, the tables on moto.

Every forged, stale or misdirected token is refused with exactly "Unauthorized" (which API
Gateway answers 401 to) before anything is read; a good one maps to the user's own tenant, or
the team named by the tenant claim; a key decides as before whenever one is sent.
"""

import base64
import copy
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from joserfc.jwk import RSAKey

from devtools import oidc
from tests.conftest import KEYS, TABLES, Context, load_event
from todo_api import wiring


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def segment(value: dict[str, Any]) -> str:
    return b64(json.dumps(value, separators=(",", ":")).encode())


@pytest.fixture
def issuer(tmp_path, monkeypatch, aws) -> Iterator[oidc.Issuer]:
    with oidc.Issuer(port=0, folder=tmp_path) as running:
        for name, value in oidc.environment(running.url).items():
            monkeypatch.setenv(name, value)
        wiring.reset()
        yield running
    wiring.reset()


@pytest.fixture
def ddb_calls(aws) -> Iterator[list[str]]:
    calls: list[str] = []

    def count(event_name: str, **_: Any) -> None:
        calls.append(event_name)

    client = wiring.dynamodb()
    client.meta.events.register("before-call.dynamodb", count)
    yield calls
    client.meta.events.unregister("before-call.dynamodb", count)


def authorize(functions, headers: dict[str, str]) -> dict[str, Any]:
    event = copy.deepcopy(load_event("authorizer"))
    event["headers"].pop("x-api-key")
    event["headers"].update(headers)
    return functions["AuthorizerFunction"].lambda_handler(event, Context())


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_users_access_token_is_their_own_tenant_with_no_usage_key(issuer, functions, ddb_calls):
    result = authorize(functions, bearer(issuer.token("alice")))
    sub = oidc.subject_of("alice")
    assert result["context"] == {"tenant": f"user#{sub}"}
    assert result["principalId"] == f"user:{sub}"
    assert "usageIdentifierKey" not in result  # no API Gateway key: no ceiling of 10,000
    [statement] = result["policyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert ddb_calls == []  # a token needs no key look-up


def test_two_users_get_two_tenants_and_a_team_claim_one_shared_tenant(issuer, functions):
    tenant = lambda token: authorize(functions, bearer(token))["context"]["tenant"]  # noqa: E731
    assert tenant(issuer.token("alice")) != tenant(issuer.token("bob"))
    assert tenant(issuer.token("alice", "acme")) == tenant(issuer.token("bob", "acme")) == "acme"


def test_a_key_decides_when_both_are_sent(issuer, functions):
    result = authorize(functions, {"x-api-key": KEYS["globex"], **bearer(issuer.token("alice"))})
    assert result["context"] == {"tenant": "globex"}
    assert "usageIdentifierKey" not in result
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize(functions, {"x-api-key": "unknown", **bearer(issuer.token("alice"))})


def _claims(issuer: oidc.Issuer, **changes: Any) -> dict[str, Any]:
    claims = oidc.claims_for(issuer.url, "mallory")
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _forged(issuer: oidc.Issuer, case: str) -> str:
    now = int(time.time())
    sign = lambda claims, **header: oidc.sign(issuer.key, claims, header)  # noqa: E731
    header = {"alg": "RS256", "kid": issuer.key.kid, "typ": "JWT"}
    if case == "expired":
        return sign(_claims(issuer, iat=now - 3700, nbf=now - 3700, exp=now - 120))
    if case == "not yet valid":
        return sign(_claims(issuer, nbf=now + 120, exp=now + 3600))
    if case == "no expiry":
        return sign(_claims(issuer, exp=None))
    if case == "wrong issuer":
        return sign(_claims(issuer, iss="http://127.0.0.1:1/another-issuer"))
    if case == "wrong audience":
        return sign(_claims(issuer, client_id="another-app"))
    if case == "ID token":
        return sign(oidc.claims_for(issuer.url, "mallory", token_use="id"))
    if case == "no subject":
        return sign(_claims(issuer, sub=None))
    if case == "alg none":
        return f"{segment({'alg': 'none', 'typ': 'JWT'})}.{segment(_claims(issuer))}."
    if case == "HS256 with the public key":
        public_pem = issuer.key.as_pem(private=False)
        signing_input = f"{segment({**header, 'alg': 'HS256'})}.{segment(_claims(issuer))}"
        mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{b64(mac)}"
    if case == "RS512 (not allowed)":
        any_alg = RSAKey.import_key({k: v for k, v in issuer.key.as_dict(private=True).items() if k != "alg"})
        return oidc.jwt.encode({**header, "alg": "RS512"}, _claims(issuer), any_alg, algorithms=["RS512"])
    if case == "tampered payload":
        head, _payload, signature = sign(_claims(issuer)).split(".")
        return f"{head}.{segment(_claims(issuer, sub=oidc.subject_of('alice')))}.{signature}"
    if case == "unknown kid":
        stranger = RSAKey.generate_key(2048, parameters={"kid": "not-the-issuers"}, private=True)
        return oidc.jwt.encode({**header, "kid": "not-the-issuers"}, _claims(issuer), stranger, algorithms=["RS256"])
    if case == "another key under the issuer's kid":
        stranger = RSAKey.generate_key(2048, private=True)
        return oidc.jwt.encode(header, _claims(issuer), stranger, algorithms=["RS256"])
    if case == "not a JWT":
        return "not-a-jwt"
    raise AssertionError(case)


FORGED = [
    "expired",
    "not yet valid",
    "no expiry",
    "wrong issuer",
    "wrong audience",
    "ID token",
    "no subject",
    "alg none",
    "HS256 with the public key",
    "RS512 (not allowed)",
    "tampered payload",
    "unknown kid",
    "another key under the issuer's kid",
    "not a JWT",
]


@pytest.mark.parametrize("case", FORGED)
def test_a_bad_token_is_unauthorized_and_reads_nothing(issuer, functions, ddb_calls, case):
    token = _forged(issuer, case)
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize(functions, bearer(token))
    assert ddb_calls == []
    authorize(functions, bearer(issuer.token("alice")))  # the verifier still accepts a good token


@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "bearer a.b", "Token a.b.c"])
def test_a_malformed_authorization_header_is_unauthorized(issuer, functions, header):
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize(functions, {"Authorization": header})


def test_leeway_admits_a_few_seconds_of_clock_skew_either_way(issuer, functions):
    now = int(time.time())
    just_expired = oidc.sign(issuer.key, _claims(issuer, exp=now - 5))
    almost_valid = oidc.sign(issuer.key, _claims(issuer, nbf=now + 5))
    for token in (just_expired, almost_valid):
        assert authorize(functions, bearer(token))["context"]["tenant"].startswith("user#")


def test_without_an_issuer_configured_tokens_are_unauthorized(aws, functions, monkeypatch, tmp_path):
    with oidc.Issuer(port=0, folder=tmp_path) as running:
        monkeypatch.delenv("TOKEN_ISSUER", raising=False)
        wiring.reset()
        with pytest.raises(Exception, match=r"^Unauthorized$"):
            authorize(functions, bearer(running.token("alice")))
        assert running.requests == []


def test_the_key_set_is_fetched_once_and_again_once_for_an_unknown_kid(issuer, functions):
    for user in ("alice", "bob", "carol"):
        authorize(functions, bearer(issuer.token(user)))
    jwks = [p for p in issuer.requests if p.endswith("jwks.json")]
    assert (len(jwks), issuer.requests.count("/.well-known/openid-configuration")) == (1, 1)
    for _ in range(3):
        with pytest.raises(Exception, match=r"^Unauthorized$"):
            authorize(functions, bearer(_forged(issuer, "unknown kid")))
    # one refresh for the unknown kid, then none within the minute however many follow
    assert len([p for p in issuer.requests if p.endswith("jwks.json")]) == 2


def test_a_rotated_key_is_picked_up_by_one_refresh(issuer, functions):
    authorize(functions, bearer(issuer.token("alice")))
    issuer.key = RSAKey.generate_key(2048, parameters={"alg": "RS256", "use": "sig"}, private=True, auto_kid=True)
    result = authorize(functions, bearer(issuer.token("alice")))
    assert result["context"]["tenant"] == f"user#{oidc.subject_of('alice')}"
    assert len([p for p in issuer.requests if p.endswith("jwks.json")]) == 2


def test_a_verified_token_is_verified_once_per_container(issuer, functions, monkeypatch):
    token = issuer.token("alice")
    authorize(functions, bearer(token))
    verifier = wiring.token_verifier()
    monkeypatch.setattr(verifier, "_key_of", lambda _obj: pytest.fail("verified again"))
    assert authorize(functions, bearer(token))["context"]["tenant"] == f"user#{oidc.subject_of('alice')}"
    other = issuer.token("bob")
    with pytest.raises(BaseException, match="verified again"):
        authorize(functions, bearer(other))


def test_tokens_are_not_logged(issuer, functions):
    import io

    logger = functions["AuthorizerFunction"].logger
    level, logs = logger.log_level, io.StringIO()
    # Swapped without setStream(), which would flush the old stream: a capture an earlier pytest
    # session in this process has closed.
    handler = logger.registered_handler
    stream, handler.stream = handler.stream, logs
    logger.setLevel("DEBUG")
    good, bad = issuer.token("alice"), _forged(issuer, "expired")
    try:
        authorize(functions, bearer(good))
        with pytest.raises(Exception, match="Unauthorized"):
            authorize(functions, bearer(bad))
    finally:
        logger.setLevel(level)
        handler.stream = stream
    assert "token refused" in logs.getvalue()
    assert "ExpiredTokenError" in logs.getvalue()
    for token in (good, bad):
        for part in token.split("."):
            assert part not in logs.getvalue()


def test_unknown_kids_refresh_again_only_after_a_minute(issuer, functions):
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize(functions, bearer(_forged(issuer, "unknown kid")))
    jwks = wiring.token_verifier().jwks
    assert jwks.fetches == 2
    jwks._refreshed_at -= 61
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize(functions, bearer(_forged(issuer, "unknown kid")))
    assert jwks.fetches == 3


def test_nothing_is_written_for_a_refused_token(issuer, functions, aws):
    before = aws.scan(TableName=TABLES["TodoTable"])["Items"]
    for case in FORGED:
        with pytest.raises(Exception, match=r"^Unauthorized$"):
            authorize(functions, bearer(_forged(issuer, case)))
    assert aws.scan(TableName=TABLES["TodoTable"])["Items"] == before
