"""The bearer-token verifier on its own: its clock, the subject it requires, how long it remembers
a verified token (tokens signed here, the key set fetched from a stand-in)."""

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from todo_api.adapters.tokens import Jwks, TokenVerifier
from todo_api.domain.auth import InvalidToken, TokenPolicy, TtlCache

KEY = RSAKey.generate_key(2048, parameters={"kid": "k1", "alg": "RS256"})
ISSUER = "https://id.example"
T = 1_000_000_000  # long past: only the verifier's own clock can find such a token fresh
CLAIMS = {"iss": ISSUER, "sub": "u1", "client_id": "app", "token_use": "access", "iat": T, "exp": T + 600}


def sign(claims):
    return jwt.encode({"alg": "RS256", "kid": "k1"}, claims, KEY, algorithms=["RS256"])


def verifier(now, cache=None):
    jwks = Jwks(ISSUER, f"{ISSUER}/keys", fetch=lambda url: {"keys": [KEY.as_dict(private=False)]})
    return TokenVerifier(TokenPolicy(issuer=ISSUER, audience="app"), jwks, now=lambda: now[0], cache=cache)


def test_expiry_is_judged_by_the_verifiers_clock():
    assert verifier([T]).verify(sign(CLAIMS)).principal_id == "user:u1"
    with pytest.raises(InvalidToken):
        verifier([T + 700]).verify(sign(CLAIMS))


def test_a_token_without_a_subject_is_refused():
    without_sub = {k: v for k, v in CLAIMS.items() if k != "sub"}
    with pytest.raises(InvalidToken):
        verifier([T]).verify(sign(without_sub))


def test_a_verified_token_is_remembered_until_it_expires_not_longer():
    now, elapsed = [T], [0.0]
    check = verifier(now, TtlCache(lambda: elapsed[0]))
    token = sign(CLAIMS)
    assert check.verify(token).principal_id == "user:u1"
    now[0], elapsed[0] = T + 700, 700.0  # past the expiry and its 30 s of leeway
    with pytest.raises(InvalidToken):  # no longer remembered: verified again, and expired
        check.verify(token)
