"""The local OpenID Connect issuer of `make start`, and `make token`.

It stands in for the stage's Cognito user pool: the same authorizer code verifies its tokens,
only the issuer's URL differs. It serves

    <issuer>/.well-known/openid-configuration   {"issuer", "jwks_uri", ...}
    <issuer>/.well-known/jwks.json               the public half of its signing key

and signs access tokens shaped like Cognito's (`client_id`, `token_use: access`, `username`,
and `custom:tenant` for a team). Its RSA signing key is made once and kept in
`.local/oidc/signing-key.json` (OIDC_DIR overrides the folder), so tokens outlive a restart;
the issuer's URL, `http://127.0.0.1:<OIDC_PORT, default PORT + 1>`, is written beside it.

    python -m devtools.oidc token --user alice [--tenant acme]   # the token on the last line
    python -m devtools.oidc serve                                 # the issuer alone
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

ROOT = Path(__file__).resolve().parent.parent
AUDIENCE = "todo-local-client"  # the local app client's id: Cognito's access tokens name it in `client_id`
TENANT_CLAIM = "custom:tenant"
ALGORITHM = "RS256"
TOKEN_SECONDS = 3600
ACCESS = "access"  # the token_use claim of an access token, not a secret


def oidc_dir() -> Path:
    """OIDC_DIR, else beside a server's own data (DYNAMODB_LOCAL_DIR, as tests run it), else .local/oidc."""
    if os.environ.get("OIDC_DIR"):
        return Path(os.environ["OIDC_DIR"])
    if os.environ.get("DYNAMODB_LOCAL_DIR"):
        return Path(os.environ["DYNAMODB_LOCAL_DIR"]) / "oidc"
    return ROOT / ".local" / "oidc"


def default_port() -> int:
    return int(os.environ.get("OIDC_PORT") or int(os.environ.get("PORT", "3000")) + 1)


def signing_key(folder: Path | None = None) -> RSAKey:
    """The issuer's private key, made on first use and kept (mode 600) under `folder`."""
    path = (folder or oidc_dir()) / "signing-key.json"
    if path.exists():
        return RSAKey.import_key(json.loads(path.read_text(encoding="utf-8")))
    key = RSAKey.generate_key(2048, parameters={"alg": ALGORITHM, "use": "sig"}, private=True, auto_kid=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        json.dump(key.as_dict(private=True), file)
    return key


def subject_of(user: str) -> str:
    """A stable, UUID-shaped `sub` per user name, as Cognito's are."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"todo-local-user:{user}"))


def sign(key: RSAKey, claims: dict[str, Any], header: dict[str, Any] | None = None) -> str:
    return jwt.encode({"alg": ALGORITHM, "kid": key.kid, **(header or {})}, claims, key, algorithms=[ALGORITHM])


def claims_for(
    issuer: str, user: str, tenant: str | None = None, *, token_use: str = ACCESS, seconds: int = TOKEN_SECONDS
) -> dict[str, Any]:
    """Claims of a token like a Cognito user pool's: an access token, or an ID token (`aud`, not `client_id`)."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": subject_of(user),
        "token_use": token_use,
        "auth_time": now,
        "iat": now,
        "nbf": now,
        "exp": now + seconds,
        "jti": str(uuid.uuid4()),
    }
    if token_use == ACCESS:
        claims |= {"client_id": AUDIENCE, "username": user, "scope": "openid"}
    else:
        claims |= {"aud": AUDIENCE, "cognito:username": user}
    if tenant:
        claims[TENANT_CLAIM] = tenant
    return claims


def issue(issuer: str, user: str, tenant: str | None = None, folder: Path | None = None, **options: Any) -> str:
    return sign(signing_key(folder), claims_for(issuer, user, tenant, **options))


def environment(issuer: str) -> dict[str, str]:
    """The authorizer's settings for this issuer (`make start` sets them for its functions)."""
    return {
        "TOKEN_ISSUER": issuer,
        "TOKEN_AUDIENCE": AUDIENCE,
        "TOKEN_USE": ACCESS,
        "TOKEN_JWKS_URL": "",
        "TENANT_CLAIM": TENANT_CLAIM,
        # This issuer alone sets the claims of its tokens: no user can write custom:tenant.
        "USER_WRITABLE_ATTRIBUTES": "email",
    }


class Issuer:
    """The issuer's two documents over HTTP on 127.0.0.1, in a thread (a context manager)."""

    def __init__(self, port: int = 0, folder: Path | None = None) -> None:
        self.folder = folder or oidc_dir()
        self.key = signing_key(self.folder)
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="oidc-issuer", daemon=True)
        self.requests: list[str] = []  # paths served, for tests counting key set fetches

    def documents(self) -> dict[str, Any]:
        return {
            "/.well-known/openid-configuration": {
                "issuer": self.url,
                "jwks_uri": f"{self.url}/.well-known/jwks.json",
                "response_types_supported": ["token"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": [ALGORITHM],
                "token_endpoint_auth_methods_supported": ["none"],
                "claims_supported": ["sub", "iss", "client_id", "token_use", "username", TENANT_CLAIM],
            },
            "/.well-known/jwks.json": KeySet([self.key]).as_dict(private=False),
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                issuer.requests.append(self.path)
                document = issuer.documents().get(self.path)
                body = json.dumps(document if document is not None else {"error": "Not found"}).encode()
                self.send_response(200 if document is not None else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # quiet: the gateway logs requests
                pass

        return Handler

    def token(self, user: str, tenant: str | None = None, **options: Any) -> str:
        return sign(self.key, claims_for(self.url, user, tenant, **options))

    def __enter__(self) -> Issuer:
        self._thread.start()
        (self.folder / "issuer").write_text(self.url, encoding="utf-8")
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def serve_default() -> Issuer:
    """The issuer on its default port (PORT + 1, or OIDC_PORT), or on a free one if that is taken."""
    try:
        return Issuer(default_port())
    except OSError:
        return Issuer(0)


def issuer_url(folder: Path | None = None) -> str:
    """The running (or last) local issuer's URL, else the one `make start` will serve."""
    recorded = (folder or oidc_dir()) / "issuer"
    if recorded.exists():
        return recorded.read_text(encoding="utf-8").strip()
    return f"http://127.0.0.1:{default_port()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.oidc", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    token = commands.add_parser("token", help="print an access token of the local issuer (last line)")
    token.add_argument("--user", required=True)
    token.add_argument("--tenant", default=None, help=f"a team's tenant, as the {TENANT_CLAIM} claim")
    token.add_argument("--seconds", type=int, default=TOKEN_SECONDS)
    commands.add_parser("serve", help="serve the issuer alone until Ctrl-C")
    args = parser.parse_args(argv)
    if args.command == "token":
        if not args.user.strip():
            parser.error("USER must not be empty")
        url = issuer_url()
        print(f"# access token of {args.user}{' in tenant ' + args.tenant if args.tenant else ''} from {url}")
        print(issue(url, args.user, args.tenant or None, seconds=args.seconds))
        return 0
    with Issuer(default_port()) as issuer:
        print(f"OIDC issuer on {issuer.url} (Ctrl-C to stop)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
