"""Witnessing end to end: real `ftgate witness serve` processes on loopback ports, a real home.

The attack the witnesses are for: an operator with the database file and the log key rewrites history
(drops the append-only triggers, deletes an entry, renames an actor, recomputes every hash and the
stored tree, reinstalls the triggers) and goes on. The chain and the tree verify, and a checkpoint the
operator signs now verifies too; only the witnesses remember the old root. `audit verify` must fail
naming them, and they must refuse to cosign the rewritten log.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from ftgate_testing import Cli, Home, serve
from sqlalchemy import delete

from audit import merkle
from audit.canonical import sha256_hex
from audit.checkpoint import Verifier, open_checkpoint
from audit.log import GENESIS_HASH, append_only_statements, entry_body, payload_text
from audit.witness import CosignatureVerifier, verify_cosignatures
from gateway.models import WitnessCosignature
from gateway.runtime import Runtime
from gateway.settings import REPO_ROOT


@dataclass
class WitnessProcess:
    name: str
    vkey: str
    url: str
    directory: Path
    process: subprocess.Popen[bytes] | None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_witness(cli: Cli, directory: Path, name: str, log_vkey: str) -> WitnessProcess:
    vkey = cli("witness", "init", "--dir", str(directory), "--name", name)["verifier_key"]
    cli("witness", "add-log", "--dir", str(directory), "--vkey", log_vkey)
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli.main", "witness", "serve", "--dir", str(directory)]
        + ["--listen", f"127.0.0.1:{port}"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)  # any answer (404) means it is serving
            return WitnessProcess(name, vkey, url, directory, process)
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError(f"witness {name} did not start")


@pytest.fixture
def witnesses(home: Home, tmp_path: Path) -> Iterator[list[WitnessProcess]]:
    """Two witnesses of the home's log, and a third that is configured but never answers."""
    log_vkey = home.cli("keys", "export", "--which", "log")["key"]
    started = [_start_witness(home.cli, tmp_path / f"w{i}", f"w{i}.test/witness", log_vkey) for i in (1, 2)]
    down = tmp_path / "w3"
    vkey = home.cli("witness", "init", "--dir", str(down), "--name", "w3.test/witness")["verifier_key"]
    nobody = WitnessProcess("w3.test/witness", vkey, f"http://127.0.0.1:{_free_port()}", down, None)
    yield [*started, nobody]
    for w in started:
        assert w.process is not None
        os.killpg(w.process.pid, signal.SIGTERM)
        w.process.wait(timeout=10)


def _configure(home: Home, witnesses: list[WitnessProcess], quorum: int | None = None) -> None:
    home.cli.env["FTGATE_WITNESSES"] = json.dumps([{"vkey": w.vkey, "url": w.url} for w in witnesses])
    home.cli.env.pop("FTGATE_WITNESS_QUORUM", None)
    if quorum is not None:
        home.cli.env["FTGATE_WITNESS_QUORUM"] = str(quorum)
    home.cli.env["FTGATE_WITNESS_TIMEOUT_SECONDS"] = "2"


def _grow(home: Home, name: str) -> None:
    home.cli("users", "add", name, "--role", "auditor", "--team", "audit", token=home.admin)


def _statuses(result: dict[str, Any]) -> dict[str, str]:
    return {r["witness"]: r["status"] for r in result["data"]}


def test_an_honest_log_verifies_with_its_cosignatures(home: Home, witnesses: list[WitnessProcess]) -> None:
    w1, w2, _ = witnesses
    _configure(home, [w1, w2])
    submitted = home.cli("audit", "witness", token=home.carol)
    assert _statuses(submitted) == {w1.name: "cosigned", w2.name: "cosigned"}
    _grow(home, "erin")
    # The witnesses hold the old size: the next submission proves the new tree extends it.
    again = home.cli("audit", "witness", token=home.carol)
    assert _statuses(again) == {w1.name: "cosigned", w2.name: "cosigned"}
    assert {log["size"] for w in (w1, w2) for log in _witness_logs(home, w)["data"]} == {
        again["data"][0]["tree_size"]
    }
    # What the gateway kept is lost (a restored backup, a second gateway of the same log): each witness
    # answers 409 with the size it holds, and the submission goes on from there.
    with Runtime(home.settings()).session() as session:
        session.execute(delete(WitnessCosignature))
    _grow(home, "frank")
    resumed = home.cli("audit", "witness", token=home.carol)
    assert _statuses(resumed) == {w1.name: "cosigned", w2.name: "cosigned"}
    verified = home.cli("audit", "verify", token=home.carol)
    assert verified["witnessed"]["quorum"] == 2 and verified["witnessed"]["cosigned"] == 2
    assert {w["status"] for w in verified["witnessed"]["witnesses"]} == {"extended"}
    keys = home.cli("keys", "export")
    assert keys["witnesses"] == [w1.vkey, w2.vkey]
    assert home.cli("keys", "export", "--which", "witnesses") == {"key": f"{w1.vkey}\n{w2.vkey}"}


def _witness_logs(home: Home, witness: WitnessProcess) -> Any:
    return home.cli("witness", "logs", "--dir", str(witness.directory))


def test_verify_submits_first_when_nothing_is_cosigned_yet(
    home: Home, witnesses: list[WitnessProcess]
) -> None:
    w1, w2, _ = witnesses
    _configure(home, [w1, w2])
    verified = home.cli("audit", "verify", token=home.carol)
    assert verified["witnessed"]["cosigned"] == 2


def test_one_witness_down_still_meets_a_quorum_below_n(home: Home, witnesses: list[WitnessProcess]) -> None:
    _configure(home, witnesses, quorum=2)
    submitted = home.cli("audit", "witness", token=home.carol)
    assert _statuses(submitted) == {
        witnesses[0].name: "cosigned",
        witnesses[1].name: "cosigned",
        witnesses[2].name: "unreachable",
    }
    verified = home.cli("audit", "verify", token=home.carol)
    assert verified["witnessed"]["cosigned"] == 2


def test_below_the_quorum_verify_fails_closed(home: Home, witnesses: list[WitnessProcess]) -> None:
    w1, _, down = witnesses
    _configure(home, [w1, down])  # the quorum is both
    refused = home.cli("audit", "verify", token=home.carol, ok=False)
    message = refused["error"]["message"]
    assert "only 1 of the 2 witness cosignatures" in message and down.name in message, message
    home.cli("audit", "witness", token=home.carol, ok=False)  # exits 1 below the quorum


def test_a_bad_witness_configuration_is_refused_at_start(home: Home, witnesses: list[WitnessProcess]) -> None:
    w1, w2, _ = witnesses
    _configure(home, [w1, w2], quorum=3)
    refused = home.cli("audit", "verify", token=home.carol, ok=False)
    assert "FTGATE_WITNESS_QUORUM is 3" in refused["error"]["message"]
    home.cli.env["FTGATE_WITNESSES"] = json.dumps([{"vkey": w1.vkey[:-4] + "AAAA", "url": w1.url}])
    home.cli.env.pop("FTGATE_WITNESS_QUORUM")
    assert "FTGATE_WITNESSES" in home.cli("audit", "verify", token=home.carol, ok=False)["error"]["message"]


# --- the attack ----------------------------------------------------------------------------------------

COLUMNS = ["seq", "time", "actor", "action", "subject", "payload", "prev_hash", "format", "entry_hash"]


def _rewrite_history(home: Home, mutate: Callable[[list[dict[str, Any]]], None]) -> None:
    """What an operator with the database file can do: drop the guards, change rows, recompute every
    hash and the whole stored tree, put the guards back."""
    db = sqlite3.connect(home.path / "ftgate.db")
    db.executescript(
        "".join(
            f"DROP TRIGGER {t}_no_update; DROP TRIGGER {t}_no_delete;"
            for t in ("audit_entries", "audit_tree_nodes")
        )
    )
    rows = [
        dict(zip(COLUMNS, r, strict=True))
        for r in db.execute(f"SELECT {','.join(COLUMNS)} FROM audit_entries ORDER BY seq")
    ]
    mutate(rows)
    prev, tree = GENESIS_HASH, merkle.MemoryTree()
    for seq, row in enumerate(rows, start=1):
        row.update(seq=seq, prev_hash=prev)
        fields = {k: row[k] for k in COLUMNS if k not in ("payload", "entry_hash")}
        payload = json.loads(row["payload"])
        row["payload"] = payload_text(payload, row["format"])  # stored canonical, as the log writes it
        body = entry_body(**fields, payload=payload)
        row["entry_hash"] = prev = sha256_hex(body)
        tree.append(merkle.leaf_hash(body))
    db.execute("DELETE FROM audit_entries")
    db.execute("DELETE FROM audit_tree_nodes")
    db.executemany(
        f"INSERT INTO audit_entries ({','.join(COLUMNS)}) VALUES ({','.join('?' * len(COLUMNS))})",
        [tuple(r[c] for c in COLUMNS) for r in rows],
    )
    db.executemany(
        "INSERT INTO audit_tree_nodes (level, idx, hash) VALUES (?, ?, ?)",
        [(level, idx, h.hex()) for level, row in enumerate(tree.levels) for idx, h in enumerate(row)],
    )
    for statement in append_only_statements("sqlite"):
        db.execute(statement)
    db.commit()
    db.close()


def _erase_an_approver(rows: list[dict[str, Any]]) -> None:
    """Delete the entry that made dave an approver, and rename the other approver, bob, to robert."""
    rows[:] = [r for r in rows if not (r["action"] == "user.added" and '"name":"dave"' in r["payload"])]
    for row in rows:
        if row["action"] == "user.added" and '"name":"bob"' in row["payload"]:
            row["payload"] = json.dumps({**json.loads(row["payload"]), "name": "robert"})
    assert any("robert" in r["payload"] for r in rows)


@pytest.mark.skipif(
    os.environ.get("FTGATE_TEST_STORE", "sqlite") != "sqlite", reason="rewrites the SQLite file of the home"
)
@pytest.mark.parametrize(
    "erase_cosignatures", [False, True], ids=["cosignatures kept", "cosignatures deleted"]
)
def test_rewritten_history_is_caught_by_the_witnesses(
    home: Home, witnesses: list[WitnessProcess], erase_cosignatures: bool
) -> None:
    w1, w2, _ = witnesses
    _configure(home, [w1, w2])
    _grow(home, "erin")
    cosigned = home.cli("audit", "witness", token=home.carol)
    assert _statuses(cosigned) == {w1.name: "cosigned", w2.name: "cosigned"}
    size = cosigned["data"][0]["tree_size"]

    _rewrite_history(home, _erase_an_approver)
    if erase_cosignatures:  # the operator also removes what the gateway kept of the witnesses' answers
        with sqlite3.connect(home.path / "ftgate.db") as db:
            db.execute("DELETE FROM witness_cosignatures")
    _grow(home, "frank")
    _grow(home, "grace")  # the rewritten log goes on growing past the size the witnesses hold

    # Without witnesses the rewrite is invisible.
    plain = Cli(env={k: v for k, v in home.cli.env.items() if not k.startswith("FTGATE_WITNESS")})
    assert plain("audit", "verify", token=home.carol)["status"] == "verified"

    failed = home.cli("audit", "verify", token=home.carol, ok=False)
    message = failed["error"]["message"]
    assert failed["error"]["code"] == "audit_verification_failed"
    for w in (w1, w2):
        assert w.name in message, message
    if erase_cosignatures:
        assert "HTTP 422" in message, message  # verify submitted; each witness refused the rewrite
    else:
        assert f"cosigned size {size} root" in message and "the log no longer extends it" in message, message

    # A fresh submission of the rewritten log: each witness refuses it (its consistency proof fails).
    refused = home.cli("audit", "witness", token=home.carol, ok=False)
    assert _statuses(refused) == {w1.name: "refused", w2.name: "refused"}
    assert all("HTTP 422" in r["detail"] for r in refused["data"]), refused
    # And the witnesses still hold the size they cosigned before the rewrite.
    assert {log["size"] for w in (w1, w2) for log in _witness_logs(home, w)["data"]} == {size}


# --- the serving gateway ---------------------------------------------------------------------------------


def test_the_server_submits_after_writes_and_serves_the_cosigned_checkpoint(
    home: Home, witnesses: list[WitnessProcess], tmp_path: Path
) -> None:
    w1, w2, down = witnesses
    _configure(home, witnesses, quorum=2)  # one of the three never answers: requests must not care
    env = {
        **os.environ,
        **home.cli.env,
        "FTGATE_UVICORN_LOG": "warning",
        "FTGATE_WITNESS_INTERVAL_SECONDS": "3600",
    }
    server, base = serve(env, log=tmp_path / "server.log")
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            admin = {"Authorization": f"Bearer {home.admin}"}
            made = client.post(
                "/v1/users", json={"name": "erin", "role": "auditor", "team": "audit"}, headers=admin
            )
            assert made.status_code == 201, made.text
            size = home.cli("audit", "log", "--limit", "100", token=home.carol)["data"][-1]["seq"]
            deadline = time.monotonic() + 60
            while {log["size"] for w in (w1, w2) for log in _witness_logs(home, w)["data"]} != {size}:
                assert time.monotonic() < deadline, "the server did not submit the new checkpoint"
                time.sleep(0.3)

            carol = {"Authorization": f"Bearer {home.carol}"}
            keys = client.get("/v1/keys").json()
            assert keys["witnesses"] == [w.vkey for w in witnesses]
            r = client.get("/v1/audit/checkpoint/witnessed", headers=carol)
            assert r.status_code == 200, r.text
            witnessed = r.json()
            assert witnessed["tree_size"] == size and witnessed["witnesses"] == [w1.name, w2.name]
            # An auditor checks the note with the published keys alone.
            note = witnessed["checkpoint"]
            checkpoint = open_checkpoint(note, [Verifier.parse(keys["log"]["verifier_key"])])
            assert checkpoint.size == size
            cosigners = [CosignatureVerifier.parse(vkey) for vkey in keys["witnesses"]]
            assert set(verify_cosignatures(note, cosigners)) == {w1.name, w2.name}
            assert down.name not in note
            verified = client.get("/v1/audit/verify", headers=carol).json()
            assert verified["witnessed"]["cosigned"] == 2
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
