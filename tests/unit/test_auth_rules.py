"""The domain's rules for callers: bearer headers, audiences, token use, tenants, the caches."""

import pytest

from tests.fakes import InMemoryKeyStore
from todo_api.domain.auth import (
    CachedKeys,
    InvalidToken,
    Principal,
    TokenPolicy,
    TtlCache,
    bearer_token,
    principal_of,
    tenant_from_claims,
)

ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc"
POLICY = TokenPolicy(issuer=ISSUER, audience="app-client")
ACCESS = {"iss": ISSUER, "sub": "6f1c-alice", "client_id": "app-client", "token_use": "access"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_access_token_is_the_users_own_tenant():
    assert principal_of(ACCESS, POLICY) == Principal(tenant="user#6f1c-alice", principal_id="user:6f1c-alice")


@pytest.mark.parametrize(
    "changes",
    [
        {"iss": ISSUER + "x"},
        {"client_id": "other"},
        {"client_id": None},
        {"aud": "other"},
        {"aud": ["other", "another"]},
        {"token_use": "id"},
        {"token_use": None},
        {"sub": None},
        {"sub": ""},
        {"sub": 42},
        {"sub": "x" * 256},
    ],
)
def test_claims_that_do_not_fit_the_policy_are_refused(changes):
    claims = {k: v for k, v in {**ACCESS, **changes}.items() if v is not None}
    with pytest.raises(InvalidToken):
        principal_of(claims, POLICY)


@pytest.mark.parametrize("aud", ["app-client", ["other", "app-client"]])
def test_an_audience_claim_names_the_client_too(aud):
    claims = {"iss": ISSUER, "sub": "s", "aud": aud}
    assert principal_of(claims, TokenPolicy(ISSUER, "app-client", token_use=None)).tenant == "user#s"


def test_an_aud_that_does_not_match_is_refused_even_with_a_matching_client_id():
    with pytest.raises(InvalidToken):
        principal_of({**ACCESS, "aud": "other"}, POLICY)


@pytest.mark.parametrize(
    ("value", "tenant"),
    [(None, "user#s"), ("", "user#s"), ([], "user#s"), ("acme", "acme"), (["acme"], "acme")],
)
def test_the_tenant_claim_names_a_team(value, tenant):
    claims = {"sub": "s"} | ({} if value is None else {"custom:tenant": value})
    assert tenant_from_claims(claims, "custom:tenant") == tenant


@pytest.mark.parametrize(
    "value", [["acme", "globex"], "Acme", "a#b", "user#other", 7, {"t": 1}, "-x", "acme\n", ["acme\n"]]
)
def test_a_tenant_claim_that_names_no_single_valid_tenant_is_refused(value):
    with pytest.raises(InvalidToken):
        tenant_from_claims({"sub": "s", "custom:tenant": value}, "custom:tenant")


def test_without_a_tenant_claim_configured_the_claim_is_ignored():
    assert tenant_from_claims({"sub": "s", "custom:tenant": "acme"}, None) == "user#s"


@pytest.mark.parametrize(
    ("header", "token"),
    [(None, None), ("Bearer a.b.c", "a.b.c"), ("bearer  a-_1.b.", "a-_1.b."), (" Bearer a.b.c ", "a.b.c")],
)
def test_bearer_header(header, token):
    assert bearer_token(header) == token


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer a.b", "Bearer a.b.c.d", "Basic a.b.c", "Bearer a b.c"])
def test_a_bearer_header_without_a_jwt_is_an_invalid_token(header):
    with pytest.raises(InvalidToken):
        bearer_token(header)


@pytest.mark.parametrize("algorithms", [(), ("none",), ("HS256",), ("RS256", "HS512"), ("rs256",)])
def test_the_algorithm_allow_list_admits_only_asymmetric_signatures(algorithms):
    with pytest.raises(ValueError, match="asymmetric"):
        TokenPolicy(ISSUER, "app-client", algorithms=algorithms)


def test_a_ttl_cache_forgets_on_time_and_beyond_its_size():
    clock = Clock()
    cache: TtlCache[str, int] = TtlCache(clock, max_entries=2)
    cache.put("a", 1, 10)
    clock.now += 9.9
    assert cache.get("a") == 1
    clock.now += 0.1
    assert cache.get("a") is None
    cache.put("a", 1, 10)
    cache.put("b", 2, 10)
    cache.put("c", 3, 10)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (None, 2, 3)
    cache.put("d", 4, 0)
    assert cache.get("d") is None


def test_key_look_ups_are_remembered_for_the_ttl_and_unknown_keys_never():
    clock, store = Clock(), InMemoryKeyStore()
    store.add("acme", "key-1")
    keys = CachedKeys(store, TtlCache(clock), ttl_seconds=300)
    assert keys.find("key-1").tenant == "acme"
    store.revoke("key-1")
    assert keys.find("key-1").tenant == "acme"  # a revoked key works until the TTL ends ...
    clock.now += 300
    assert keys.find("key-1") is None  # ... and not after
    assert keys.find("key-2") is None
    store.add("globex", "key-2")
    assert keys.find("key-2").tenant == "globex"  # a new key works at once
