"""C2SP witnessing: cosignature/v1 against a real witness's cosignature, and the add-checkpoint state
machine over its real SQLite store, case by case (c2sp.org/tlog-witness)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit import merkle
from audit.checkpoint import Checkpoint, NoteError, Verifier, open_checkpoint, sign_checkpoint, verifier_for
from audit.witness import (
    MAX_PROOF_HASHES,
    MAX_REQUEST_BYTES,
    SIZE_CONTENT_TYPE,
    AddCheckpoint,
    CosignatureVerifier,
    cosign,
    cosigner_for,
    parse_add_checkpoint,
    parse_signature_line,
    verify_cosignatures,
)
from audit.witness_server import add_log, init_witness, make_server, make_witness, serve_in_thread

REPO_ROOT = Path(__file__).resolve().parents[3]
VECTOR = REPO_ROOT / "tests" / "data" / "vectors" / "tlog-cosignature" / "ct-staging-cosigned.json"
ORIGIN = "example.test/log"
NOW = 1_800_000_000


# --- cosignature/v1 ------------------------------------------------------------------------------------


def test_a_real_witness_cosignature_verifies() -> None:
    data = json.loads(VECTOR.read_text())
    witness = CosignatureVerifier.parse(data["witness_verifier_key"])
    assert witness.encode() == data["witness_verifier_key"]
    assert verify_cosignatures(data["note"], [witness]) == {data["witness"]: data["timestamp"]}
    # The log's own Ed25519 signature on the same note verifies with the checkpoint code.
    open_checkpoint(data["note"], [Verifier.parse(data["log_verifier_key"])])
    altered = data["note"].replace("\n1432088532\n", "\n1432088533\n")
    with pytest.raises(NoteError, match="invalid cosignature by witness remora.n621.de"):
        verify_cosignatures(altered, [witness])


def test_a_real_cosignature_blob_carries_its_timestamp() -> None:
    case = json.loads(VECTOR.read_text())["signature_only"]
    _, blob = parse_signature_line("\u2014 w " + case["signature"])
    assert int.from_bytes(blob[4:12], "big") == case["timestamp"]


@pytest.mark.parametrize(
    "vkey, error",
    [
        ("w+00000000+BA" + "A" * 42, "key ID does not match"),
        # A note key (type 0x01) is not a cosignature key, even for the same public key.
        (
            "remora.n621.de+da77ade7+AevN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2",
            "not an Ed25519 cosignature",
        ),
        ("no-plus-signs", "malformed"),
        ("a b+12345678+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2", "malformed"),
    ],
)
def test_bad_witness_keys_are_refused(vkey: str, error: str) -> None:
    with pytest.raises(NoteError, match=error):
        CosignatureVerifier.parse(vkey)


def test_cosign_round_trip_and_what_it_commits_to() -> None:
    key = Ed25519PrivateKey.generate()
    text = Checkpoint(ORIGIN, 3, b"\x01" * 32, ("ext",)).text()
    line = cosign(text, name="w.test/1", key=key, timestamp=NOW)
    witness = cosigner_for("w.test/1", key)
    assert CosignatureVerifier.parse(witness.encode()) == witness
    note = text + "\n" + line
    assert verify_cosignatures(note, [witness]) == {"w.test/1": NOW}
    # Another witness's key is ignored; the extension line and the time are signed.
    assert verify_cosignatures(note, [cosigner_for("other", Ed25519PrivateKey.generate())]) == {}
    for altered in (note.replace("ext", "exu"), note.replace(line, _retimed(line, NOW + 1))):
        with pytest.raises(NoteError, match="invalid cosignature"):
            verify_cosignatures(altered, [witness])


def _retimed(line: str, timestamp: int) -> str:
    name, blob = parse_signature_line(line.rstrip("\n"))
    forged = blob[:4] + timestamp.to_bytes(8, "big") + blob[12:]
    return f"\u2014 {name} {base64.b64encode(forged).decode()}\n"


# --- add-checkpoint ------------------------------------------------------------------------------------


class Log:
    """A log in memory that signs its checkpoints, the way a gateway would."""

    def __init__(self, key: Ed25519PrivateKey | None = None) -> None:
        self.key = key or Ed25519PrivateKey.generate()
        self.tree = merkle.MemoryTree()

    def grow(self, n: int) -> Log:
        for _ in range(n):
            self.tree.append(merkle.leaf_hash(f"entry {self.tree.size}".encode()))
        return self

    def note(self, size: int | None = None) -> str:
        size = self.tree.size if size is None else size
        return sign_checkpoint(Checkpoint(ORIGIN, size, self.tree.root(size)), key=self.key)

    def request(self, old: int, size: int | None = None) -> bytes:
        size = self.tree.size if size is None else size
        proof = merkle.consistency_proof(self.tree, old, size) if 0 < old < size else []
        return AddCheckpoint(old, tuple(proof), self.note(size)).encode()

    @property
    def vkey(self) -> str:
        return verifier_for(ORIGIN, self.key).encode()


@pytest.fixture
def wdir(tmp_path: Path) -> Path:
    directory = tmp_path / "witness"
    init_witness(directory=directory, name="witness.test/w1")
    return directory


def _rewritten(log: Log) -> Log:
    """The same key, the same size, other entries: what an operator who rewrote history would sign."""
    other = Log(log.key)
    for i in range(log.tree.size):
        other.tree.append(merkle.leaf_hash(f"entry {i}{'!' if i == 2 else ''}".encode()))
    return other


def _with_bad_proof(log: Log) -> bytes:
    request = parse_add_checkpoint(log.request(4))
    return AddCheckpoint(4, (b"\x00" * 32, *request.proof[1:]), request.note).encode()


# (case, request body given a log already cosigned at size 4 and grown to 7, status, what the body says)
CASES: list[tuple[str, Callable[[Log], bytes], int, str]] = [
    ("extends the cosigned size", lambda log: log.request(4), 200, "\u2014 witness.test/w1 "),
    ("same size, same root: cosigned again", lambda log: log.request(4, 4), 200, "\u2014 witness.test/w1 "),
    ("old size behind the witness's", lambda log: log.request(2), 409, "4\n"),
    ("old size 0 to a witness that cosigned 4", lambda log: log.request(0), 409, "4\n"),
    ("rollback below the cosigned size", lambda log: log.request(4, 3), 400, "old size is larger"),
    ("bad consistency proof", _with_bad_proof, 422, "the checkpoint does not extend"),
    ("rewritten history, same size", lambda log: _rewritten(log).request(4, 4), 409, "same size"),
    (
        "rewritten history, grown",
        lambda log: _rewritten(log).request(4),
        422,
        "the checkpoint does not extend",
    ),
    ("unknown log", lambda log: log.request(4).replace(ORIGIN.encode(), b"other.test/log"), 404, "unknown"),
    ("signed by another key", lambda log: Log().grow(7).request(4), 403, "no valid signature"),
    ("no signature at all", lambda log: log.request(4).rsplit(b"\n\n", 1)[0] + b"\n\n", 400, "malformed"),
    ("garbage old line", lambda log: b"old 04\n\n" + log.note().encode(), 400, "the first line"),
    ("proof line not base64", lambda log: b"old 4\n!!\n\n" + log.note().encode(), 400, "not base64"),
    ("too many proof lines", lambda log: b"old 4\n" + b"A" * 43 + b"=\n" * 64 + b"\n", 400, "more than"),
    ("over the size limit", lambda log: b"old 4\n\n" + b"x" * MAX_REQUEST_BYTES, 400, "request body over"),
    (
        "proof from size 0",
        lambda log: AddCheckpoint(0, (b"\x00" * 32,), log.note()).encode(),
        400,
        "must be empty",
    ),
]


@pytest.mark.parametrize("case, body, status, says", CASES, ids=[c[0] for c in CASES])
def test_add_checkpoint(wdir: Path, case: str, body: Callable[[Log], bytes], status: int, says: str) -> None:
    log = Log().grow(4)
    add_log(directory=wdir, origin=ORIGIN, vkey=log.vkey)
    witness = make_witness(wdir)
    assert witness.add_checkpoint(log.request(0), now=NOW).status == 200
    log.grow(3)
    answer = witness.add_checkpoint(body(log), now=NOW)
    assert answer.status == status and says in answer.body.decode(), answer
    if says == "4\n":  # the witness's size, alone, as the spec's 409 answer
        assert (answer.body, answer.content_type) == (b"4\n", SIZE_CONTENT_TYPE)
    if status == 200:
        size = int(parse_add_checkpoint(body(log)).note.split("\n")[1])
        note = log.note(size) + answer.body.decode()
        assert verify_cosignatures(note, [witness.verifier]) == {"witness.test/w1": NOW}


def test_a_first_checkpoint_needs_no_proof_and_sizes_only_grow(wdir: Path) -> None:
    log = Log().grow(2)
    add_log(directory=wdir, origin=ORIGIN, vkey=log.vkey)
    witness = make_witness(wdir)
    assert witness.add_checkpoint(log.request(0), now=NOW).status == 200
    log.grow(5)
    assert witness.add_checkpoint(log.request(2), now=NOW).status == 200
    # The old checkpoint again: refused, the witness never goes back.
    assert witness.add_checkpoint(log.request(2, 2), now=NOW).body == b"7\n"
    assert witness.add_checkpoint(log.request(7, 2), now=NOW).status == 400


def test_state_survives_a_restart(wdir: Path) -> None:
    log = Log().grow(5)
    add_log(directory=wdir, origin=ORIGIN, vkey=log.vkey)
    assert make_witness(wdir).add_checkpoint(log.request(0), now=NOW).status == 200
    restarted = make_witness(wdir)  # a new process: everything read from the directory again
    answer = restarted.add_checkpoint(log.request(0), now=NOW)
    assert (answer.status, answer.body) == (409, b"5\n")
    assert restarted.add_checkpoint(_rewritten(log).request(5, 5), now=NOW).status == 409


def test_the_witness_key_is_private_and_never_replaced(wdir: Path) -> None:
    assert (wdir / "witness-key.pem").stat().st_mode & 0o777 == 0o600
    with pytest.raises(Exception, match="never replaced"):
        init_witness(directory=wdir, name="again")


def test_over_http(wdir: Path) -> None:
    log = Log().grow(3)
    add_log(directory=wdir, origin=ORIGIN, vkey=log.vkey)
    server = make_server(directory=wdir, host="127.0.0.1", port=0)
    serve_in_thread(server)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with httpx.Client(base_url=base, timeout=5) as client:
            r = client.post("/add-checkpoint", content=log.request(1))
            assert (r.status_code, r.text, r.headers["content-type"]) == (409, "0\n", SIZE_CONTENT_TYPE)
            r = client.post("/add-checkpoint", content=log.request(0))
            assert r.status_code == 200 and r.text.startswith("\u2014 witness.test/w1 ")
            assert client.post("/elsewhere", content=b"").status_code == 404
            big = client.post("/add-checkpoint", content=b"x" * (MAX_REQUEST_BYTES + 1))
            assert big.status_code == 413
    finally:
        server.shutdown()
        server.server_close()


def test_proof_limit_matches_the_spec() -> None:
    assert MAX_PROOF_HASHES == 63
