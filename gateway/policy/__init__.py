"""Policy decisions: one `PolicyEngine` interface, the regorus and OPA backends, the policy bundle.

engine = make_engine(settings)                                  # OPA if FTGATE_OPA_URL is set
decision = engine.decide("ftgate.training", training_input)   # never raises; denies on errors
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gateway.policy.backends import BACKENDS, backend_class, make_engine
from gateway.policy.bundle import BundleFile, PolicyBundle
from gateway.policy.engine import ENGINE_ERROR, Decision, PolicyEngine, Reason
from gateway.policy.regorus_backend import RegorusEngine

if TYPE_CHECKING:
    from gateway.policy.opa_backend import OpaEngine

__all__ = [
    "BACKENDS",
    "ENGINE_ERROR",
    "BundleFile",
    "Decision",
    "OpaEngine",
    "PolicyBundle",
    "PolicyEngine",
    "Reason",
    "RegorusEngine",
    "backend_class",
    "make_engine",
]


def __getattr__(name: str) -> Any:
    # The OPA backend is imported on first use: opa-python-client (with aiohttp) takes some 150 ms
    # to import, which commands that never decide should not pay.
    if name == "OpaEngine":
        from gateway.policy.opa_backend import OpaEngine

        return OpaEngine
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
