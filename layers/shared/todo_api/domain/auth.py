"""Who is calling: the rules for end users' bearer tokens, and the caches of the authorizer.

A token's signature, `iss`, `exp` and `nbf` are checked by the JOSE library in
`todo_api.adapters.tokens`; what a verified token means is decided here, without any SDK:

- the audience: `aud` holds the configured audience, or (Cognito's access tokens, which carry no
  `aud`) `client_id` equals it;
- `token_use`, where the issuer says what a token is for (Cognito: `access` or `id`);
- the tenant: a user's own, `user#<sub>` (no API key's tenant can contain `#`, so keys and users
  never share data by accident), or, with a tenant claim configured (`custom:tenant`,
  `cognito:groups`), the tenant the claim names, shared by every user who carries it, and by the
  API keys of that tenant.

Every refusal is `InvalidToken`, which the authorizer answers 401 to.
"""

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from todo_api.domain.errors import Unauthenticated
from todo_api.domain.keys import TENANT_PATTERN, KeyRecord, key_hash
from todo_api.domain.ports import KeyStore

# Asymmetric signatures only: `none` signs nothing, and an HMAC "signed" with the issuer's public
# key (which anybody can fetch) would verify as if the issuer had signed it.
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519"}
)
USER_TENANT_PREFIX = "user#"
USER_PRINCIPAL_PREFIX = "user:"  # a key's principal id is hex: it never starts so
ACCESS_TOKEN_USE = "access"  # noqa: S105  # a claim value (Cognito's access tokens), not a secret
_MAX_SUBJECT = 255
_BEARER = re.compile(r"Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)", re.IGNORECASE)  # fullmatch


class InvalidToken(Unauthenticated):
    message = "Invalid or expired token"


def check_algorithms(algorithms: tuple[str, ...]) -> tuple[str, ...]:
    """The configured allow-list, refused if empty or naming anything but an asymmetric signature."""
    refused = [alg for alg in algorithms if alg not in ASYMMETRIC_ALGORITHMS]
    if not algorithms or refused:
        raise ValueError(f"token algorithms must be asymmetric signatures ({sorted(ASYMMETRIC_ALGORITHMS)}): {refused}")
    return algorithms


@dataclass(frozen=True)
class TokenPolicy:
    """What this API accepts: one issuer, one audience (or app client), optionally one token use."""

    issuer: str
    audience: str
    token_use: str | None = ACCESS_TOKEN_USE
    algorithms: tuple[str, ...] = ("RS256",)
    leeway_seconds: int = 30
    tenant_claim: str | None = None

    def __post_init__(self) -> None:
        check_algorithms(self.algorithms)
        if not self.issuer or not self.audience:
            raise ValueError("a token policy needs an issuer and an audience")
        if not 0 <= self.leeway_seconds <= 300:
            raise ValueError("token leeway must be 0..300 seconds")


@dataclass(frozen=True)
class Principal:
    """The caller the authorizer lets in: its tenant, and a loggable id (never a secret)."""

    tenant: str
    principal_id: str

    @property
    def user(self) -> str | None:
        """The signed-in user's subject (`sub`); None for an API key."""
        if not self.principal_id.startswith(USER_PRINCIPAL_PREFIX):
            return None
        return self.principal_id.removeprefix(USER_PRINCIPAL_PREFIX)


def bearer_token(authorization: str | None) -> str | None:
    """The compact JWT of an `Authorization: Bearer <token>` header; None if there is no such header.

    A header that says Bearer but holds no JWS compact serialization is an invalid token.
    """
    if authorization is None:
        return None
    match = _BEARER.fullmatch(authorization.strip())
    if match is None:
        raise InvalidToken()
    return match.group(1)


def _audience_matches(claims: Mapping[str, Any], audience: str) -> bool:
    aud = claims.get("aud")
    if aud is not None:
        return aud == audience or (isinstance(aud, list) and audience in aud)
    return claims.get("client_id") == audience


def tenant_from_claims(claims: Mapping[str, Any], tenant_claim: str | None) -> str:
    """The tenant a verified token's claims put the user in (see the module docstring)."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject or len(subject) > _MAX_SUBJECT:
        raise InvalidToken()
    value = claims.get(tenant_claim) if tenant_claim else None
    if value is None or value == [] or value == "":
        return USER_TENANT_PREFIX + subject
    if isinstance(value, list) and len(value) == 1:  # Cognito groups: a user in exactly one team
        value = value[0]
    if not isinstance(value, str) or not TENANT_PATTERN.fullmatch(value):
        raise InvalidToken()  # several teams, or a name no tenant can have: refuse, never guess
    return value


def principal_of(claims: Mapping[str, Any], policy: TokenPolicy) -> Principal:
    """The caller of a token whose signature, `iss`, `exp` and `nbf` are verified already."""
    if claims.get("iss") != policy.issuer or not _audience_matches(claims, policy.audience):
        raise InvalidToken()
    if policy.token_use is not None and claims.get("token_use") != policy.token_use:
        raise InvalidToken()
    tenant = tenant_from_claims(claims, policy.tenant_claim)
    return Principal(tenant=tenant, principal_id=USER_PRINCIPAL_PREFIX + claims["sub"])


K = TypeVar("K")
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """A bounded map whose entries expire: the authorizer's verified tokens and key look-ups.

    `clock` is monotonic seconds (injected, so tests need no sleeping). Thread-safe, since the
    local server runs requests on threads; Lambda runs one at a time.
    """

    def __init__(self, clock: Callable[[], float], max_entries: int = 2048) -> None:
        self._clock = clock
        self._max = max_entries
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[0] <= self._clock():
                del self._entries[key]
                return None
            return entry[1]

    def put(self, key: K, value: V, ttl_seconds: float) -> None:
        if ttl_seconds <= 0:
            return
        with self._lock:
            self._entries[key] = (self._clock() + ttl_seconds, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


class CachedKeys:
    """Key look-ups remembered per container for `ttl_seconds`, by the key's hash.

    The authorizer has no identity source, so API Gateway cannot cache its decisions: this is
    the cache instead. A revoked key stops working within `ttl_seconds`, as with the gateway's
    cache; an unknown key is not remembered, so a new key works at once.
    """

    def __init__(self, store: KeyStore, cache: "TtlCache[str, KeyRecord]", ttl_seconds: float) -> None:
        self._store = store
        self._cache = cache
        self._ttl = ttl_seconds

    def find(self, api_key: str) -> KeyRecord | None:
        digest = key_hash(api_key)
        record = self._cache.get(digest)
        if record is None:
            record = self._store.find(api_key)
            if record is not None:
                self._cache.put(digest, record, self._ttl)
        return record
