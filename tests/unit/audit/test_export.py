"""Lineage exporters on a real lineage sample: each validates with its format's own library.

The sample is a `json` export of a real training run (regenerate it with
FTGATE_WRITE_LINEAGE_SAMPLE=1 pytest tests/integration/test_lineage.py).
"""

from __future__ import annotations

import base64
import copy
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from google.protobuf.json_format import ParseError
from lineage_validators import (
    VALIDATORS,
    validate_cyclonedx,
    validate_html,
    validate_intoto,
    validate_openlineage,
    verify_intoto_envelope,
)
from securesystemslib.exceptions import VerificationError

from audit.errors import AuditError
from audit.export import Exporter, ExportersFactory, export_formats, get_exporter
from audit.signer import Signer, sign_with

SAMPLE = Path(__file__).parent / "data" / "lineage_sample.json"
KEY = ec.generate_private_key(ec.SECP256R1())


class HeldKey(Signer):
    """The adapter-signing key in memory: audit.signer's interface, as a signer process implements it."""

    def __init__(self, key: ec.EllipticCurvePrivateKey) -> None:
        self.key = key

    def name(self) -> str:
        return "memory"

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self.key.public_key()

    def sign(self, data: bytes, /) -> bytes:
        return sign_with(self.key, data)


SIGNER = HeldKey(KEY)


@pytest.fixture
def lineage() -> dict[str, Any]:
    return json.loads(SAMPLE.read_text())


def test_registry_lists_every_format() -> None:
    assert set(export_formats()) == {"json", "html", "intoto", "intoto-statement", "cyclonedx", "openlineage"}
    assert set(VALIDATORS) == set(export_formats())


@pytest.mark.parametrize("fmt", sorted(VALIDATORS))
def test_each_format_validates_and_is_deterministic(fmt: str, lineage: dict[str, Any]) -> None:
    exporter = get_exporter(fmt)
    key = SIGNER if exporter.signed else None
    content = exporter.export(lineage, key=key)
    VALIDATORS[fmt](content)
    assert exporter.export(copy.deepcopy(lineage), key=key) == content  # same log, same file


def test_json_is_the_lineage_unchanged(lineage: dict[str, Any]) -> None:
    assert json.loads(get_exporter("json").export(lineage)) == lineage


@pytest.mark.parametrize("name", ["yaml", "", "JSON", "intoto "])
def test_unknown_format_names_the_choices(name: str) -> None:
    with pytest.raises(AuditError, match="choose one of json"):
        get_exporter(name)


def test_a_new_format_registers_by_name_and_names_are_unique() -> None:
    class Lines(Exporter):
        media_type = "text/plain"

        @classmethod
        def name(cls) -> str:
            return "lines"

        def export(self, lineage: dict[str, Any]) -> bytes:
            return "\n".join(e["action"] for e in lineage["log"]["entries"]).encode()

    class Clash(Lines):
        pass

    factory = ExportersFactory()
    factory.register(Lines)
    assert factory.names() == ("lines",)
    assert isinstance(factory.get("lines"), Lines)
    with pytest.raises(ValueError, match="already registered"):
        factory.register(Clash)


def _intoto(lineage: dict[str, Any]) -> dict[str, Any]:
    return json.loads(get_exporter("intoto-statement").export(lineage))


def _bom(lineage: dict[str, Any]) -> dict[str, Any]:
    return json.loads(get_exporter("cyclonedx").export(lineage))


# Each validator must reject a document its format forbids; otherwise a green test proves nothing.
BROKEN = [
    ("intoto", _intoto, lambda d: d["subject"][0].pop("digest"), ValueError),
    ("intoto", _intoto, lambda d: d.update({"_type": "https://in-toto.io/Statement/v0.1"}), ValueError),
    ("intoto", _intoto, lambda d: d["predicate"]["runDetails"].update({"bogus": 1}), ParseError),
    (
        "intoto",
        _intoto,
        lambda d: d["predicate"]["runDetails"]["metadata"].update({"startedOn": "noon"}),
        ParseError,
    ),
    ("cyclonedx", _bom, lambda d: d["components"][0]["hashes"][0].update({"content": "xyz"}), AssertionError),
    ("cyclonedx", _bom, lambda d: d["metadata"]["component"].update({"type": "model"}), AssertionError),
    ("cyclonedx", _bom, lambda d: d.update({"specVersion": "1.6", "extra": True}), AssertionError),
]


@pytest.mark.parametrize(
    "fmt, build, breakage, error", BROKEN, ids=[f"{b[0]}-{i}" for i, b in enumerate(BROKEN)]
)
def test_validators_reject_broken_documents(
    fmt: str, build: Any, breakage: Any, error: type[Exception], lineage: dict[str, Any]
) -> None:
    doc = build(lineage)
    breakage(doc)
    validator = {"intoto": validate_intoto, "cyclonedx": validate_cyclonedx}[fmt]
    with pytest.raises(error):
        validator(json.dumps(doc).encode())


@pytest.mark.parametrize(
    "field, value",
    [("runId", "not-a-uuid"), ("eventTime", "yesterday")],
)
def test_openlineage_validator_rejects_bad_fields(field: str, value: str, lineage: dict[str, Any]) -> None:
    events = [json.loads(line) for line in get_exporter("openlineage").export(lineage).splitlines()]
    if field == "runId":
        events[0]["run"]["runId"] = value
    else:
        events[0]["eventTime"] = value
    with pytest.raises(ValueError):
        validate_openlineage("\n".join(json.dumps(e) for e in events).encode())


def test_the_intoto_envelope_verifies_with_securesystemslib_and_carries_the_statement(
    lineage: dict[str, Any],
) -> None:
    envelope = get_exporter("intoto").export(lineage, key=SIGNER)
    assert verify_intoto_envelope(envelope, KEY.public_key()) == _intoto(lineage)
    other = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(VerificationError):
        verify_intoto_envelope(envelope, other.public_key())
    forged = json.loads(envelope)
    statement = json.loads(base64.b64decode(forged["payload"]))
    statement["subject"][0]["digest"]["sha256"] = "0" * 64
    forged["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    with pytest.raises(VerificationError):
        verify_intoto_envelope(json.dumps(forged).encode(), KEY.public_key())
    with pytest.raises(AuditError, match="adapter-signing key"):
        get_exporter("intoto").export(lineage)  # never unsigned


def test_the_builder_is_the_deployment_not_a_worker_process(lineage: dict[str, Any]) -> None:
    builder = _intoto(lineage)["predicate"]["runDetails"]["builder"]["id"]
    assert builder == "ftgate:builder/ftgate.local/audit/3f2a9c1e5b7d4a60"


def test_intoto_subjects_and_dependencies(lineage: dict[str, Any]) -> None:
    doc = _intoto(lineage)
    assert {s["name"]: s["digest"]["sha256"] for s in doc["subject"]} == lineage["adapter"]["files"]
    deps = {
        d["name"]: d["digest"]["sha256"] for d in doc["predicate"]["buildDefinition"]["resolvedDependencies"]
    }
    assert deps == {
        f"dataset/{lineage['dataset']['name']}": lineage["training"]["trained_on_sha256"],
        f"base-model/{lineage['base_model']['name']}": lineage["base_model"]["verified_weights_sha256"],
        "policy-bundle": lineage["policy"]["training"]["bundle_sha256"],
    }
    names = [b["name"] for b in doc["predicate"]["runDetails"]["byproducts"]]
    assert names == ["model-signing-bundle", "ftgate-audit-log-head", "adapter-manifest"]


def test_openlineage_marks_a_rejecting_review_as_failed(lineage: dict[str, Any]) -> None:
    review = dict(lineage["approvals"][0], verdict="rejected", approver="dave")
    lineage["approvals"].append(review)
    entry = next(e for e in lineage["log"]["entries"] if e["action"] == "dataset.approved")
    lineage["log"]["entries"].append(dict(entry, action="dataset.rejected", entry_hash="f" * 64))
    events = validate_openlineage(get_exporter("openlineage").export(lineage))
    approvals = [e["eventType"] for e in events if e["job"]["name"] == "dataset.approval"]
    assert approvals == ["START", "COMPLETE", "START", "FAIL"]
    assert len({e["run"]["runId"] for e in events}) == 4  # scan, two reviews, training


def test_html_escapes_log_values_and_shows_quarantine(lineage: dict[str, Any]) -> None:
    lineage["approvals"][0]["note"] = '<script>alert("x")</script><img src="https://evil.example/x.png">'
    lineage["quarantine"] = {"dataset_id": "ds_1", "note": "n", "by": "bob", "at": "2026-11-29T00:00:00Z"}
    content = get_exporter("html").export(lineage)
    validate_html(content)  # no script tag, nothing loaded from elsewhere
    assert b"&lt;script&gt;" in content and b"Quarantined: dataset revoked by bob" in content


def test_html_badge_says_when_the_log_was_not_verified(lineage: dict[str, Any]) -> None:
    lineage["log"]["verified"] = False
    assert b"Audit log NOT verified" in get_exporter("html").export(lineage)


BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.browser
@pytest.mark.skipif(BROWSER is None, reason="no chromium to render with (apt-get install chromium)")
def test_html_renders_headless_with_the_chain_and_badge(lineage: dict[str, Any], tmp_path: Path) -> None:
    page = tmp_path / "lineage.html"
    page.write_bytes(get_exporter("html").export(lineage))
    shot = tmp_path / "lineage.png"
    base = [str(BROWSER), "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1100,1800"]
    dom = subprocess.run(
        [*base, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert "Audit log verified" in dom
    assert (
        dom.index('data-step="dataset"')
        < dom.index('data-step="approval"')
        < dom.index('data-step="adapter"')
    )
    subprocess.run(
        [*base, f"--screenshot={shot}", page.as_uri()], capture_output=True, timeout=60, check=True
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
