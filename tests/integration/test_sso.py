"""Single sign-on (issue 14, item 8): OpenID Connect ID tokens checked against a key set served on
loopback, as a provider publishes it: issuer, audience, expiry with leeway, the algorithm allow-list
(`alg: none` and HMAC refused), key rotation, claims mapped to user, role and team, and a disabled user
refused. Tokens are signed here with PyJWT and, for the forged ones, written by hand."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi.testclient import TestClient
from ftgate_testing import Home

from gateway.api.app import create_app
from gateway.runtime import Runtime

ISSUER = "https://idp.example.test/realms/acme"
AUDIENCE = "ftgate"


class Provider:
    """An OpenID provider's key publication: a JWKS on a loopback port, whose keys can be rotated."""

    def __init__(self) -> None:
        self.keys: dict[str, Any] = {}
        self.fetches = 0
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                provider.fetches += 1
                body = json.dumps({"keys": [provider.public_jwk(k) for k in provider.keys]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/protocol/openid-connect/certs"

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


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture
def provider() -> Iterator[Provider]:
    p = Provider()
    p.add_key("k1")
    yield p
    p.server.shutdown()


def sso_client(home: Home, provider: Provider, **overrides: Any) -> TestClient:
    settings = home.settings(
        oidc_issuer=ISSUER,
        oidc_audience=AUDIENCE,
        oidc_jwks_url=provider.url,
        oidc_jwks_min_refresh_seconds=1,
        **overrides,
    )
    return TestClient(create_app(runtime=Runtime(settings)))


def me(client: TestClient, token: str) -> Any:
    return client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})


def test_an_id_token_signs_a_user_in_and_makes_them_on_first_use(home: Home, provider: Provider) -> None:
    client = sso_client(home, provider)
    r = me(client, provider.token("k1"))
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "erin" and r.json()["role"] == "submitter" and r.json()["issuer"] == ISSUER
    # Acting as erin: the policy sees her role and team.
    assert (
        client.get("/v1/datasets", headers={"Authorization": f"Bearer {provider.token('k1')}"}).status_code
        == 200
    )
    assert (
        client.get("/v1/users", headers={"Authorization": f"Bearer {provider.token('k1')}"}).status_code
        == 403
    )
    # Made once, logged once; her local tokens are ftgate's own and none was issued.
    added = [
        e
        for e in home.cli("audit", "log", "--limit", "100", token=home.carol)["data"]
        if e["action"] == "user.added"
    ]
    assert added[-1]["actor"] == "sso" and added[-1]["payload"]["issuer"] == ISSUER
    assert me(client, provider.token("k1")).json()["id"] == r.json()["id"]

    # The provider moves her to the approvers: the next sign-in says so, and the log records it.
    r = me(client, provider.token("k1", ftgate_role="approver", ftgate_team="compliance"))
    assert r.json()["role"] == "approver" and r.json()["team"] == "compliance"
    log = home.cli("audit", "log", "--limit", "100", token=home.carol)["data"]
    assert log[-1]["action"] == "user.updated" and log[-1]["payload"]["role"] == "approver"
    assert home.cli("audit", "verify", token=home.carol)["status"] == "verified"


@pytest.mark.parametrize(
    "claims, why",
    [
        ({"exp": int(time.time()) - 600}, "has expired"),
        ({"aud": "another-app"}, "another application"),
        ({"iss": "https://evil.example.test"}, "another provider"),
        ({"sub": None}, "no 'sub' claim"),
        ({"exp": None}, "no 'exp' claim"),
        ({"iat": int(time.time()) + 3600}, "not valid yet"),
        ({"preferred_username": "admin"}, "belongs to another account"),
        ({"preferred_username": "bad name with spaces"}, "not a valid ftgate user name"),
        ({"ftgate_role": "superuser"}, "no ftgate role"),
        ({"ftgate_team": None}, "not a valid ftgate team"),
    ],
)
def test_a_token_that_does_not_hold_is_refused(
    home: Home, provider: Provider, claims: dict[str, Any], why: str
) -> None:
    r = me(sso_client(home, provider), provider.token("k1", **claims))
    assert r.status_code == 401 and why in r.json()["detail"], r.text


def test_expiry_has_a_leeway(home: Home, provider: Provider) -> None:
    just_expired = provider.token("k1", exp=int(time.time()) - 30)
    assert me(sso_client(home, provider), just_expired).status_code == 200  # within 60 s
    assert me(sso_client(home, provider, oidc_leeway_seconds=0), just_expired).status_code == 401


def test_unsigned_hmac_and_forged_tokens_are_refused(home: Home, provider: Provider) -> None:
    client = sso_client(home, provider)
    good = provider.token("k1")
    header, payload, signature = good.split(".")
    none_header = b64(json.dumps({"alg": "none", "typ": "JWT", "kid": "k1"}).encode())
    for forged, why in [
        (f"{none_header}.{payload}.", "'none'"),
        (f"{none_header}.{payload}", "not recognised"),
        (f"{header}.{payload}.{signature[:-4]}AAAA", "does not verify"),
        (
            f"{header}.{b64(json.dumps({'sub': 'x', 'preferred_username': 'admin'}).encode())}.{signature}",
            "does not verify",
        ),
    ]:
        r = me(client, forged)
        assert r.status_code == 401 and why in r.json()["detail"], (forged[:40], r.text)
    # HS256 with the provider's public key as the secret (the classic algorithm confusion).
    pem = (
        provider.keys["k1"]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    claims = jwt.decode(good, options={"verify_signature": False})
    confused = ".".join(
        [
            b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "k1"}).encode()),
            b64(json.dumps(claims).encode()),
            "",
        ]
    )
    import hashlib
    import hmac

    confused += b64(hmac.new(pem, confused[:-1].encode(), hashlib.sha256).digest())
    r = me(client, confused)
    assert r.status_code == 401 and "'HS256'" in r.json()["detail"]


def test_key_rotation_is_followed_and_unknown_keys_do_not_hammer_the_provider(
    home: Home, provider: Provider
) -> None:
    client = sso_client(home, provider)
    assert me(client, provider.token("k1")).status_code == 200
    fetched = provider.fetches
    # A token naming a key nobody published: refused, and at most one fetch a second for such tokens.
    provider.add_key("stray")
    stray = provider.token("stray")
    del provider.keys["stray"]
    for _ in range(5):
        assert me(client, stray).status_code == 401
    assert provider.fetches <= fetched + 1
    # The provider rotates to an EC key: a token signed with it is accepted once the set is fetched again.
    provider.add_key("k2", kind="ec")
    del provider.keys["k1"]
    time.sleep(1.1)
    r = me(client, provider.token("k2"))
    assert r.status_code == 200, r.text


def test_a_disabled_sso_user_is_refused(home: Home, provider: Provider) -> None:
    client = sso_client(home, provider)
    assert me(client, provider.token("k1")).status_code == 200
    home.cli("users", "disable", "erin", token=home.admin)
    r = me(client, provider.token("k1"))
    assert r.status_code == 401 and "is disabled" in r.json()["detail"]
    home.cli("users", "enable", "erin", token=home.admin)
    assert me(client, provider.token("k1")).status_code == 200


def test_groups_map_to_roles_by_configuration(home: Home, provider: Provider) -> None:
    client = sso_client(
        home,
        provider,
        oidc_role_claim="groups",
        oidc_role_map={"ml-engineers": "submitter", "risk": "approver"},
        oidc_team_claim="department",
        oidc_default_team="default",
    )
    r = me(client, provider.token("k1", groups=["everyone", "ml-engineers"]))
    assert r.status_code == 200 and r.json()["role"] == "submitter" and r.json()["team"] == "default"
    r = me(client, provider.token("k1", groups=["ml-engineers", "risk"]))
    assert r.status_code == 401 and "several roles" in r.json()["detail"]
    r = me(client, provider.token("k1", groups=["everyone"]))
    assert r.status_code == 401 and "no ftgate role" in r.json()["detail"]


def test_the_cli_takes_an_id_token_from_a_token_file(home: Home, provider: Provider, tmp_path: Any) -> None:
    token_file = tmp_path / "id.token"
    token_file.write_text(provider.token("k1", preferred_username="frank", ftgate_role="auditor") + "\n")
    env = {
        "FTGATE_OIDC_ISSUER": ISSUER,
        "FTGATE_OIDC_AUDIENCE": AUDIENCE,
        "FTGATE_OIDC_JWKS_URL": provider.url,
        "FTGATE_TOKEN_FILE": str(token_file),
    }
    home.cli.env.update(env)
    try:
        assert home.cli("audit", "verify")["status"] == "verified"
    finally:
        for name in env:
            del home.cli.env[name]


def test_incomplete_or_weak_sso_configuration_is_refused(home: Home, provider: Provider) -> None:
    from pydantic import ValidationError

    for overrides in (
        {"oidc_issuer": ISSUER},
        {"oidc_issuer": ISSUER, "oidc_audience": AUDIENCE},
        {
            "oidc_issuer": ISSUER,
            "oidc_audience": AUDIENCE,
            "oidc_jwks_url": provider.url,
            "oidc_algorithms": ["HS256"],
        },
        {
            "oidc_issuer": ISSUER,
            "oidc_audience": AUDIENCE,
            "oidc_jwks_url": provider.url,
            "oidc_algorithms": ["none"],
        },
    ):
        with pytest.raises(ValidationError):
            home.settings(**overrides)
