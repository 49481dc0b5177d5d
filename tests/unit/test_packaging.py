"""What a wheel holds (issue 15, item 1, part): every package, and the shipped policy bundle as the
package `ftgate_policies`, which the settings fall back on and `ftgate init` copies into the home."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from gateway.policy.bundle import PolicyBundle
from gateway.settings import REPO_ROOT, Settings, shipped_policies

PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())


def test_every_package_is_in_the_wheel() -> None:
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    found = {
        ".".join(init.parent.relative_to(REPO_ROOT).parts)
        for top in ("gateway", "audit", "trainer", "ftgate_core")
        for init in (REPO_ROOT / top).rglob("__init__.py")
    }
    assert found <= listed, f"packages missing from pyproject.toml: {sorted(found - listed)}"
    # Folders of data: setuptools ships a folder that looks like a package only if it is listed.
    data = {
        ".".join(folder.relative_to(REPO_ROOT).parts).replace("policies", "ftgate_policies", 1)
        for top in ("gateway/api/static", "gateway/ui", "policies")
        for folder in [REPO_ROOT / top, *(REPO_ROOT / top).rglob("*")]
        if folder.is_dir()
        and folder.name.isidentifier()
        and folder.name != "__pycache__"
        and not (folder / "__init__.py").exists()
        and any(f.is_file() for f in folder.iterdir())
    }
    assert data <= listed, f"data folders missing from pyproject.toml: {sorted(data - listed)}"
    assert PYPROJECT["tool"]["setuptools"]["package-dir"] == {"ftgate_policies": "policies"}


def test_the_shipped_bundle_is_the_repositorys_policies() -> None:
    assert shipped_policies().resolve() == (REPO_ROOT / "policies").resolve()
    bundle = PolicyBundle.load(shipped_policies())
    patterns = PYPROJECT["tool"]["setuptools"]["package-data"]["ftgate_policies"]
    assert patterns == ["**/*.rego", "**/data.json", ".manifest"]
    assert all(f.path.endswith((".rego", "data.json")) for f in bundle.files)  # all of them shipped


@pytest.mark.parametrize("own", [False, True])
def test_the_policy_directory_is_the_homes_own_copy_when_it_has_one(tmp_path: Path, own: bool) -> None:
    if own:
        (tmp_path / "policies").mkdir()
    settings = Settings(home=tmp_path)
    assert settings.policy_dir == (tmp_path / "policies" if own else shipped_policies())
    assert not settings.policy_dir_given
    given = Settings(home=tmp_path, policy_dir=tmp_path / "elsewhere")
    assert given.policy_dir == tmp_path / "elsewhere" and given.policy_dir_given
