"""The redaction fixtures themselves: well-formed, labels that point at their records, reproducible.

How well redaction does on them is measured by benchmarks/redaction_efficacy.py, not here.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import re
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from gateway.formats import to_jsonl, validate_training_jsonl
from gateway.settings import REPO_ROOT

DATA = REPO_ROOT / "tests" / "data"
PII_DIR = DATA / "pii"
REDACTION = DATA / "redaction"
BENIGN = REDACTION / "benign_support_chats.jsonl"
PII_CHATS = REDACTION / "pii_support_chats.jsonl"
PII_LABELS = REDACTION / "pii_support_chats.labels.json"
CHAT_FILES = [BENIGN, PII_CHATS]
LABEL_TYPES = [
    "PERSON",
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "IBAN_CODE",
    "CREDIT_CARD",
    "STREET_ADDRESS",
    "ZIP_CODE",
    "LOCATION",
]
LOCALES = ["en_GB", "en_US", "fr_FR", "de_DE", "pt_PT", "it_IT", "es_ES", "nl_NL", "pl_PL"]


def load_script(name: str) -> ModuleType:
    """A generator script beside the data, imported by path (tests/data is not a package)."""
    spec = importlib.util.spec_from_file_location(f"corpora_{name}", REDACTION / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def pii_script() -> ModuleType:
    return load_script("make_pii_corpus")


@pytest.fixture(scope="module")
def labels() -> dict[str, Any]:
    return json.loads(PII_LABELS.read_text(encoding="utf-8"))


def test_corpus_copy_matches_the_upstream_digest_in_its_readme() -> None:
    readme = (PII_DIR / "README.md").read_text(encoding="utf-8")
    recorded = re.findall(r"\b[0-9a-f]{64}\b", readme)
    assert len(recorded) == 1, "the README records exactly one sha256"
    digest = hashlib.sha256((PII_DIR / "synth_dataset_v2.json").read_bytes()).hexdigest()
    assert digest == recorded[0]
    assert "7622dec1" in readme and "MIT" in (PII_DIR / "LICENSE").read_text(encoding="utf-8")


@pytest.mark.parametrize("path", CHAT_FILES, ids=lambda p: p.name)
def test_chat_fixture_is_a_valid_training_file(path: Path) -> None:
    with path.open("rb") as source:
        checked = validate_training_jsonl(source)
    assert checked.format == "chat"
    for record in read_jsonl(path):
        assert [m["role"] for m in record["messages"][:3]] == ["system", "user", "assistant"]
        assert isinstance(record["metadata"], dict) and record["metadata"]["ticket"]


def test_benign_corpus_is_large_varied_and_has_no_contact_data() -> None:
    records = read_jsonl(BENIGN)
    assert len(records) >= 250
    user_turns = [r["messages"][1]["content"] for r in records]
    assert len(set(user_turns)) >= 200, "phrasing should vary, not repeat one template"
    text = BENIGN.read_text(encoding="utf-8")
    # No email addresses: even a role address would be (rightly) redacted and count as a change.
    assert "@" not in text


def test_benign_script_writes_the_committed_file() -> None:
    script = load_script("make_benign_corpus")
    assert script.to_jsonl(script.make_records()) == BENIGN.read_text(encoding="utf-8")


def test_labels_cover_every_record_in_order(labels: dict[str, Any]) -> None:
    records = read_jsonl(PII_CHATS)
    assert [entry["index"] for entry in labels["records"]] == list(range(len(records)))
    assert 50 <= len(records) <= 80
    for entry in labels["records"]:
        assert entry["pii"], f"record {entry['index']} has no labelled personal data"
        assert any(k["kind"] in ("company", "product") for k in entry["must_keep"]), entry["index"]


def test_labels_point_at_strings_that_hold_their_value(
    labels: dict[str, Any], pii_script: ModuleType
) -> None:
    records = read_jsonl(PII_CHATS)
    for entry in labels["records"]:
        record = records[entry["index"]]
        for label in [*entry["pii"], *entry["must_keep"]]:
            text = pii_script.resolve(record, label["path"])
            assert isinstance(text, str), (entry["index"], label["path"])
            assert pii_script.occurs(label["value"], text), (entry["index"], label)


def test_labels_cover_the_class_the_issue_names(labels: dict[str, Any]) -> None:
    types = Counter(label["entity_type"] for entry in labels["records"] for label in entry["pii"])
    assert set(types) == set(LABEL_TYPES)
    paths = {label["path"] for entry in labels["records"] for label in entry["pii"]}
    assert {"metadata.customer", "metadata.customer.name"} <= paths
    with_postcode = {
        e["locale"] for e in labels["records"] if any(x["entity_type"] == "ZIP_CODE" for x in e["pii"])
    }
    assert with_postcode == set(LOCALES)
    kept = {k["value"] for entry in labels["records"] for k in entry["must_keep"]}
    pii = {label["value"] for entry in labels["records"] for label in entry["pii"]}
    assert not kept & pii


def test_pii_script_writes_the_committed_files(labels: dict[str, Any], pii_script: ModuleType) -> None:
    faker = pytest.importorskip("faker", reason="Faker regenerates the PII corpus (pip install Faker)")
    written_with = labels["generator"]["faker"]
    if written_with != faker.VERSION:
        pytest.skip(f"written with Faker {written_with}, Faker {faker.VERSION} installed")
    records, entries = pii_script.make_corpus(len(labels["records"]), labels["generator"]["seed"])
    assert records == read_jsonl(PII_CHATS)
    assert entries == labels["records"]


def test_corpus_chats_use_every_text_twice_in_each_role() -> None:
    chats = load_script("make_corpus_chats").build_chats(3000)
    assert len(chats) == 3000
    validate_training_jsonl(io.BytesIO(to_jsonl(chats)))
    users = Counter(c["metadata"]["user_sample"] for c in chats)
    assistants = Counter(c["metadata"]["assistant_sample"] for c in chats)
    samples = len(json.loads((PII_DIR / "synth_dataset_v2.json").read_text(encoding="utf-8")))
    assert set(users.values()) == set(assistants.values()) == {2} and len(users) == samples
    assert all(c["metadata"]["user_sample"] != c["metadata"]["assistant_sample"] for c in chats)
    assert chats == load_script("make_corpus_chats").build_chats(3000), "deterministic"
