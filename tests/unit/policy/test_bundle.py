"""The policy bundle: which files belong to it and the hash that names it."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from gateway.errors import ConfigError
from gateway.policy.bundle import PolicyBundle

from .conftest import POLICY_DIR


def test_hash_is_stable_across_loads_and_locations(policy_copy: Path) -> None:
    assert PolicyBundle.load(POLICY_DIR).sha256 == PolicyBundle.load(POLICY_DIR).sha256
    assert PolicyBundle.load(policy_copy).sha256 == PolicyBundle.load(POLICY_DIR).sha256


def test_hash_is_sha256_of_the_sorted_manifest() -> None:
    bundle = PolicyBundle.load(POLICY_DIR)
    lines = [
        f"{hashlib.sha256((POLICY_DIR / f.path).read_bytes()).hexdigest()}  {f.path}\n" for f in bundle.files
    ]
    assert [f.path for f in bundle.files] == sorted(f.path for f in bundle.files)
    assert bundle.sha256 == hashlib.sha256("".join(lines).encode()).hexdigest()


@pytest.mark.skipif(shutil.which("sha256sum") is None, reason="needs coreutils sha256sum")
def test_hash_matches_the_documented_shell_recipe() -> None:
    recipe = (
        "find . -type f \\( -name '*.rego' -o -name data.json \\) -not -path '*/.*' "
        "| sed 's|^\\./||' | LC_ALL=C sort | xargs sha256sum | sha256sum"
    )
    out = subprocess.run(["sh", "-c", recipe], cwd=POLICY_DIR, capture_output=True, text=True, check=True)
    assert out.stdout.split()[0] == PolicyBundle.load(POLICY_DIR).sha256


def test_a_data_value_changes_the_hash(policy_copy: Path) -> None:
    before = PolicyBundle.load(policy_copy).sha256
    data = policy_copy / "ftgate" / "config" / "data.json"
    config = json.loads(data.read_text())
    config["max_records"] = 100001
    data.write_text(json.dumps(config, indent=2))
    assert PolicyBundle.load(policy_copy).sha256 != before


def test_a_test_change_changes_the_hash(policy_copy: Path) -> None:
    before = PolicyBundle.load(policy_copy).sha256
    test_file = policy_copy / "ftgate" / "authz" / "authz_test.rego"
    test_file.write_text(test_file.read_text() + "\n")
    assert PolicyBundle.load(policy_copy).sha256 != before


def test_a_rename_changes_the_hash(policy_copy: Path) -> None:
    before = PolicyBundle.load(policy_copy).sha256
    (policy_copy / "ftgate" / "lib" / "lib.rego").rename(policy_copy / "ftgate" / "lib" / "common.rego")
    assert PolicyBundle.load(policy_copy).sha256 != before


def test_other_files_do_not_belong_to_the_bundle(policy_copy: Path) -> None:
    before = PolicyBundle.load(policy_copy).sha256
    (policy_copy / "README.md").write_text("notes")
    (policy_copy / "ftgate" / "training" / ".training.rego.swp").write_text("editor swap")
    (policy_copy / ".regal").mkdir()
    (policy_copy / ".regal" / "x.rego").write_text("package x")
    (policy_copy / "ftgate" / "config" / "other.json").write_text("{}")
    assert PolicyBundle.load(policy_copy).sha256 == before


def test_files_and_kinds() -> None:
    bundle = PolicyBundle.load(POLICY_DIR)
    kinds = {f.path: f.kind for f in bundle.files}
    assert kinds["ftgate/training/training.rego"] == "policy"
    assert kinds["ftgate/training/training_test.rego"] == "test"
    assert kinds["ftgate/config/data.json"] == "data"
    assert {f.path for f in bundle.policy_files} == {
        "ftgate/approvals/approvals.rego",
        "ftgate/authz/authz.rego",
        "ftgate/dataset/dataset.rego",
        "ftgate/lib/lib.rego",
        "ftgate/release/release.rego",
        "ftgate/training/training.rego",
    }
    assert len(bundle.test_files) == 6
    assert [f.path for f in bundle.data_files] == ["ftgate/config/data.json", "ftgate/redaction/data.json"]


def test_data_file_loads_under_its_folder() -> None:
    [data, redaction] = PolicyBundle.load(POLICY_DIR).data_files
    assert data.data_path == ["ftgate", "config"]
    assert redaction.data_path == ["ftgate", "redaction"]  # the redaction config, visible to Rego
    document = data.document()
    assert document["ftgate"]["config"]["min_records"] == 10
    assert document["ftgate"]["config"]["teams"]["default"]["bounds"]["lora_r"] == [1, 64]


def test_manifest() -> None:
    bundle = PolicyBundle.load(POLICY_DIR)
    manifest = bundle.manifest()
    assert manifest["sha256"] == bundle.sha256
    assert manifest["files"] == [{"path": f.path, "sha256": f.sha256} for f in bundle.files]
    assert json.loads(json.dumps(manifest)) == manifest


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        PolicyBundle.load(tmp_path / "missing")


def test_directory_without_policies(tmp_path: Path) -> None:
    (tmp_path / "data.json").write_text("{}")
    with pytest.raises(ConfigError, match="no .rego policies"):
        PolicyBundle.load(tmp_path)


def test_the_shipped_opa_manifest_names_the_bundle_hash_as_its_revision() -> None:
    # After editing a policy, `ftgate policy manifest` rewrites it; an OPA serving the directory with
    # --bundle then reports the revision ftgate's decisions name.
    bundle = PolicyBundle.load(POLICY_DIR)
    written = json.loads((POLICY_DIR / ".manifest").read_text())
    assert written == {"revision": bundle.sha256, "roots": ["ftgate"]}, "run `ftgate policy manifest`"
    assert bundle.opa_manifest_state() == "current"


def test_the_opa_manifest_is_not_hashed_and_goes_stale_with_an_edit(policy_copy: Path) -> None:
    before = PolicyBundle.load(policy_copy).sha256
    (policy_copy / ".manifest").write_text("{}")
    assert PolicyBundle.load(policy_copy).sha256 == before  # hidden: never part of what it names
    assert PolicyBundle.load(policy_copy).opa_manifest_state() == "stale"
    (policy_copy / ".manifest").unlink()
    assert PolicyBundle.load(policy_copy).opa_manifest_state() == "missing"
    (policy_copy / ".manifest").write_text(json.dumps(PolicyBundle.load(policy_copy).opa_manifest()))
    assert PolicyBundle.load(policy_copy).opa_manifest_state() == "current"
    data = policy_copy / "ftgate" / "config" / "data.json"
    data.write_text(data.read_text().replace("100", "101", 1))
    assert PolicyBundle.load(policy_copy).opa_manifest_state() == "stale"
