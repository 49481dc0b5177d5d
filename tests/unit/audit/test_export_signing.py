"""Adapter directory signatures with OpenSSF model-signing and a key ftgate holds (audit.adapter_signing)."""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path
from typing import Any

import pytest

from audit.adapter_signing import (
    AdapterSignatureError,
    ensure_key,
    sign_directory,
    signed_files,
    verify_directory,
)
from audit.canonical import canonical_json
from audit.signer import KeyFileSigner


def held(path: Path) -> KeyFileSigner:
    """The adapter key in a file, made on first use, as the runtime holds it."""
    return KeyFileSigner(path, make=ensure_key)


def public(path: Path) -> Any:
    return held(path).public_key()


@pytest.fixture
def signed(tmp_path: Path) -> tuple[Path, Path, dict[str, Any]]:
    model = tmp_path / "ad_1"
    model.mkdir()
    (model / "adapter_model.safetensors").write_bytes(b"\x00" * 4096)
    (model / "adapter_config.json").write_text('{"r": 8}')
    key = tmp_path / "key.pem"
    return model, key, sign_directory(model, held(key))


def test_sign_then_verify(signed: tuple[Path, Path, dict[str, Any]]) -> None:
    model, key, record = signed
    verify_directory(model, record, public(key))
    assert key.stat().st_mode & 0o077 == 0
    assert set(signed_files(record["bundle"])) == {"adapter_model.safetensors", "adapter_config.json"}
    assert record["library"].startswith("model-signing ")


def test_a_second_signature_reuses_the_held_key(signed: tuple[Path, Path, dict[str, Any]]) -> None:
    model, key, record = signed
    assert sign_directory(model, held(key))["public_key_sha256"] == record["public_key_sha256"]


@pytest.mark.parametrize(
    "tamper, reason",
    [
        (lambda m: (m / "adapter_config.json").write_text('{"r": 64}'), "adapter_config.json changed"),
        (lambda m: (m / "adapter_model.safetensors").unlink(), "adapter_model.safetensors is missing"),
        (lambda m: (m / "extra.bin").write_bytes(b"1"), "extra.bin was added"),
    ],
)
def test_changed_files_are_named(signed: tuple[Path, Path, dict[str, Any]], tamper: Any, reason: str) -> None:
    model, key, record = signed
    tamper(model)
    with pytest.raises(AdapterSignatureError, match=reason):
        verify_directory(model, record, public(key))


def test_a_forged_bundle_or_another_key_is_refused(
    signed: tuple[Path, Path, dict[str, Any]], tmp_path: Path
) -> None:
    model, key, record = signed
    forged = copy.deepcopy(record)
    forged["bundle"]["dsseEnvelope"]["signatures"][0]["sig"] = record["bundle"]["dsseEnvelope"]["signatures"][
        0
    ]["sig"][::-1]
    with pytest.raises(AdapterSignatureError, match="does not match its logged hash"):
        verify_directory(model, forged, public(key))
    # Even with the logged hash recomputed, the signature itself does not verify.
    forged["bundle_sha256"] = hashlib.sha256(canonical_json(forged["bundle"])).hexdigest()
    with pytest.raises(AdapterSignatureError, match="do not match their signature"):
        verify_directory(model, forged, public(key))
    other = tmp_path / "other.pem"
    sign_directory(model, held(other))
    with pytest.raises(AdapterSignatureError, match="different key"):
        verify_directory(model, record, public(other))
