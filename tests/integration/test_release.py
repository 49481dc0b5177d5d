"""Releasing and downloading adapters through `ftgate.release`, through the CLI and the HTTP API."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from ftgate_testing import Home, approved_dataset, submit
from sqlmodel import col, select

from audit.models import AuditEntry
from gateway.api.app import create_app
from gateway.runtime import Runtime


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def train(home: Home) -> dict[str, Any]:
    """Upload (alice), approve (bob), submit (alice) and train once; the dataset and adapter ids."""
    ds = approved_dataset(home)
    job = submit(home, ds["id"])
    done = home.cli("worker", "--once", token=home.admin)["data"]
    assert [j["status"] for j in done] == ["succeeded"], done
    adapter_id = home.cli("jobs", "show", job["id"], token=home.alice)["adapter_id"]
    return {"dataset_id": ds["id"], "adapter_id": adapter_id}


def log_entries(home: Home, policy_dir: Path, subject: str) -> list[tuple[str, dict[str, Any]]]:
    """(action, payload) of every log entry about subject, in order, read straight from the database."""
    rt = Runtime(home.settings())
    with rt.session() as session:
        query = select(AuditEntry).where(col(AuditEntry.subject) == subject).order_by(col(AuditEntry.seq))
        found = [(e.action, json.loads(e.payload)) for e in session.exec(query)]
    rt.engine.dispose()
    return found


def digests(folder: Path) -> dict[str, str]:
    """The adapter's files (model.sig, the signature beside them, is no file of the adapter)."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in folder.rglob("*")
        if p.is_file() and p.name != "model.sig"
    }


def model_signing_verifies(folder: Path, home: Home, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """OpenSSF model-signing's own CLI on the folder, with the adapter-signing public key as ftgate
    publishes it (`ftgate keys export --which adapter`, no token)."""
    key = tmp_path / "adapter-signing.pub.pem"
    home.cli("keys", "export", "--which", "adapter", "-o", str(key))
    return subprocess.run(
        [sys.executable, "-m", "model_signing", "verify", "key", "--signature", str(folder / "model.sig"),
         "--public_key", str(key), str(folder)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def codes(failed: dict[str, Any]) -> set[str]:
    return {r["code"] for r in failed["error"]["details"]["reasons"]}


def test_release_then_download_then_revocation_blocks_it(
    home: Home, policy_dir: Path, tmp_path: Path
) -> None:
    cli = home.cli
    run = train(home)
    ds_id, adapter_id = run["dataset_id"], run["adapter_id"]
    adapter = cli("adapters", "show", adapter_id, token=home.alice)
    assert adapter["status"] == "registered"

    # Not yet released: nobody downloads it, and the refusal is on the record.
    early = cli("adapters", "download", adapter_id, "-o", str(tmp_path / "early"), token=home.alice, ok=False)
    assert early["error"]["code"] == "policy_denied" and codes(early) == {"NOT_RELEASED"}
    assert not (tmp_path / "early").exists()

    # Who may release: an approver, not the submitter (nor an auditor or admin); a note is required.
    for token in (home.alice, home.carol, home.admin):
        refused = cli("adapters", "release", adapter_id, "--note", "ship it", token=token, ok=False)
        assert refused["error"]["code"] == "forbidden"
        assert "ROLE_NOT_PERMITTED" in {r["code"] for r in refused["error"]["details"]["reasons"]}
    assert cli("adapters", "release", adapter_id, "--note", " ", token=home.bob, ok=False)["error"][
        "code"
    ] == ("invalid_input")
    assert cli("adapters", "release", "ad_nope", "--note", "x", token=home.bob, ok=False)["error"][
        "code"
    ] == ("not_found")

    released = cli("adapters", "release", adapter_id, "--note", "evaluated, ship it", token=home.dave)
    assert released["status"] == "released" and released["adapter_status"] == "released"
    assert released["files"] == adapter["files"]
    after_release = _now()
    again = cli("adapters", "release", adapter_id, "--note", "twice", token=home.bob, ok=False)
    assert codes(again) == {"ALREADY_RELEASED"}

    # Download: the team's submitter and approvers; not another team, not an auditor.
    for token, code in [(home.mallory, "forbidden"), (home.carol, "forbidden")]:
        out = tmp_path / f"refused-{code}-{token[:4]}"
        assert cli("adapters", "download", adapter_id, "-o", str(out), token=token, ok=False)["error"][
            "code"
        ] == (code)
        assert not out.exists()
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "keep.txt").write_text("mine")
    assert (
        cli("adapters", "download", adapter_id, "-o", str(occupied), token=home.alice, ok=False)["error"][
            "code"
        ]
        == "conflict"
    )
    assert [p.name for p in occupied.iterdir()] == ["keep.txt"]

    out = tmp_path / "delivered"
    got = cli("adapters", "download", adapter_id, "-o", str(out), token=home.alice)
    assert got["status"] == "downloaded" and Path(got["path"]) == out.resolve()
    assert digests(out) == adapter["files"] == digests(Path(adapter["path"]))
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")] == []
    # The folder as downloaded carries its signature: model-signing's own CLI verifies it, and a
    # changed file fails it.
    checked = model_signing_verifies(out, home, tmp_path)
    assert checked.returncode == 0 and "Verification succeeded" in checked.stdout, checked.stderr
    (out / "README.md").write_text("changed after download")
    assert model_signing_verifies(out, home, tmp_path).returncode != 0

    actions = [action for action, _ in log_entries(home, policy_dir, adapter_id)]
    assert actions == [
        "adapter.registered", "adapter.signed", "adapter.download_refused", "adapter.released",
        "adapter.release_refused", "adapter.downloaded",
    ]  # fmt: skip
    released_payload = dict(log_entries(home, policy_dir, adapter_id))["adapter.released"]
    assert released_payload["approver"] == "dave" and released_payload["note"] == "evaluated, ship it"
    decision = dict(log_entries(home, policy_dir, released_payload["decision_id"]))["policy.decided"]
    assert decision["entrypoint"] == "ftgate.release" and decision["allow"] is True
    assert decision["input"]["lineage"]["submitter"] == "alice"
    assert decision["bundle_sha256"] == released_payload["bundle_sha256"]

    lineage = cli(
        "audit", "export", "--adapter", adapter_id, "-o", str(tmp_path / "l.json"), token=home.carol
    )
    assert lineage["status"] == "exported"
    exported = json.loads((tmp_path / "l.json").read_text())
    assert (
        exported["release"]["by"] == "dave" and exported["release"]["decision_id"] == released["decision_id"]
    )
    cli(
        "audit",
        "export",
        "--adapter",
        adapter_id,
        "--format",
        "html",
        "-o",
        str(tmp_path / "l.html"),
        token=home.carol,
    )
    assert 'id="release">Released by dave' in (tmp_path / "l.html").read_text()

    # Revoking the data afterwards quarantines the released adapter, and it can no longer leave.
    revoked = cli("datasets", "revoke", ds_id, "--note", "consent withdrawn", token=home.bob)
    assert revoked["quarantined"] == [adapter_id]
    assert cli("adapters", "show", adapter_id, token=home.alice)["status"] == "quarantined"
    blocked = cli(
        "adapters", "download", adapter_id, "-o", str(tmp_path / "late"), token=home.alice, ok=False
    )
    assert codes(blocked) == {"ADAPTER_QUARANTINED", "APPROVAL_REVOKED"}
    assert not (tmp_path / "late").exists()
    quarantine = dict(log_entries(home, policy_dir, adapter_id))["adapter.quarantined"]
    assert quarantine["previous_status"] == "released"

    def adapter_state(at: str) -> dict[str, str]:
        return {a["id"]: a["status"] for a in cli("audit", "state", "--at", at, token=home.carol)["adapters"]}

    assert adapter_state(after_release) == {adapter_id: "released"}
    assert adapter_state(_now()) == {adapter_id: "quarantined"}
    impact = cli("lineage", "impact", "--dataset", ds_id, token=home.carol)["data"]
    assert [(a["id"], a["status"]) for a in impact] == [(adapter_id, "quarantined")]
    assert cli("audit", "verify", token=home.carol)["status"] == "verified"


def test_a_quarantined_adapter_cannot_be_released(home: Home, policy_dir: Path) -> None:
    cli = home.cli
    run = train(home)
    adapter_id = run["adapter_id"]
    cli("datasets", "revoke", run["dataset_id"], "--note", "consent withdrawn", token=home.bob)
    refused = cli("adapters", "release", adapter_id, "--note", "ship it", token=home.dave, ok=False)
    assert refused["error"]["code"] == "policy_denied"
    assert codes(refused) == {"ADAPTER_QUARANTINED", "APPROVAL_REVOKED"}
    assert "quarantined" in refused["error"]["message"]
    assert cli("adapters", "show", adapter_id, token=home.carol)["status"] == "quarantined"
    # The refusal and its decision are kept; nothing else changed.
    refusal = dict(log_entries(home, policy_dir, adapter_id))["adapter.release_refused"]
    assert refusal["decision_id"] == refused["error"]["details"]["decision_id"]
    assert "adapter.released" not in dict(log_entries(home, policy_dir, adapter_id))
    assert cli("audit", "verify", token=home.carol)["status"] == "verified"


def test_a_tampered_adapter_is_neither_released_nor_downloaded(home: Home, tmp_path: Path) -> None:
    cli = home.cli
    adapter_id = train(home)["adapter_id"]
    path = Path(cli("adapters", "show", adapter_id, token=home.carol)["path"])
    cli("adapters", "release", adapter_id, "--note", "ship it", token=home.bob)

    (path / "adapter_model.safetensors").write_bytes(b"poisoned")
    out = tmp_path / "out"
    failed = cli("adapters", "download", adapter_id, "-o", str(out), token=home.alice, ok=False)
    assert codes(failed) == {"HASH_MISMATCH", "SIGNATURE_INVALID"}
    assert "adapter_model.safetensors changed" in failed["error"]["message"]
    assert not out.exists()

    # An added file is caught as well, by the digests and by the signature.
    other = train(home)["adapter_id"]
    other_path = Path(cli("adapters", "show", other, token=home.carol)["path"])
    (other_path / "backdoor.py").write_text("import os")
    refused = cli("adapters", "release", other, "--note", "ship it", token=home.bob, ok=False)
    assert codes(refused) == {"HASH_MISMATCH", "SIGNATURE_INVALID"}
    assert "backdoor.py was added" in refused["error"]["message"]
    assert cli("adapters", "show", other, token=home.carol)["status"] == "registered"
    assert cli("audit", "verify", token=home.carol)["status"] == "verified"


def test_the_http_api_releases_and_serves_the_same_files(home: Home, policy_dir: Path) -> None:
    run = train(home)
    adapter_id = run["adapter_id"]
    rt = Runtime(home.settings())
    client = TestClient(create_app(runtime=rt))

    def as_(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    r = client.get(f"/v1/adapters/{adapter_id}/download", headers=as_(home.alice))
    assert r.status_code == 403 and r.json()["code"] == "policy_denied"
    assert [x["code"] for x in r.json()["details"]["reasons"]] == ["NOT_RELEASED"]
    r = client.post(f"/v1/adapters/{adapter_id}/release", json={"note": "mine"}, headers=as_(home.alice))
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    assert (
        client.post(f"/v1/adapters/{adapter_id}/release", json={}, headers=as_(home.bob)).status_code == 422
    )
    r = client.post(f"/v1/adapters/{adapter_id}/release", json={"note": "ship it"}, headers=as_(home.bob))
    assert r.status_code == 200 and r.json()["status"] == "released"

    files = client.get(f"/v1/adapters/{adapter_id}", headers=as_(home.alice)).json()["files"]
    r = client.get(f"/v1/adapters/{adapter_id}/download", headers=as_(home.alice))
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    assert r.headers["x-ftgate-decision-id"].startswith("dec")
    # The keys are published without a token, and the adapter's is the one that signed it.
    published = client.get("/v1/keys").json()
    assert published["log"]["verifier_key"].startswith("ftgate.local/audit/") and published["witnesses"] == []
    assert published["adapter_signing"]["pem"].startswith("-----BEGIN PUBLIC KEY-----")
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        names = set(zf.namelist())
        assert "model.sig" in names
        assert {n: hashlib.sha256(zf.read(n)).hexdigest() for n in names - {"model.sig"}} == files
    assert client.get(f"/v1/adapters/{adapter_id}/download", headers=as_(home.carol)).status_code == 403

    r = client.post(
        f"/v1/datasets/{run['dataset_id']}/revoke", json={"note": "withdrawn"}, headers=as_(home.bob)
    )
    assert r.status_code == 200 and r.json()["quarantined"] == [adapter_id]
    r = client.get(f"/v1/adapters/{adapter_id}/download", headers=as_(home.alice))
    assert r.status_code == 403
    assert {x["code"] for x in r.json()["details"]["reasons"]} == {
        "ADAPTER_QUARANTINED",
        "APPROVAL_REVOKED",
    }
    assert client.get("/v1/audit/verify", headers=as_(home.carol)).json()["status"] == "verified"
    rt.engine.dispose()
