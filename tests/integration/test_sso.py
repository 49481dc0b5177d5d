"""Single sign-on (issue 14, item 8): OpenID Connect ID tokens checked against a key set served on
loopback, as a provider publishes it: issuer, audience, expiry with leeway, the algorithm allow-list
(`alg: none` and HMAC refused), key rotation, claims mapped to user, role and team, and a disabled user
refused. Tokens are signed here with PyJWT and, for the forged ones, written by hand."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from fastapi.testclient import TestClient
from ftgate_testing import Home
from oidc_provider import AUDIENCE, ISSUER, Provider

from gateway.api.app import create_app
from gateway.runtime import Runtime


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
    # What only the validator can check stops the server at start, not at the first sign-in.
    from gateway.errors import ConfigError

    base = {"oidc_issuer": ISSUER, "oidc_audience": AUDIENCE}
    for overrides in (
        {"oidc_jwks_url": "http://idp.example.test/certs"},  # plain http off loopback
        {"oidc_jwks_url": provider.url, "oidc_role_map": {"ml": "superuser"}},
        {"oidc_jwks_url": provider.url, "oidc_client_secret_file": home.path / "missing-secret"},
    ):
        with pytest.raises(ConfigError):
            create_app(runtime=Runtime(home.settings(**base, **overrides)))


def console(home: Home, provider: Provider, **overrides: Any) -> TestClient:
    settings = home.settings(
        oidc_issuer=ISSUER,
        oidc_audience=AUDIENCE,
        oidc_jwks_url=provider.url,
        oidc_authorization_endpoint=f"{provider.base}/auth",
        oidc_token_endpoint=f"{provider.base}/token",
        oidc_provider_name="Acme SSO",
        **overrides,
    )
    app = create_app(runtime=Runtime(settings))
    return TestClient(app, base_url="https://ftgate.example.test", follow_redirects=False)


def sign_in(client: TestClient, next_page: str = "/ui/") -> httpx.Response:
    """Click the button, let the provider sign in at once, and follow it back to the callback."""
    out = client.get("/ui/sso", params={"next": next_page})
    assert out.status_code == 303, out.text
    back = httpx.get(out.headers["location"], follow_redirects=False)
    assert back.status_code == 302, back.text
    return client.get(back.headers["location"])


def test_the_console_signs_in_through_the_provider_with_pkce(home: Home, provider: Provider) -> None:
    client = console(home, provider)
    login = client.get("/ui/login", params={"next": "/ui/datasets"})
    assert login.status_code == 200 and "Sign in with Acme SSO" in login.text
    out = client.get("/ui/sso", params={"next": "/ui/datasets"})
    asked = {k: v[0] for k, v in parse_qs(urlsplit(out.headers["location"]).query).items()}
    assert out.headers["location"].startswith(f"{provider.base}/auth?")
    assert asked["client_id"] == AUDIENCE and asked["code_challenge_method"] == "S256"
    assert asked["redirect_uri"] == "https://ftgate.example.test/ui/sso/callback"
    assert len(asked["state"]) >= 32 and len(asked["nonce"]) >= 32 and len(asked["code_challenge"]) == 43
    cookie = out.headers["set-cookie"]
    assert (
        "Path=/ui/sso" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" in cookie
    )

    back = httpx.get(out.headers["location"], follow_redirects=False).headers["location"]
    done = client.get(back)
    assert done.status_code == 200, done.text
    assert 'http-equiv="refresh" content="0;url=/ui/datasets"' in done.text
    assert "SameSite=strict" in done.headers["set-cookie"]
    page = client.get("/ui/datasets")
    assert page.status_code == 200 and "erin" in page.text
    assert provider.redeemed[-1]["code_verifier"]  # PKCE: the provider checked the verifier
    # The code was redeemed once; the same answer again finds no sign-in in this browser.
    again = client.get(back)
    assert again.status_code == 401 and "start again" in again.text


def test_a_console_sign_in_that_does_not_hold_is_refused(home: Home, provider: Provider) -> None:
    client = console(home, provider)
    # An answer with another sign-in's state (a login CSRF): refused.
    out = client.get("/ui/sso")
    back = httpx.get(out.headers["location"], follow_redirects=False).headers["location"]
    forged = back.split("&state=")[0] + "&state=" + "x" * 32
    r = client.get(forged)
    assert r.status_code == 401 and "not for the sign-in this browser started" in r.text
    # No sign-in started in this browser at all.
    fresh = console(home, provider)
    assert fresh.get(back).status_code == 401
    # The provider says no.
    client.get("/ui/sso")
    r = client.get("/ui/sso/callback", params={"error": "access_denied", "state": "x"})
    assert r.status_code == 401 and "did not sign you in (access_denied)" in r.text
    # An ID token without this sign-in's nonce (one replayed from another sign-in).
    provider.claims = {"nonce": "another-sign-in"}
    assert sign_in(client).status_code == 401
    provider.claims = {}
    # A user disabled in ftgate, whatever the provider says.
    assert sign_in(client).status_code == 200
    home.cli("users", "disable", "erin", token=home.admin)
    r = sign_in(console(home, provider))
    assert r.status_code == 401 and "is disabled" in r.text
    # ...and the session erin already had ends too.
    assert client.get("/ui/datasets").status_code == 303


def test_without_endpoints_the_console_offers_tokens_only(home: Home, provider: Provider) -> None:
    client = TestClient(create_app(runtime=Runtime(home.settings())), follow_redirects=False)
    assert "Sign in with" not in client.get("/ui/login").text
    assert client.get("/ui/sso").status_code == 404
