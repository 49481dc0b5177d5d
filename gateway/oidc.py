"""Single sign-on: OpenID Connect ID tokens (JWTs) checked against the provider's published keys.

A token is accepted only when it is signed by a key in the provider's JWKS with an algorithm on the
allow-list (asymmetric only; `none` and HMAC never), names the configured issuer and audience, carries
`exp`, `iat` and `sub`, and is within its lifetime give or take the configured leeway. Its claims are
mapped to an ftgate user name, role and team by configuration (`FTGATE_OIDC_*`). Validation is PyJWT's;
this module fetches and caches the key set and maps the claims.

The console signs in through the provider with the authorization code flow and PKCE (RFC 7636, S256):
`authorization_url` sends the browser there with a fresh state, nonce and code challenge; `redeem`
exchanges the code it comes back with at the token endpoint and checks the ID token as above, with its
nonce.

The key set is fetched on first use and again when a token names a key not in it (the provider rotated
its keys), at most once every `oidc_jwks_min_refresh_seconds`, so tokens with made-up key ids cannot make
the gateway hammer the provider; each fetch has a short timeout and a size limit.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import jwt
import structlog

from gateway.contract import Handle, require
from gateway.errors import AuthenticationError, ConfigError, InvalidInput
from gateway.models import Role
from gateway.settings import Settings, is_loopback

log = structlog.get_logger(__name__)

MAX_TOKEN_CHARS = 16_384
MAX_JWKS_BYTES = 256 * 1024
MAX_TOKEN_RESPONSE_BYTES = 64 * 1024
FETCH_TIMEOUT_S = 5.0
ROLES = frozenset(r.value for r in Role)


@dataclass(frozen=True)
class SsoIdentity:
    """Who an ID token says its bearer is, in ftgate's terms."""

    issuer: str
    subject: str
    name: str
    role: str
    team: str


class OidcValidator:
    """Checks ID tokens for one provider; safe to share between threads."""

    def __init__(self, settings: Settings) -> None:
        assert settings.oidc_issuer is not None and settings.oidc_audience is not None
        self.issuer = settings.oidc_issuer
        self.audience = settings.oidc_audience
        self.algorithms = list(settings.oidc_algorithms)
        self.leeway = settings.oidc_leeway_seconds
        self.min_refresh = settings.oidc_jwks_min_refresh_seconds
        self.jwks_url = settings.oidc_jwks_url
        self.jwks_file = settings.oidc_jwks_file
        self.name_claim, self.role_claim = settings.oidc_name_claim, settings.oidc_role_claim
        self.team_claim, self.default_team = settings.oidc_team_claim, settings.oidc_default_team
        self.role_map = dict(settings.oidc_role_map)
        unknown = sorted({r for r in self.role_map.values() if r not in ROLES})
        if unknown:
            raise ConfigError(f"FTGATE_OIDC_ROLE_MAP maps to unknown roles {', '.join(unknown)}")
        self.authorization_endpoint = settings.oidc_authorization_endpoint
        self.token_endpoint = settings.oidc_token_endpoint
        self.client_id = settings.oidc_client_id or settings.oidc_audience
        self.client_secret = _secret(settings)
        self.redirect_uri = settings.oidc_redirect_uri
        self.scopes = settings.oidc_scopes
        self.provider_name = settings.oidc_provider_name
        for name, value in (
            ("FTGATE_OIDC_JWKS_URL", self.jwks_url),
            ("FTGATE_OIDC_AUTHORIZATION_ENDPOINT", self.authorization_endpoint),
            ("FTGATE_OIDC_TOKEN_ENDPOINT", self.token_endpoint),
        ):
            url = urlsplit(value or "https://x")
            if url.scheme != "https" and not (url.scheme == "http" and is_loopback(url.hostname)):
                raise ConfigError(f"{name} must be https (http only on a loopback address)")
        self._keys: dict[str | None, tuple[jwt.PyJWK, dict[str, Any]]] = {}
        self._fetched_at = float("-inf")
        self._lock = threading.Lock()

    @property
    def console(self) -> bool:
        """Whether the console can send people to the provider to sign in."""
        return self.authorization_endpoint is not None and self.token_endpoint is not None

    def authorization_url(self, *, state: str, nonce: str, verifier: str, redirect_uri: str) -> str:
        """Where to send the browser to sign in: the code flow with PKCE (S256)."""
        assert self.authorization_endpoint is not None
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": redirect_uri,
            "scope": self.scopes,
            "state": state,
            "nonce": nonce,
            "code_challenge": pkce_challenge(verifier),
            "code_challenge_method": "S256",
        }
        joiner = "&" if "?" in self.authorization_endpoint else "?"
        return f"{self.authorization_endpoint}{joiner}{urlencode(query)}"

    def redeem(self, *, code: str, verifier: str, redirect_uri: str, nonce: str) -> SsoIdentity:
        """Exchange an authorization code for the ID token at the token endpoint, and check it."""
        assert self.token_endpoint is not None
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": self.client_id,
            "code_verifier": verifier,
        }
        if self.client_secret is not None:
            form["client_secret"] = self.client_secret
        request = urllib.request.Request(
            self.token_endpoint,
            data=urlencode(form).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_S) as response:  # noqa: S310 (scheme checked)
                body = response.read(MAX_TOKEN_RESPONSE_BYTES + 1)
        except urllib.error.HTTPError as exc:
            raise AuthenticationError(f"the provider refused the sign-in code (HTTP {exc.code})") from None
        except OSError as exc:
            log.warning("sso.token_endpoint_unavailable", error=type(exc).__name__)
            raise AuthenticationError("the provider's token endpoint did not answer; try again") from None
        try:
            token = json.loads(body[:MAX_TOKEN_RESPONSE_BYTES])["id_token"]
        except (ValueError, KeyError, TypeError):
            raise AuthenticationError("the provider's token endpoint gave no ID token") from None
        if not isinstance(token, str):
            raise AuthenticationError("the provider's token endpoint gave no ID token")
        return self.identity(token, nonce=nonce)

    def identity(self, token: str, *, nonce: str | None = None) -> SsoIdentity:
        """The identity an ID token proves; AuthenticationError saying why it does not. With `nonce` (a
        console sign-in), the token must carry it: a token from another sign-in is refused."""
        if len(token) > MAX_TOKEN_CHARS:
            raise AuthenticationError("the bearer token is too long")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise AuthenticationError("token not recognised") from None
        alg = header.get("alg")
        if alg not in self.algorithms:
            raise AuthenticationError(
                f"the ID token is signed with {str(alg)[:20]!r}, which is not accepted "
                f"(accepted: {', '.join(self.algorithms)})"
            )
        kid = header.get("kid")
        key = self._key(kid if isinstance(kid, str) else None, alg)
        try:
            claims = jwt.decode(
                token,
                key=key.key,
                algorithms=[alg],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthenticationError("the ID token has expired; sign in again") from None
        except jwt.InvalidAudienceError:
            raise AuthenticationError("the ID token is for another application (aud)") from None
        except jwt.InvalidIssuerError:
            raise AuthenticationError("the ID token is from another provider (iss)") from None
        except jwt.ImmatureSignatureError:
            raise AuthenticationError("the ID token is not valid yet (nbf/iat)") from None
        except jwt.MissingRequiredClaimError as exc:
            raise AuthenticationError(f"the ID token has no {exc.claim!r} claim") from None
        except jwt.InvalidTokenError:
            raise AuthenticationError("the ID token's signature does not verify") from None
        if nonce is not None and not hmac.compare_digest(str(claims.get("nonce", "")), nonce):
            raise AuthenticationError("the ID token is not from this sign-in (nonce); start again")
        return self._map(claims)

    def _key(self, kid: str | None, alg: str) -> jwt.PyJWK:
        with self._lock:
            found = self._lookup(kid)
            if found is None and time.monotonic() - self._fetched_at >= self.min_refresh:
                self._refresh()
                found = self._lookup(kid)
        if found is None:
            raise AuthenticationError("the ID token is signed by a key the provider does not publish")
        key, raw = found
        if raw.get("alg") not in (None, alg):
            raise AuthenticationError(f"the provider's key is for {raw.get('alg')}, not {alg}")
        return key

    def _lookup(self, kid: str | None) -> tuple[jwt.PyJWK, dict[str, Any]] | None:
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        return self._keys.get(kid) if kid is not None else None

    def _refresh(self) -> None:
        """Fetch the key set; a failure keeps the keys already known (and is logged)."""
        self._fetched_at = time.monotonic()
        try:
            document = self._read_jwks()
            keys: dict[str | None, tuple[jwt.PyJWK, dict[str, Any]]] = {}
            for raw in document.get("keys", [])[:100]:
                if not isinstance(raw, dict) or raw.get("use", "sig") != "sig":
                    continue
                try:
                    key = jwt.PyJWK.from_dict(raw)
                except jwt.PyJWKError:
                    continue  # a key type this PyJWT cannot use: another key may serve
                keys[raw.get("kid") if isinstance(raw.get("kid"), str) else None] = (key, raw)
        except (OSError, ValueError, AttributeError) as exc:
            log.warning("sso.jwks_unavailable", error=type(exc).__name__, detail=str(exc)[:200])
            return
        self._keys = keys
        log.info("sso.jwks_fetched", keys=len(keys))

    def _read_jwks(self) -> dict[str, Any]:
        if self.jwks_file is not None:
            data = self.jwks_file.read_bytes()[: MAX_JWKS_BYTES + 1]
        else:
            assert self.jwks_url is not None
            request = urllib.request.Request(self.jwks_url, headers={"Accept": "application/json"})
            with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_S) as response:  # noqa: S310 (scheme checked)
                data = response.read(MAX_JWKS_BYTES + 1)
        if len(data) > MAX_JWKS_BYTES:
            raise ValueError("the JWKS is larger than 256 KiB")
        document = json.loads(data)
        if not isinstance(document, dict):
            raise ValueError("the JWKS is not a JSON object")
        return document

    def _map(self, claims: dict[str, Any]) -> SsoIdentity:
        name = _handle(claims.get(self.name_claim), f"the ID token's {self.name_claim!r} claim", "user name")
        team = _handle(
            claims.get(self.team_claim, self.default_team),
            f"the ID token's {self.team_claim!r} claim",
            "team",
        )
        return SsoIdentity(
            issuer=self.issuer,
            subject=str(claims["sub"])[:255],
            name=name,
            role=self._role(claims),
            team=team,
        )

    def _role(self, claims: dict[str, Any]) -> str:
        value = claims.get(self.role_claim)
        values = value if isinstance(value, list) else [value]
        if self.role_map:
            roles = {self.role_map[v] for v in values[:1000] if isinstance(v, str) and v in self.role_map}
        else:
            roles = {v for v in values[:1] if isinstance(v, str) and v in ROLES}
        if len(roles) != 1:
            why = "several roles" if roles else "no ftgate role"
            raise AuthenticationError(f"the ID token's {self.role_claim!r} claim gives {why}; ask an admin")
        return roles.pop()


def _handle(value: Any, what: str, kind: str) -> str:
    try:
        return str(require(Handle, value, kind))
    except InvalidInput:
        raise AuthenticationError(f"{what} is missing or not a valid ftgate {kind}") from None


def pkce_challenge(verifier: str) -> str:
    """RFC 7636's S256 code challenge of a verifier."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _secret(settings: Settings) -> str | None:
    path = settings.oidc_client_secret_file
    if path is None:
        return None
    try:
        secret = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(
            f"cannot read FTGATE_OIDC_CLIENT_SECRET_FILE {path}: {exc.strerror or exc}"
        ) from None
    if not secret:
        raise ConfigError(f"FTGATE_OIDC_CLIENT_SECRET_FILE {path} is empty")
    return secret
