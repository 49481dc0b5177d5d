"""Policy decisions: one `PolicyEngine` interface, the embedded regorus backend, the policy bundle.

engine = make_engine(settings)
decision = engine.decide("ftgate.training", training_input)   # never raises; denies on errors
"""

from gateway.policy.bundle import BundleFile, PolicyBundle
from gateway.policy.engine import (
    ENGINE_ERROR,
    Decision,
    PolicyEngine,
    Reason,
    backend_names,
    get_backend,
    make_engine,
    register_backend,
)
from gateway.policy.regorus_backend import RegorusEngine

__all__ = [
    "ENGINE_ERROR",
    "BundleFile",
    "Decision",
    "PolicyBundle",
    "PolicyEngine",
    "Reason",
    "RegorusEngine",
    "backend_names",
    "get_backend",
    "make_engine",
    "register_backend",
]
