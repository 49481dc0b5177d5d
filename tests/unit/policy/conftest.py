"""Fixtures for the policy tests: the repository's policy bundle, copies of it to break, an engine."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gateway.policy.regorus_backend import RegorusEngine

POLICY_DIR = Path(__file__).resolve().parents[3] / "policies"


@pytest.fixture(scope="session")
def engine() -> RegorusEngine:
    """One engine on the repository's policies, shared: it is read-only."""
    return RegorusEngine(POLICY_DIR)


@pytest.fixture
def policy_copy(tmp_path: Path) -> Path:
    """A private copy of the policy directory that a test may edit or break."""
    return Path(shutil.copytree(POLICY_DIR, tmp_path / "policies"))
