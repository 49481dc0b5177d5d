"""A small OpenID provider on a loopback port, for the single sign-on tests: its key set (JWKS) with keys
that can be rotated, an authorization endpoint that signs `claims` in at once, and a token endpoint that
redeems each code once, checking the PKCE verifier (S256), the redirect URI and the client id. Its ID
tokens are signed with PyJWT."""

from __future__ import annotations

import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from gateway.oidc import pkce_challenge

ISSUER = "https://idp.example.test/realms/acme"
AUDIENCE = "ftgate"


class Provider:
    """An OpenID provider on a loopback port: its key set (JWKS, keys can be rotated), and for the
    console an authorization endpoint that signs in `self.claims` at once and a token endpoint that
    redeems each code once, checking its PKCE verifier (S256) and redirect URI."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.keys: dict[str, Any] = {}
        self.fetches = 0
        self.claims: dict[str, Any] = {}
        self.codes: dict[str, dict[str, str]] = {}
        self.redeemed: list[dict[str, str]] = []
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                url = urlsplit(self.path)
                if url.path.endswith("/auth"):
                    self.reply(*provider.authorize(dict(parse_qsl(url.query))))
                    return
                provider.fetches += 1
                self.reply(200, {"keys": [provider.public_jwk(k) for k in provider.keys]})

            def do_POST(self) -> None:  # noqa: N802
                form = dict(parse_qsl(self.rfile.read(int(self.headers["Content-Length"])).decode()))
                self.reply(*provider.token_endpoint(form))

            def reply(self, status: int, body: dict[str, Any], location: str | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base = f"http://{host}:{self.server.server_address[1]}/protocol/openid-connect"
        self.url = f"{self.base}/certs"

    def authorize(self, query: dict[str, str]) -> tuple[int, dict[str, Any], str | None]:
        if query.get("response_type") != "code" or query.get("code_challenge_method") != "S256":
            return 400, {"error": "invalid_request"}, None
        code = secrets.token_urlsafe(16)
        self.codes[code] = query
        back = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
        return 302, {}, back

    def token_endpoint(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        asked = self.codes.pop(form.get("code", ""), None)  # each code once
        if asked is None or form.get("grant_type") != "authorization_code":
            return 400, {"error": "invalid_grant"}
        if pkce_challenge(form.get("code_verifier", "")) != asked["code_challenge"]:
            return 400, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
        if form.get("redirect_uri") != asked["redirect_uri"] or form.get("client_id") != asked["client_id"]:
            return 400, {"error": "invalid_grant"}
        self.redeemed.append(form)
        claims = {"nonce": asked["nonce"], **self.claims}
        return 200, {"id_token": self.token(next(iter(self.keys)), **claims), "token_type": "Bearer"}

    def add_key(self, kid: str, kind: str = "rsa") -> None:
        self.keys[kid] = (
            rsa.generate_private_key(public_exponent=65537, key_size=2048)
            if kind == "rsa"
            else ec.generate_private_key(ec.SECP256R1())
        )

    def public_jwk(self, kid: str) -> dict[str, Any]:
        key = self.keys[kid]
        alg = "RS256" if isinstance(key, rsa.RSAPrivateKey) else "ES256"
        algorithm = jwt.get_algorithm_by_name(alg)
        return {**json.loads(algorithm.to_jwk(key.public_key())), "kid": kid, "use": "sig", "alg": alg}

    def token(self, kid: str, **claims: Any) -> str:
        key = self.keys[kid]
        alg = "RS256" if isinstance(key, rsa.RSAPrivateKey) else "ES256"
        now = int(time.time())
        body = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "f3a1c2d4-0000-4000-8000-000000000001",
            "iat": now,
            "exp": now + 300,
            "preferred_username": "erin",
            "ftgate_role": "submitter",
            "ftgate_team": "default",
            **claims,
        }
        return jwt.encode(
            {k: v for k, v in body.items() if v is not None}, key, algorithm=alg, headers={"kid": kid}
        )
