"""Keys away from the database (issue 14, item 2): a home whose log and adapter-signing keys live in a
separate signer process (`ftgate signer serve`), end to end: `init` makes no key file, every checkpoint,
adapter manifest, model.sig and provenance envelope is signed by the process and verifies with the keys
it publishes; the process signs nothing else, wants its token, and a signer that is down fails closed."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from ftgate_testing import Cli, Home, approved_dataset, people, submit
from lineage_validators import verify_intoto_envelope

from audit.checkpoint import Checkpoint, Verifier, open_checkpoint


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def signer(tmp_path: Path) -> Iterator[dict[str, Any]]:
    directory, token_file = tmp_path / "signer", tmp_path / "signer.token"
    token_file.write_text(secrets.token_urlsafe(32) + "\n")
    token_file.chmod(0o600)
    made = Cli(env={})("signer", "init", "--dir", str(directory))
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli.main", "signer", "serve", "--dir", str(directory),
         "--token-file", str(token_file), "--port", str(port)],
        stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    yield {"url": url, "dir": directory, "token": token_file.read_text().strip(), "token_file": token_file,
           "made": made, "process": process}  # fmt: skip
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


@pytest.fixture
def signed_home(tmp_path: Path, policy_dir: Path, tiny_model: Any, signer: dict[str, Any]) -> Home:
    env = {
        "FTGATE_HOME": str(tmp_path / "home"),
        "FTGATE_POLICY_DIR": str(policy_dir),
        "FTGATE_TOKEN": "",
        "FTGATE_SIGNER_URL": signer["url"],
        "FTGATE_SIGNER_TOKEN_FILE": str(signer["token_file"]),
    }
    cli = Cli(env=env)
    admin = cli("init")["token"]
    cli("models", "add", "tiny-llama", str(tiny_model.path), token=admin)
    return Home(cli=cli, path=tmp_path / "home", admin=admin, **people(cli, admin))


def journal(signer: dict[str, Any]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (signer["dir"] / "signatures.jsonl").read_text().splitlines()]


def test_a_home_whose_keys_live_in_a_signer_process(
    signed_home: Home, signer: dict[str, Any], tmp_path: Path
) -> None:
    home = signed_home
    assert not (home.path / "log-signing-key.pem").exists()
    assert not (home.path / "adapter-signing-key.pem").exists()
    keys = home.cli("keys", "export")
    signer_log_pem = serialization.load_pem_public_key(signer["made"]["log"].encode())
    raw = signer_log_pem.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert Verifier.parse(keys["log"]["verifier_key"]).public_key == raw
    assert keys["adapter_signing"]["pem"] == signer["made"]["adapter"]

    # A checkpoint signed by the process verifies with the published key alone.
    home.cli("audit", "checkpoint", "-o", str(tmp_path / "cp.txt"), token=home.carol)
    checkpoint = open_checkpoint(
        (tmp_path / "cp.txt").read_text(), [Verifier.parse(keys["log"]["verifier_key"])]
    )
    assert isinstance(checkpoint, Checkpoint) and checkpoint.size > 0

    # Train: the manifest (log key) and model.sig (adapter key) are signed by the process.
    ds = approved_dataset(home)
    submit(home, ds["id"])
    [job] = home.cli("worker", "--once", token=home.admin)["data"]
    assert job["status"] == "succeeded", job
    assert home.cli("adapters", "verify", job["adapter_id"], token=home.carol)["status"] == "verified"
    out = tmp_path / "lineage.intoto"
    home.cli(
        "audit",
        "export",
        "--adapter",
        job["adapter_id"],
        "--format",
        "intoto",
        "-o",
        str(out),
        token=home.carol,
    )
    adapter_pem = serialization.load_pem_public_key(signer["made"]["adapter"].encode())
    statement = verify_intoto_envelope(out.read_bytes(), adapter_pem)  # type: ignore[arg-type]
    assert statement["predicateType"] == "https://slsa.dev/provenance/v1"
    assert home.cli("audit", "verify", token=home.carol)["status"] == "verified"
    kinds = {entry["kind"] for entry in journal(signer)}
    assert kinds == {"checkpoint", "adapter-manifest", "dsse-intoto", "signed-head"}


def test_the_signer_signs_only_what_ftgate_signs_and_only_for_its_token(signer: dict[str, Any]) -> None:
    url, auth = signer["url"], {"Authorization": f"Bearer {signer['token']}"}
    assert httpx.post(f"{url}/v1/sign/log", content=b"pay mallory 100").status_code == 401
    wrong = {"Authorization": "Bearer " + "x" * 43}
    assert httpx.post(f"{url}/v1/sign/log", content=b"{}", headers=wrong).status_code == 401
    for key, message in [
        ("log", b"pay mallory 100"),
        ("log", b"another.origin/log\n1\n" + b"A" * 43 + b"=\n"),  # a checkpoint of some other log
        ("adapter", b'{"files": {}}'),
        ("adapter", b"DSSEv1 10 text/plain 2 hi"),
        ("root", b"{}"),
    ]:
        r = httpx.post(f"{url}/v1/sign/{key}", content=message, headers=auth)
        assert r.status_code in (403, 404), (key, message, r.text)
    r = httpx.post(f"{url}/v1/sign/log", content=b"x" * (5 << 20), headers=auth)
    assert r.status_code == 413
    assert not (signer["dir"] / "signatures.jsonl").exists()  # nothing was signed


def test_a_signer_that_is_down_fails_closed(
    signed_home: Home, signer: dict[str, Any], tmp_path: Path
) -> None:
    os.killpg(signer["process"].pid, signal.SIGTERM)
    signer["process"].wait(timeout=30)
    refused = signed_home.cli(
        "audit", "checkpoint", "-o", str(tmp_path / "cp.txt"), token=signed_home.carol, ok=False
    )
    assert refused["error"]["code"] == "signer_error" and "did not answer" in refused["error"]["message"]
    assert not (tmp_path / "cp.txt").exists()
