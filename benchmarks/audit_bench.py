"""The transparency log's numbers, against the figures the issue names.

    .venv/bin/python benchmarks/audit_bench.py [--appends 2000] [--max-exp 5] [--pg URL]

1. Appends/s through `audit.log.append` (the code every governed action runs): one transaction per
   append (the gateway's shape) and 100 per transaction, on a SQLite file (WAL, as gateway.db sets it)
   and on PostgreSQL (skipped with a note when the server is absent). Baselines: the issue's goal of
   2,000/s; Trillian's log signer ~60/s (2 cores, MySQL); Tessera ~1,600/s (small VM).
2. Full verify (`audit.verify.verify_log`: chain, Merkle tree and every stored node) in entries/s at
   10^3..10^max-exp entries; goal 100,000/s.
3. Inclusion and consistency proofs served from the stored tree (`audit.log.StoredTree`, one row
   lookup per subtree) at the same sizes: hashes per proof vs ceil(log2 n), time to build and verify.

Large logs are written straight into the tables with executemany (same hashes `append` computes) so
that building 10^5-10^6 entries does not dominate the run. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlmodel import Session, SQLModel

from audit import merkle
from audit.canonical import jcs, sha256_hex
from audit.log import GENESIS_HASH, LEAF_FORMAT, StoredTree, append, entry_body, install_append_only_guards
from audit.models import AuditEntry, AuditTreeNode
from audit.verify import verify_log
from gateway.db import make_engine

TABLES = [AuditEntry.__table__, AuditTreeNode.__table__]  # type: ignore[attr-defined]
PAYLOAD = {"dataset_id": "ds_0123456789", "redacted_sha256": "ab" * 32, "records": 40, "note": "looks clean"}
BASELINES = {"goal": 2000.0, "Trillian (MySQL, 2 cores)": 60.0, "Tessera (small VM)": 1600.0}


def _fresh(engine: Engine) -> None:
    SQLModel.metadata.drop_all(engine, tables=TABLES)
    SQLModel.metadata.create_all(engine, tables=TABLES)
    install_append_only_guards(engine)


def appends_per_second(engine: Engine, n: int, per_tx: int) -> float:
    _fresh(engine)
    start = time.perf_counter()
    done = 0
    while done < n:
        with Session(engine) as s:
            for _ in range(min(per_tx, n - done)):
                append(s, actor="alice", action="dataset.approved", subject=f"ds_{done}", payload=PAYLOAD)
                done += 1
            s.commit()
    return n / (time.perf_counter() - start)


def bulk_log(engine: Engine, n: int) -> None:
    """n entries and their tree nodes, as `append` would have written them."""
    _fresh(engine)
    prev, tree, rows = GENESIS_HASH, merkle.MemoryTree(), []
    payload_text = jcs(PAYLOAD).decode()
    for seq in range(1, n + 1):
        t = f"2026-01-01T00:00:00.{seq % 1000000:06d}Z"
        body = entry_body(
            seq=seq,
            time=t,
            actor="alice",
            action="dataset.approved",
            subject=f"ds_{seq}",
            payload=PAYLOAD,
            prev_hash=prev,
        )
        h = sha256_hex(body)
        rows.append(
            {
                "seq": seq,
                "time": t,
                "actor": "alice",
                "action": "dataset.approved",
                "subject": f"ds_{seq}",
                "payload": payload_text,
                "prev_hash": prev,
                "entry_hash": h,
                "format": LEAF_FORMAT,
            }
        )
        tree.append(merkle.leaf_hash(body))
        prev = h
    nodes = [
        {"level": lv, "idx": i, "hash": h.hex()}
        for lv, row in enumerate(tree.levels)
        for i, h in enumerate(row)
    ]
    with engine.begin() as c:
        for chunk in range(0, n, 50_000):
            c.execute(AuditEntry.__table__.insert(), rows[chunk : chunk + 50_000])  # type: ignore[attr-defined]
        for chunk in range(0, len(nodes), 50_000):
            c.execute(AuditTreeNode.__table__.insert(), nodes[chunk : chunk + 50_000])  # type: ignore[attr-defined]


def proofs(engine: Engine, n: int, samples: int = 50) -> dict[str, Any]:
    rng = random.Random(n)
    incl_t, cons_t, ver_t, incl_len, cons_len = [], [], [], [], []
    with Session(engine) as s:
        tree = StoredTree(s)
        t0 = time.perf_counter()
        root = merkle.root(tree, n)
        root_t = time.perf_counter() - t0
        for _ in range(samples):
            i = rng.randrange(n)
            t0 = time.perf_counter()
            p = merkle.inclusion_proof(tree, i, n)
            incl_t.append(time.perf_counter() - t0)
            leaf = tree.node(0, i)
            t0 = time.perf_counter()
            merkle.verify_inclusion(i, n, leaf, p, root)
            ver_t.append(time.perf_counter() - t0)
            incl_len.append(len(p))
            m = rng.randrange(1, n + 1)
            t0 = time.perf_counter()
            c = merkle.consistency_proof(tree, m, n)
            cons_t.append(time.perf_counter() - t0)
            cons_len.append(len(c))
            merkle.verify_consistency(m, n, merkle.root(tree, m), root, c)
    return {
        "root_ms": root_t * 1e3,
        "incl_hashes_max": max(incl_len),
        "cons_hashes_max": max(cons_len),
        "log2n": math.ceil(math.log2(n)),
        "incl_ms": statistics.median(incl_t) * 1e3,
        "cons_ms": statistics.median(cons_t) * 1e3,
        "verify_us": statistics.median(ver_t) * 1e6,
        "bytes": max(incl_len) * 32,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--appends", type=int, default=2000)
    parser.add_argument("--max-exp", type=int, default=5, help="largest log is 10^max-exp entries")
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args()
    out: dict[str, Any] = {"appends": {}, "verify": {}, "proofs": {}}

    with tempfile.TemporaryDirectory() as tmp:
        sqlite = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        engines = {"sqlite": sqlite}
        try:
            pg = make_engine(args.pg)
            with pg.connect() as c:
                c.execute(text("SELECT 1"))
            engines["postgresql"] = pg
        except Exception as exc:  # noqa: BLE001 - any failure to reach it means "skip PostgreSQL"
            out["appends"]["postgresql"] = f"skipped: {type(exc).__name__}"

        print(
            f"1. appends/s ({args.appends} appends; baselines: "
            + ", ".join(f"{k} {v:,.0f}/s" for k, v in BASELINES.items())
            + ")"
        )
        for name, engine in engines.items():
            for per_tx in (1, 100):
                rate = appends_per_second(engine, args.appends, per_tx)
                out["appends"][f"{name}/{per_tx}-per-tx"] = rate
                ratios = "  ".join(f"x{rate / v:.2f} vs {k}" for k, v in BASELINES.items())
                print(f"   {name:10s} {per_tx:3d}/tx  {rate:9,.0f}/s   {ratios}")
        if "postgresql" in engines:
            # Leave the shared test database as it was found.
            SQLModel.metadata.drop_all(engines["postgresql"], tables=TABLES)

        print("2. full verify (chain + tree + stored nodes), SQLite; goal 100,000 entries/s")
        print("3. proofs from the stored tree, SQLite (median of 50; hashes = max over the samples)")
        names = (
            "entries",
            "verify/s",
            "x goal",
            "root ms",
            "incl",
            "cons",
            "log2n",
            "incl ms",
            "cons ms",
            "verify us",
        )
        widths = (9, 10, 7, 8, 5, 5, 5, 8, 8, 9)
        print("   " + " ".join(f"{name:>{w}s}" for name, w in zip(names, widths, strict=True)))
        for exp in range(3, args.max_exp + 1):
            n = 10**exp
            bulk_log(sqlite, n)
            with Session(sqlite) as s:
                t0 = time.perf_counter()
                head = verify_log(s)
                rate = n / (time.perf_counter() - t0)
            assert head.size == n
            p = proofs(sqlite, n)
            out["verify"][n] = rate
            out["proofs"][n] = p
            print(
                f"   {n:9,d} {rate:10,.0f} {rate / 100_000:7.2f} {p['root_ms']:8.2f} "
                f"{p['incl_hashes_max']:5d} {p['cons_hashes_max']:5d} {p['log2n']:5d} "
                f"{p['incl_ms']:8.2f} {p['cons_ms']:8.2f} {p['verify_us']:9.1f}"
            )
        for engine in engines.values():
            engine.dispose()
    if args.json:
        print(json.dumps(out, indent=2, default=str))


if __name__ == "__main__":
    main()
