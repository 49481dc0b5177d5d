"""The issue's 3,000-record chat file, built from the labelled corpus, uploads with the shipped config.

Each record is a user turn and an assistant turn taken from tests/data/pii/synth_dataset_v2.json
(tests/data/redaction/make_corpus_chats.py). Before issue 11 it was refused outright ("still has 8 PII
finding(s)"), with nothing saying which records. Now the residual check lists them by record, field and
type, and the shipped config (`residual: drop_record`) leaves those records out and counts them.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from ftgate_testing import Home

from gateway.settings import REPO_ROOT

RECORDS = 3000


def build_chats(n: int) -> list[dict[str, Any]]:
    path = REPO_ROOT / "tests" / "data" / "redaction" / "make_corpus_chats.py"
    spec = importlib.util.spec_from_file_location("make_corpus_chats", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return list(module.build_chats(n))


@pytest.mark.slow
def test_the_3000_record_chat_file_uploads_with_the_shipped_config(home: Home, tmp_path: Path) -> None:
    records = build_chats(RECORDS)
    path = tmp_path / "chats.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    ds = home.cli(
        "datasets", "upload", str(path), "--name=corpus-chats", "--purpose=style",
        "--classification=internal", token=home.alice,
    )  # fmt: skip
    report = ds["scan_report"]
    assert report["residual_action"] == "drop_record"
    assert report["records"] == RECORDS and report["residual_findings"] == 0  # in what is kept
    dropped = report["records_dropped_residual"]
    assert dropped == report["residual_records"] == len({r["record"] for r in report["residual"]})
    assert dropped < RECORDS // 10  # a few records, not the file
    assert ds["records"] == RECORDS - report["records_dropped"]
    out = tmp_path / "redacted.jsonl"
    home.cli("datasets", "download", ds["id"], "-o", str(out), token=home.bob)
    kept = out.read_text().splitlines()
    assert len(kept) == ds["records"]
    # The dropped records are the listed ones: every kept record's turns are its source's, redacted.
    listed = {r["record"] for r in report["residual"]}
    sources = [r["metadata"]["user_sample"] for i, r in enumerate(records) if i not in listed]
    assert [json.loads(line)["metadata"]["user_sample"] for line in kept] == sources
