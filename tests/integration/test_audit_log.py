"""The transparency log through the CLI: checkpoints, offline proof bundles and a tamper suite.

Each tamper case alters the SQLite file the way someone with file access could (dropping the
append-only triggers first), and `ftgate audit verify` must fail and name the first bad entry; where
the chain alone cannot tell (truncation, rollback, a rewrite with every hash recomputed), a checkpoint
taken earlier does.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ftgate_testing import Home, approved_dataset, submit

from audit import merkle
from audit.canonical import sha256_hex
from audit.log import GENESIS_HASH, entry_body

DROP_GUARDS = "".join(
    f"DROP TRIGGER {table}_no_update; DROP TRIGGER {table}_no_delete;"
    for table in ("audit_entries", "audit_tree_nodes")
)


def _db(home: Home) -> sqlite3.Connection:
    db = sqlite3.connect(home.path / "ftgate.db")
    db.executescript(DROP_GUARDS)
    return db


def _grow(home: Home, name: str) -> None:
    """Any governed action appends to the log; adding a user is the cheapest."""
    home.cli("users", "add", name, "--role", "auditor", "--team", "audit", token=home.admin)


def _checkpoint(home: Home, path: Path) -> dict[str, Any]:
    return home.cli("audit", "checkpoint", "-o", str(path), token=home.carol)


def _rewrite(db: sqlite3.Connection, mutate: Callable[[list[dict[str, Any]]], None]) -> None:
    """The strongest attacker: change rows, then recompute every hash and the whole stored tree."""
    cols = ["seq", "time", "actor", "action", "subject", "payload", "prev_hash", "format", "entry_hash"]
    rows = [
        dict(zip(cols, r, strict=True))
        for r in db.execute(f"SELECT {','.join(cols)} FROM audit_entries ORDER BY seq")
    ]
    mutate(rows)
    prev, tree = GENESIS_HASH, merkle.MemoryTree()
    for seq, row in enumerate(rows, start=1):
        row.update(seq=seq, prev_hash=prev)
        fields = {k: row[k] for k in cols if k not in ("payload", "entry_hash")}
        body = entry_body(**fields, payload=json.loads(row["payload"]))
        row["entry_hash"] = prev = sha256_hex(body)
        tree.append(merkle.leaf_hash(body))
    db.execute("DELETE FROM audit_entries")
    db.execute("DELETE FROM audit_tree_nodes")
    db.executemany(
        f"INSERT INTO audit_entries ({','.join(cols)}) VALUES ({','.join('?' * len(cols))})",
        [tuple(r[c] for c in cols) for r in rows],
    )
    db.executemany(
        "INSERT INTO audit_tree_nodes (level, idx, hash) VALUES (?, ?, ?)",
        [(level, idx, h.hex()) for level, row in enumerate(tree.levels) for idx, h in enumerate(row)],
    )
    db.commit()


def test_checkpoint_is_a_c2sp_note_and_a_later_log_extends_it(home: Home, tmp_path: Path) -> None:
    cp = tmp_path / "cp.txt"
    made = _checkpoint(home, cp)
    lines = cp.read_text().split("\n")
    assert lines[0] == made["origin"] and int(lines[1]) == made["tree_size"] and lines[3] == ""
    assert lines[4].startswith("\u2014 " + made["origin"] + " ")
    _grow(home, "erin")
    _grow(home, "frank")
    ok = home.cli("audit", "verify", "--checkpoint", str(cp), token=home.carol)
    assert ok["extends_checkpoint"] == made["tree_size"] and ok["entries"] == made["tree_size"] + 2
    assert ok["consistency_proof"]


def test_checkpoint_from_another_key_or_garbage_is_refused(home: Home, tmp_path: Path) -> None:
    cp = tmp_path / "cp.txt"
    _checkpoint(home, cp)
    forged = cp.read_text().replace(
        "\n" + str(home.cli("audit", "verify", token=home.carol)["entries"]) + "\n", "\n1\n"
    )
    (tmp_path / "forged.txt").write_text(forged)
    refused = home.cli(
        "audit", "verify", "--checkpoint", str(tmp_path / "forged.txt"), token=home.carol, ok=False
    )
    assert refused["error"]["code"] == "audit_verification_failed"
    missing = home.cli(
        "audit", "verify", "--checkpoint", str(tmp_path / "nope.txt"), token=home.carol, ok=False
    )
    assert "cannot read checkpoint" in missing["error"]["message"]


def _swap_payloads(rows: list[dict[str, Any]]) -> None:
    rows[3]["payload"], rows[4]["payload"] = rows[4]["payload"], rows[3]["payload"]


TAMPERS: list[tuple[str, Callable[[sqlite3.Connection], Any], bool, str]] = [
    # (case, alteration, needs the checkpoint to be caught, expected start of the error message)
    (
        "change a payload",
        lambda db: db.execute("UPDATE audit_entries SET payload = '{}' WHERE seq = 4"),
        False,
        "entry 4:",
    ),
    ("delete an entry", lambda db: db.execute("DELETE FROM audit_entries WHERE seq = 3"), False, "entry 3:"),
    (
        "reorder two entries",
        lambda db: db.executescript(
            "UPDATE audit_entries SET seq = -1 WHERE seq = 2; UPDATE audit_entries SET seq = 2 WHERE seq = 3;"
            "UPDATE audit_entries SET seq = 3 WHERE seq = -1;"
        ),
        False,
        "entry 2:",
    ),
    (
        "alter a stored tree node",
        lambda db: db.execute(
            "UPDATE audit_tree_nodes SET hash = ? WHERE level = 1 AND idx = 2", ("00" * 32,)
        ),
        False,
        "entry 5:",
    ),
    (
        "truncate the tail",
        lambda db: db.executescript(
            "DELETE FROM audit_entries WHERE seq > 6;"
            "DELETE FROM audit_tree_nodes WHERE (idx + 1) * (1 << level) > 6;"
        ),
        True,
        "entry 7: missing",
    ),
    (
        "insert a forged entry, hashes recomputed",
        lambda db: _rewrite(db, lambda rows: rows.insert(3, {**rows[3], "actor": "mallory"})),
        True,
        "entries 1..",
    ),
    ("reorder with hashes recomputed", lambda db: _rewrite(db, _swap_payloads), True, "entries 1.."),
]


@pytest.mark.parametrize("case, alter, needs_checkpoint, names", TAMPERS, ids=[t[0] for t in TAMPERS])
def test_tampering_is_caught_and_the_first_bad_entry_named(
    home: Home,
    tmp_path: Path,
    case: str,
    alter: Callable[[sqlite3.Connection], Any],
    needs_checkpoint: bool,
    names: str,
) -> None:
    cp = tmp_path / "cp.txt"
    _checkpoint(home, cp)
    _grow(home, "erin")
    db = _db(home)
    alter(db)
    db.commit()
    plain = home.cli("audit", "verify", token=home.carol, ok=needs_checkpoint)
    if not needs_checkpoint:
        assert plain["error"]["code"] == "audit_verification_failed"
        assert plain["error"]["message"].startswith(names), plain
    failed = home.cli("audit", "verify", "--checkpoint", str(cp), token=home.carol, ok=False)
    assert failed["error"]["code"] == "audit_verification_failed"
    assert failed["error"]["message"].startswith(names), failed


def test_restoring_an_older_copy_is_caught_by_a_later_checkpoint(home: Home, tmp_path: Path) -> None:
    live = sqlite3.connect(home.path / "ftgate.db")
    old = sqlite3.connect(tmp_path / "old.db")
    live.backup(old)
    size_then = home.cli("audit", "verify", token=home.carol)["entries"]
    _grow(home, "erin")
    cp = tmp_path / "cp.txt"
    _checkpoint(home, cp)
    old.backup(live)  # the whole file, triggers and all, as it was
    live.close()
    assert home.cli("audit", "verify", token=home.carol)["entries"] == size_then  # the chain alone is fine
    failed = home.cli("audit", "verify", "--checkpoint", str(cp), token=home.carol, ok=False)
    assert failed["error"]["message"].startswith(f"entry {size_then + 1}: missing"), failed


REHASH = Path(__file__).resolve().parents[1] / "vendor" / "canonicalize" / "rehash.mjs"


def _node() -> str:
    """node, which runs npm's `canonicalize` (an RFC 8785 implementation that is not ftgate's)."""
    node = shutil.which("node")
    if node is None:
        if os.environ.get("FTGATE_REQUIRE_NODE"):
            pytest.fail("node is required (FTGATE_REQUIRE_NODE) to re-hash the log with npm canonicalize")
        pytest.skip("node is not installed: the independent RFC 8785 re-hash of the bundle needs it")
    return node


def _train(home: Home) -> str:
    job = submit(home, approved_dataset(home)["id"])
    home.cli("worker", "--once", token=home.admin)
    return home.cli("jobs", "show", job["id"], token=home.alice)["adapter_id"]


BUNDLE_TAMPERS: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    (
        "entry payload changed",
        lambda b: b["entries"][2]["payload"].update(note="x"),
        "entry {s2}: hash does not match",
    ),
    (
        "proof hash changed",
        lambda b: b["entries"][1]["inclusion_proof"].__setitem__(0, "A" * 43 + "="),
        "entry {s1}: inclusion proof",
    ),
    ("proof hash dropped", lambda b: b["entries"][0]["inclusion_proof"].pop(), "entry {s0}: inclusion proof"),
    (
        "entry moved to another position",
        lambda b: b["entries"][0].update(seq=b["entries"][0]["seq"] + 1),
        "entry",
    ),
    (
        "checkpoint size changed",
        lambda b: b.update(
            checkpoint=b["checkpoint"].replace(f"\n{b['tree_size']}\n", f"\n{b['tree_size'] + 1}\n", 1)
        ),
        "invalid signature",
    ),
    ("no entries", lambda b: b.update(entries=[]), "bundle proves no entries"),
    (
        "leaf bytes not the entry's",
        lambda b: b["entries"][1].update(leaf=b["entries"][2]["leaf"]),
        "entry {s1}: its leaf bytes are not the canonical bytes of its fields",
    ),
    (
        "another leaf format claimed",
        lambda b: b["entries"][1].update(format=1),
        "entry {s1}: hash does not match",
    ),
]


def test_proof_bundle_verifies_offline_and_refuses_any_change(home: Home, tmp_path: Path) -> None:
    adapter = _train(home)
    out = tmp_path / "bundle.json"
    made = home.cli("audit", "proof", "--adapter", adapter, "-o", str(out), token=home.carol)
    bundle = json.loads(out.read_text())
    actions = {e["action"] for e in bundle["entries"]}
    assert {"dataset.uploaded", "dataset.approved", "job.submitted", "adapter.registered"} <= actions
    assert bundle["format"] == "ftgate.proof-bundle/v2" and {e["format"] for e in bundle["entries"]} == {2}
    # A number written as a float by Python ("epochs": 1.0) is in the bytes as RFC 8785 writes it.
    submitted = next(e for e in bundle["entries"] if e["action"] == "job.submitted")
    assert b'"epochs":1,' in base64.b64decode(submitted["leaf"])
    # Offline: the database is gone and verify-bundle needs no token or home.
    published = home.cli("keys", "export", "--which", "log")["key"]  # as the operator publishes it
    assert published == made["verifier_key"]
    (home.path / "ftgate.db").unlink()
    ok = home.cli("audit", "verify-bundle", str(out), "--key", published)
    assert ok["status"] == "verified" and ok["entries"] == made["entries"] == len(bundle["entries"])

    seqs = {f"s{i}": e["seq"] for i, e in enumerate(bundle["entries"])}
    for case, alter, message in BUNDLE_TAMPERS:
        altered = json.loads(out.read_text())
        alter(altered)
        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps(altered))
        failed = home.cli("audit", "verify-bundle", str(bad), ok=False)
        assert failed["error"]["code"] == "audit_verification_failed", case
        assert message.format(**seqs) in failed["error"]["message"], (case, failed)

    other_key = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"
    wrong = home.cli("audit", "verify-bundle", str(out), "--key", other_key, ok=False)
    assert "different key" in wrong["error"]["message"]
    # Without a key to pin, a consistent bundle is untrusted (anyone can sign one), unless the caller
    # accepts its own key explicitly.
    untrusted = home.cli("audit", "verify-bundle", str(out), ok=False)
    assert untrusted["status"] == "untrusted" and untrusted["key"] == "embedded"
    assert "--" not in untrusted["reason"]  # a service's message names no CLI flag
    embedded = home.cli("audit", "verify-bundle", str(out), "--trust-embedded-key")
    assert embedded["status"] == "verified" and embedded["key"] == "embedded"
    assert ok["key"] == "pinned"
    (tmp_path / "junk.json").write_text("{")
    assert (
        "not JSON"
        in home.cli("audit", "verify-bundle", str(tmp_path / "junk.json"), ok=False)["error"]["message"]
    )
    # An auditor's own JCS implementation (npm canonicalize, run by node) re-derives every entry's bytes
    # and hash from its fields alone.
    rehashed = subprocess.run(
        [_node(), str(REHASH), str(out)], capture_output=True, text=True, timeout=60, check=True
    )
    checks = [json.loads(line) for line in rehashed.stdout.splitlines()]
    assert len(checks) == len(bundle["entries"])
    assert all(c["leaf_matches"] and c["hash_matches"] for c in checks), checks
