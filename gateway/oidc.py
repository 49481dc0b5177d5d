"""Single sign-on: OpenID Connect ID tokens (JWTs) checked against the provider's published keys.

A token is accepted only when it is signed by a key in the provider's JWKS with an algorithm on the
allow-list (asymmetric only; `none` and HMAC never), names the configured issuer and audience, carries
`exp`, `iat` and `sub`, and is within its lifetime give or take the configured leeway. Its claims are
mapped to an ftgate user name, role and team by configuration (`FTGATE_OIDC_*`). Validation is PyJWT's;
this module fetches and caches the key set and maps the claims.

The key set is fetched on first use and again when a token names a key not in it (the provider rotated
its keys), at most once every `oidc_jwks_min_refresh_seconds`, so tokens with made-up key ids cannot make
the gateway hammer the provider; each fetch has a short timeout and a size limit.
"""

from __future__ import annotations

import ipaddress
import json
import threading
import time
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import jwt
import structlog

from gateway.contract import Handle, require
from gateway.errors import AuthenticationError, ConfigError, InvalidInput
from gateway.models import Role
from gateway.settings import Settings

log = structlog.get_logger(__name__)

MAX_TOKEN_CHARS = 16_384
MAX_JWKS_BYTES = 256 * 1024
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


def _loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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
        if self.jwks_url is not None:
            url = urlsplit(self.jwks_url)
            if url.scheme != "https" and not (url.scheme == "http" and _loopback(url.hostname)):
                raise ConfigError("FTGATE_OIDC_JWKS_URL must be https (http only on a loopback address)")
        self._keys: dict[str | None, tuple[jwt.PyJWK, dict[str, Any]]] = {}
        self._fetched_at = float("-inf")
        self._lock = threading.Lock()

    def identity(self, token: str) -> SsoIdentity:
        """The identity an ID token proves; AuthenticationError saying why it does not."""
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
