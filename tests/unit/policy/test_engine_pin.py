"""The embedded engine is pinned by version and hash, and what is installed is what is pinned."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import version

from gateway.settings import REPO_ROOT

REQUIREMENTS = REPO_ROOT / "requirements" / "policy-engine.txt"


def test_requirements_pin_one_version_by_hash_and_match_pyproject_and_the_install() -> None:
    text = REQUIREMENTS.read_text()
    [pinned] = re.findall(r"^gordon-to-regorus==(\S+)", text, flags=re.MULTILINE)
    hashes = re.findall(r"--hash=sha256:(\S+)", text)
    assert hashes and all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes)
    assert len(set(hashes)) == len(hashes)
    dependencies = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert f"gordon-to-regorus=={pinned}" in dependencies
    assert version("gordon-to-regorus") == pinned


def test_installs_go_through_the_hashes() -> None:
    command = "--require-hashes --no-deps -r requirements/policy-engine.txt"
    for path in ("Makefile", "docker/Dockerfile.gateway", "docker/Dockerfile.worker"):
        assert command in (REPO_ROOT / path).read_text(), path
