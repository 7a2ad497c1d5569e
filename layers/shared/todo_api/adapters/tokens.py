"""Bearer tokens verified with joserfc against the issuer's published keys (JWKS).

Only the authorizer imports this module; joserfc and cryptography ship in its own layer
(`layers/auth`), so no other function carries them.

- `Jwks`: the issuer's key set, fetched once per container (from `jwks_url`, or from the
  `jwks_uri` of `<issuer>/.well-known/openid-configuration`), fetched again once when a token
  names a key id it does not hold (the issuer rotated its keys); such refreshes happen at most
  once a minute, so a stream of made-up key ids cannot make the authorizer fetch on every request.
- `TokenVerifier`: signature (joserfc, with the policy's algorithm allow-list), `iss`, `exp`,
  `nbf` (joserfc's claims registry, with the policy's leeway), then the domain's rules
  (`todo_api.domain.auth.principal_of`); a verified token is remembered until it expires, so a
  warm authorizer verifies each token once.
"""

import json
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from functools import cache
from typing import Any

from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import GuestProtocol, Key, KeySet

from todo_api.domain.auth import InvalidToken, Principal, TokenPolicy, TtlCache, principal_of

FETCH_TIMEOUT_SECONDS = 3.0
MAX_DOCUMENT_BYTES = 64 * 1024  # a key set or discovery document is a few KiB
MIN_REFRESH_SECONDS = 60.0
MAX_TOKEN_CACHE_SECONDS = 3600.0
_LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


class IssuerUnavailable(RuntimeError):
    """The issuer's discovery document or key set cannot be fetched (the gateway answers 5xx, not 401)."""


def _check_url(url: str) -> str:
    """HTTPS, or plain HTTP to this machine only (the local issuer of `make start`)."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme == "https" or (parsed.scheme == "http" and parsed.hostname in _LOCAL_HOSTS):
        return url
    raise ValueError(f"issuer URLs must be https (or http on localhost): {url!r}")


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urllib.parse.urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port or default


def same_origin(url: str, other: str) -> bool:
    """Whether two URLs share scheme, host and port (https -> http is another origin)."""
    return _origin(url) == _origin(other)


class _SameOriginRedirects(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only within the origin of the URL asked for: a key set served from
    elsewhere, or over plain HTTP, would let whoever answers there sign tokens."""

    def redirect_request(
        self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: Any, newurl: str
    ) -> urllib.request.Request | None:
        if not same_origin(req.full_url, newurl):
            raise IssuerUnavailable(f"cannot fetch {req.full_url}: redirect to another origin ({newurl}) refused")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


@cache
def _opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(_SameOriginRedirects)


def fetch_json(url: str) -> Any:
    """The JSON document at `url`: redirects within its origin only, at most MAX_DOCUMENT_BYTES."""
    request = urllib.request.Request(_check_url(url), headers={"Accept": "application/json"})  # noqa: S310 (checked)
    try:
        with _opener().open(request, timeout=FETCH_TIMEOUT_SECONDS) as response:
            body = response.read(MAX_DOCUMENT_BYTES + 1)
    except (OSError, ValueError) as error:
        raise IssuerUnavailable(f"cannot fetch {url}: {error}") from error
    if len(body) > MAX_DOCUMENT_BYTES:
        raise IssuerUnavailable(f"cannot fetch {url}: the document is over {MAX_DOCUMENT_BYTES // 1024} KiB")
    try:
        return json.loads(body)
    except ValueError as error:
        raise IssuerUnavailable(f"cannot fetch {url}: {error}") from error


class Jwks:
    def __init__(
        self,
        issuer: str,
        jwks_url: str | None = None,
        fetch: Callable[[str], Any] = fetch_json,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._issuer = issuer
        self._jwks_url = _check_url(jwks_url) if jwks_url else None
        self._fetch = fetch
        self._clock = clock
        self._keys: KeySet | None = None
        self._refreshed_at = float("-inf")
        self._lock = threading.Lock()
        self.fetches = 0  # key set fetches so far (the README's and the tests' figure)

    def _url(self) -> str:
        if self._jwks_url is None:
            discovery = self._fetch(_check_url(self._issuer.rstrip("/") + "/.well-known/openid-configuration"))
            if not isinstance(discovery, dict) or discovery.get("issuer") != self._issuer:
                raise IssuerUnavailable("the discovery document names another issuer")
            self._jwks_url = _check_url(str(discovery.get("jwks_uri", "")))
        return self._jwks_url

    def _load(self) -> KeySet:
        document = self._fetch(self._url())
        self.fetches += 1
        try:
            self._keys = KeySet.import_key_set(document)
        except (JoseError, ValueError, TypeError, KeyError) as error:
            raise IssuerUnavailable(f"the issuer's key set is not a JWKS: {error}") from error
        return self._keys

    def key(self, kid: str | None, alg: str) -> Key:
        with self._lock:
            keys = self._keys or self._load()
            try:
                return keys.get_by_kid(kid, {"alg": alg})
            except InvalidKeyIdError:
                if self._clock() - self._refreshed_at < MIN_REFRESH_SECONDS:
                    raise InvalidToken() from None
            self._refreshed_at = self._clock()
            try:
                return self._load().get_by_kid(kid, {"alg": alg})
            except InvalidKeyIdError:
                raise InvalidToken() from None


class TokenVerifier:
    def __init__(
        self,
        policy: TokenPolicy,
        jwks: Jwks,
        now: Callable[[], float] = time.time,
        cache: "TtlCache[str, Principal] | None" = None,
    ) -> None:
        self.policy = policy
        self.jwks = jwks
        self._now = now
        self._cache: TtlCache[str, Principal] = cache if cache is not None else TtlCache(time.monotonic)
        self._algorithms = list(policy.algorithms)

    def _key_of(self, obj: GuestProtocol) -> Key:
        headers = obj.headers()
        if headers.get("alg") not in self.policy.algorithms:
            raise InvalidToken()
        kid = headers.get("kid")
        return self.jwks.key(kid if isinstance(kid, str) else None, str(headers["alg"]))

    def verify(self, token: str) -> Principal:
        cached = self._cache.get(token)
        if cached is not None:
            return cached
        try:
            claims = jwt.decode(token, self._key_of, algorithms=self._algorithms).claims
            jwt.JWTClaimsRegistry(
                now=lambda: int(self._now()),
                leeway=self.policy.leeway_seconds,
                iss={"essential": True, "value": self.policy.issuer},
                exp={"essential": True},
                sub={"essential": True},
            ).validate(claims)
        except (JoseError, ValueError, TypeError, KeyError) as error:  # joserfc raises ValueError on bad input too
            raise InvalidToken() from error
        principal = principal_of(claims, self.policy)
        remaining = float(claims["exp"]) - self._now()
        self._cache.put(token, principal, min(remaining, MAX_TOKEN_CACHE_SECONDS))
        return principal
