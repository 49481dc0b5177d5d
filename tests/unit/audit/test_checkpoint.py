"""Signed notes and checkpoints: the Go checksum database's real checkpoints, and our own round trip."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.checkpoint import (
    Checkpoint,
    NoteError,
    Verifier,
    log_origin,
    open_checkpoint,
    open_note,
    sign_checkpoint,
    sign_note,
    verifier_for,
)

REPO_ROOT = Path(__file__).resolve().parents[3]
# Checkpoints signed by sum.golang.org, and altered copies (tests/data/vectors/signed-note/README.md).
SUMDB = REPO_ROOT / "tests" / "data" / "vectors" / "signed-note" / "sumdb-checkpoints.json"


def _cases() -> list[Any]:
    data = json.loads(SUMDB.read_text())
    return [pytest.param(data["verifier_key"], case, id=case["desc"]) for case in data["cases"]]


@pytest.mark.parametrize("vkey, case", _cases())
def test_sumdb_checkpoint_vector(vkey: str, case: dict[str, Any]) -> None:
    try:
        checkpoint = open_checkpoint(case["note"], [Verifier.parse(vkey)])
    except NoteError:
        accepted = False
    else:
        accepted = True
        assert checkpoint.origin == "go.sum database tree"
    assert accepted is not case["wantErr"], case["desc"]


def test_verifier_key_round_trips() -> None:
    vkey = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"
    assert Verifier.parse(vkey).encode() == vkey


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def test_our_checkpoint_round_trips(key: Ed25519PrivateKey) -> None:
    origin = log_origin(key)
    checkpoint = Checkpoint(origin, 42, bytes(range(32)))
    note = sign_checkpoint(checkpoint, key=key)
    assert note.startswith(f"{origin}\n42\n") and "\n\n\u2014 " + origin + " " in note
    verifier = Verifier.parse(verifier_for(origin, key).encode())
    assert open_checkpoint(note, [verifier], origin=origin) == checkpoint


@pytest.mark.parametrize(
    "alter, fragment",
    [
        (lambda n: n.replace("\n42\n", "\n43\n"), "invalid signature"),
        (lambda n: n.replace("\n42\n", "\n042\n"), "invalid signature"),
        (lambda n: n[:-1], "end in a newline"),
        (lambda n: n.replace("\n\n", "\n"), "no blank line"),
        (lambda n: n.split("\n\n")[0] + "\n\n", "no valid signature"),
        (lambda n: n.replace("\u2014 ", "- "), "em dash"),
    ],
)
def test_altered_checkpoint_is_refused(key: Ed25519PrivateKey, alter: Any, fragment: str) -> None:
    origin = log_origin(key)
    note = sign_checkpoint(Checkpoint(origin, 42, bytes(32)), key=key)
    with pytest.raises(NoteError, match=fragment):
        open_checkpoint(alter(note), [verifier_for(origin, key)])


def test_other_key_and_other_origin_are_refused(key: Ed25519PrivateKey) -> None:
    origin = log_origin(key)
    note = sign_checkpoint(Checkpoint(origin, 1, bytes(32)), key=key)
    with pytest.raises(NoteError, match="no valid signature"):
        open_note(note, [verifier_for(origin, Ed25519PrivateKey.generate())])
    with pytest.raises(NoteError, match="not 'elsewhere'"):
        open_checkpoint(note, [verifier_for(origin, key)], origin="elsewhere")


@pytest.mark.parametrize(
    "text", ["o\n1\n", "o\n-1\n" + "A" * 43 + "=\n", "o\n1\nnot base64!\n", "\n1\n" + "A" * 43 + "=\n"]
)
def test_malformed_checkpoint_bodies(key: Ed25519PrivateKey, text: str) -> None:
    note = sign_note(text, name="o", key=key)
    with pytest.raises(NoteError, match="malformed checkpoint"):
        open_checkpoint(note, [verifier_for("o", key)])
