"""The log key signs heads and manifests; a changed message or key fails verification."""

from __future__ import annotations

from pathlib import Path

import pytest

from audit.errors import AuditVerificationError
from audit.signing import generate_key, head_message, load_key, public_key_b64, sign, verify_signature


def test_sign_and_verify_round_trip(tmp_path: Path) -> None:
    key = generate_key(tmp_path / "k.pem")
    assert (tmp_path / "k.pem").stat().st_mode & 0o777 == 0o600
    loaded = load_key(tmp_path / "k.pem")
    message = head_message(7, "ab" * 32)
    signature = sign(loaded, message)
    verify_signature(public_key_b64(key), message, signature)
    with pytest.raises(AuditVerificationError):
        verify_signature(public_key_b64(key), head_message(8, "ab" * 32), signature)
    other = generate_key(tmp_path / "other.pem")
    with pytest.raises(AuditVerificationError):
        verify_signature(public_key_b64(other), message, signature)


def test_generate_refuses_to_overwrite(tmp_path: Path) -> None:
    generate_key(tmp_path / "k.pem")
    with pytest.raises(FileExistsError):
        generate_key(tmp_path / "k.pem")
