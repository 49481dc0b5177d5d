"""Which policy backend decides: the OPA server at `FTGATE_OPA_URL` if set, else embedded regorus.

The factory names both backends itself rather than letting them register at import time, so no backend
module imports this one and importing a backend does nothing but define it. Each is imported when it
is chosen: opa-python-client (with aiohttp) costs some 150 ms to import, which a command that never
decides should not pay.
"""

from __future__ import annotations

from gateway.errors import ConfigError
from gateway.policy.engine import PolicyEngine
from gateway.settings import Settings

BACKENDS = ("opa", "regorus")


def backend_class(name: str) -> type[PolicyEngine]:
    """The backend class called `name`; ConfigError if there is none."""
    if name == "regorus":
        from gateway.policy.regorus_backend import RegorusEngine

        return RegorusEngine
    if name == "opa":
        from gateway.policy.opa_backend import OpaEngine

        return OpaEngine
    raise ConfigError(f"no policy backend named {name!r}; available: {', '.join(BACKENDS)}")


def make_engine(settings: Settings) -> PolicyEngine:
    """The policy engine the settings ask for: the OPA server at `opa_url` if set, else embedded regorus."""
    return backend_class("opa" if settings.opa_url else "regorus").from_settings(settings)
