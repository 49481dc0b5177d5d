"""Getting the log's checkpoints cosigned by witnesses (c2sp.org/tlog-witness), and checking them.

The log's key signs a checkpoint of the current tree; each configured witness (`FTGATE_WITNESSES`) gets
it with a consistency proof from the last checkpoint it cosigned for us, checks both, and answers with
its cosignature, which is verified and kept (`witness_cosignatures`). Someone who can rewrite the
database can delete those rows, but not what the witnesses remember: a rewritten log is refused by
them (422), and `audit verify` fails on any kept cosignature the log no longer extends.

Witnesses are outside the gateway's control and may be down: submission never raises for a witness's
failure, it reports it; `audit verify` decides what a missing cosignature means (the quorum).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

import httpx
import structlog
from sqlmodel import Session, col, select

from audit import log as audit_log
from audit import merkle
from audit.checkpoint import Checkpoint, NoteError, log_origin, open_checkpoint, sign_checkpoint, verifier_for
from audit.errors import AuditVerificationError
from audit.log import StoredTree
from audit.verify import ChainHead, check_extends
from audit.witness import (
    MAX_REQUEST_BYTES,
    SIZE_CONTENT_TYPE,
    AddCheckpoint,
    CosignatureVerifier,
    WitnessRequestError,
    parse_size_response,
    verify_cosignatures,
)
from gateway.models import WitnessCosignature
from gateway.runtime import Runtime
from gateway.settings import WitnessEndpoint

log = structlog.get_logger(__name__)

MAX_ANSWER_BYTES = MAX_REQUEST_BYTES  # a few signature lines; a witness sending more is refused


@dataclass(frozen=True)
class Submission:
    """What one witness said about one checkpoint."""

    witness: str
    status: str  # cosigned | refused | unreachable
    tree_size: int
    detail: str = ""


@dataclass(frozen=True)
class _Witness:
    verifier: CosignatureVerifier
    url: str


def _witnesses(endpoints: list[WitnessEndpoint]) -> list[_Witness]:
    return [_Witness(CosignatureVerifier.parse(e.vkey), e.url) for e in endpoints]


def latest_cosigned(*, session: Session, witness: str) -> WitnessCosignature | None:
    """The largest checkpoint the witness cosigned, as kept here."""
    query = (
        select(WitnessCosignature)
        .where(WitnessCosignature.witness == witness)
        .order_by(col(WitnessCosignature.tree_size).desc(), col(WitnessCosignature.id).desc())
        .limit(1)
    )
    return session.exec(query).first()


def submit_checkpoint(*, rt: Runtime, session: Session) -> list[Submission]:
    """Sign the current tree and submit it to every configured witness; keep each valid cosignature.

    The witnesses are asked in parallel, each call bounded by `witness_timeout_seconds`. One that
    answers 409 with the size it holds (it cosigned for us a checkpoint we no longer keep, or another
    gateway of the same log did) is asked once more with a proof from that size. Never raises for a
    witness's failure: the result says what each answered.
    """
    witnesses = _witnesses(rt.settings.witnesses)
    if not witnesses:
        return []
    key = rt.signing_key
    found = audit_log.head(session)
    size = found[0] if found else 0
    tree = StoredTree(session)
    checkpoint = Checkpoint(log_origin(key), size, merkle.root(tree, size))
    note = sign_checkpoint(checkpoint, key=key)
    timeout = rt.settings.witness_timeout_seconds

    def ask(olds: dict[str, int]) -> dict[str, _Answer]:
        # Proofs come from the session, here; the threads only send them (a session is not thread-safe).
        requests = {
            w.verifier.name: (w, olds[w.verifier.name], _proof(tree, olds[w.verifier.name], size))
            for w in witnesses
            if w.verifier.name in olds
        }
        if not requests:
            return {}
        with ThreadPoolExecutor(max_workers=len(requests), thread_name_prefix="witness-submit") as pool:
            futures = {
                name: pool.submit(_attempt, witness, note, checkpoint, old, proof, timeout)
                for name, (witness, old, proof) in requests.items()
            }
            return {name: future.result() for name, future in futures.items()}

    kept = {w.verifier.name: latest_cosigned(session=session, witness=w.verifier.name) for w in witnesses}
    # A witness that already cosigned this very checkpoint is not asked again (the periodic round
    # would otherwise add a row a minute per witness to an idle log).
    answers = {
        name: _Answer(Submission(name, "cosigned", size, "already cosigned"))
        for name, row in kept.items()
        if row is not None and row.tree_size == size and row.root_hash == checkpoint.root_hash.hex()
    }
    answers |= ask({name: row.tree_size if row else 0 for name, row in kept.items() if name not in answers})
    retry = {name: a.holds for name, a in answers.items() if a.holds is not None and a.holds <= size}
    if retry:
        answers |= ask(retry)
    results = []
    for witness in witnesses:
        answer = answers[witness.verifier.name]
        submission = answer.submission
        if answer.holds is not None:  # still a 409: beyond our log, or it moved again meanwhile
            why = "beyond the log's: truncated or rolled back" if answer.holds > size else "again"
            submission = Submission(
                submission.witness, "refused", size, f"the witness holds size {answer.holds}, {why}"
            )
        if answer.line is not None:
            session.add(
                WitnessCosignature(
                    witness=witness.verifier.name,
                    tree_size=checkpoint.size,
                    root_hash=checkpoint.root_hash.hex(),
                    note=note + answer.line,
                    cosigned_at=answer.cosigned_at,
                )
            )
        _log(submission)
        results.append(submission)
    session.flush()
    return results


def _proof(tree: StoredTree, old: int, size: int) -> tuple[bytes, ...]:
    """The consistency proof from `old` to `size` (none from 0, none to the same size, none possible
    from beyond: the witness answers that with its size)."""
    return tuple(merkle.consistency_proof(tree, old, size)) if 0 < old < size else ()


@dataclass(frozen=True)
class _Answer:
    submission: Submission
    line: str | None = None  # the witness's cosignature line, verified
    cosigned_at: int = 0
    holds: int | None = None  # the size a 409 said the witness holds


def _attempt(
    witness: _Witness, note: str, checkpoint: Checkpoint, old: int, proof: tuple[bytes, ...], timeout: float
) -> _Answer:
    """One add-checkpoint call."""
    name, size = witness.verifier.name, checkpoint.size
    body = AddCheckpoint(old, proof, note).encode()
    try:
        status, content_type, answer = _post(f"{witness.url}/add-checkpoint", body, timeout)
    except (httpx.HTTPError, WitnessRequestError) as exc:
        return _Answer(Submission(name, "unreachable", size, f"{type(exc).__name__}: {exc}"[:300]))
    if status == 409 and content_type.startswith(SIZE_CONTENT_TYPE):
        try:
            return _Answer(Submission(name, "refused", size), holds=parse_size_response(answer))
        except WitnessRequestError as exc:
            return _Answer(Submission(name, "refused", size, exc.message))
    if status != 200:
        first = answer.decode("utf-8", errors="replace").strip().splitlines()[:1]
        detail = f"HTTP {status}" + (f": {first[0][:200]}" if first else "")
        return _Answer(Submission(name, "refused", size, detail))
    # Only this witness's own lines are kept; a line by another key is ignored, as for any note.
    prefix = f"\u2014 {name} "
    line = "".join(
        ln + "\n" for ln in answer.decode("utf-8", errors="replace").splitlines() if ln.startswith(prefix)
    )
    try:
        cosigned = verify_cosignatures(note + line, [witness.verifier]) if line else {}
    except NoteError as exc:
        return _Answer(Submission(name, "refused", size, f"bad cosignature: {exc.message}"))
    if name not in cosigned:
        return _Answer(Submission(name, "refused", size, "no cosignature by its key in its answer"))
    return _Answer(Submission(name, "cosigned", size), line=line, cosigned_at=cosigned[name])


def _post(url: str, body: bytes, timeout: float) -> tuple[int, str, bytes]:
    """POST with a bounded answer: (status, content type, body)."""
    headers = {"Content-Type": "text/plain"}
    with (
        httpx.Client(timeout=timeout, follow_redirects=False) as client,
        client.stream("POST", url, content=body, headers=headers) as r,
    ):
        data = b""
        for chunk in r.iter_bytes():
            data += chunk
            if len(data) > MAX_ANSWER_BYTES:
                raise WitnessRequestError(502, "the witness's answer is too large")
        return r.status_code, r.headers.get("content-type", ""), data


def _log(submission: Submission) -> None:
    fields = {"witness": submission.witness, "tree_size": submission.tree_size}
    if submission.status == "cosigned":
        log.info("witness.cosigned", **fields)
    else:
        log.warning(f"witness.{submission.status}", detail=submission.detail, **fields)


# --- checking what witnesses cosigned --------------------------------------------------------------


def check_witnessed(
    *, rt: Runtime, session: Session, head: ChainHead, tree: merkle.MemoryTree, submit: bool = True
) -> dict[str, Any]:
    """Require that the log extends the checkpoints at least `quorum` witnesses cosigned.

    Every kept cosignature is checked again (the log's signature and the witness's), and any witness
    whose latest cosigned checkpoint the log no longer extends fails verification, naming it. With
    fewer than `quorum` cosignatures the log extends, the current checkpoint is submitted once first;
    still short, verification fails closed. Returns the per-witness findings.
    """
    witnesses = _witnesses(rt.settings.witnesses)
    quorum = rt.settings.quorum
    findings, failures = _check_rows(rt=rt, session=session, witnesses=witnesses, head=head, tree=tree)
    submitted: list[Submission] = []
    if not failures and sum(f["status"] == "extended" for f in findings) < quorum and submit:
        submitted = submit_checkpoint(rt=rt, session=session)
        findings, failures = _check_rows(rt=rt, session=session, witnesses=witnesses, head=head, tree=tree)
    if failures:
        raise AuditVerificationError(
            "; ".join(f["detail"] for f in failures),
            seq=failures[0].get("seq"),
            expected=failures[0].get("root_hash", ""),
        )
    extended = sum(f["status"] == "extended" for f in findings)
    if extended < quorum:
        why = "; ".join(f"{s.witness}: {s.status} ({s.detail})" for s in submitted if s.status != "cosigned")
        raise AuditVerificationError(
            f"only {extended} of the {quorum} witness cosignatures required (FTGATE_WITNESS_QUORUM) are on "
            f"a checkpoint the log extends" + (f"; submitting now: {why}" if why else "")
        )
    return {"quorum": quorum, "cosigned": extended, "witnesses": findings}


def _check_rows(
    *,
    rt: Runtime,
    session: Session,
    witnesses: list[_Witness],
    head: ChainHead,
    tree: merkle.MemoryTree,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    key = rt.signing_key
    origin = log_origin(key)
    log_verifier = verifier_for(origin, key)
    findings, failures = [], []
    for witness in witnesses:
        name = witness.verifier.name
        row = latest_cosigned(session=session, witness=name)
        if row is None:
            findings.append({"witness": name, "status": "none"})
            continue
        finding: dict[str, Any] = {"witness": name, "tree_size": row.tree_size, "root_hash": row.root_hash}
        try:
            checkpoint = open_checkpoint(row.note, [log_verifier], origin=origin)
            finding["cosigned_at"] = verify_cosignatures(row.note, [witness.verifier])[name]
        except (NoteError, KeyError):
            finding |= {
                "status": "failed",
                "detail": f"witness {name}: the kept cosignature of size {row.tree_size} does not verify",
            }
            failures.append(finding)
            findings.append(finding)
            continue
        try:
            check_extends(head, tree, checkpoint)
        except AuditVerificationError as exc:
            finding |= {
                "status": "failed",
                "seq": exc.seq,
                "detail": f"witness {name} cosigned size {checkpoint.size} root "
                f"{checkpoint.root_hash.hex()}; the log no longer extends it ({exc.message})",
            }
            failures.append(finding)
        else:
            finding["status"] = "extended"
        findings.append(finding)
    return findings, failures


def witness_now(*, rt: Runtime, session: Session) -> list[dict[str, Any]]:
    """Submit the current checkpoint to every witness now (`ftgate audit witness`)."""
    return [asdict(s) for s in submit_checkpoint(rt=rt, session=session)]


def latest_witnessed(*, rt: Runtime, session: Session) -> dict[str, Any] | None:
    """The largest checkpoint with cosignatures kept here, with every witness's cosignature on it."""
    names = [w.verifier.name for w in _witnesses(rt.settings.witnesses)]
    rows = [r for n in names if (r := latest_cosigned(session=session, witness=n)) is not None]
    if not rows:
        return None
    best = max(rows, key=lambda r: r.tree_size)
    same = [r for r in rows if r.tree_size == best.tree_size and r.root_hash == best.root_hash]
    base = best.note[: best.note.index("\n\n") + 2]
    signatures = best.note[len(base) :].splitlines(keepends=True)
    log_lines = signatures[:1]  # the log's own signature comes first: the note as it was signed
    cosignatures = [r.note.rsplit("\n", 2)[-2] + "\n" for r in same]
    return {
        "tree_size": best.tree_size,
        "root_hash": best.root_hash,
        "witnesses": sorted(r.witness for r in same),
        "checkpoint": base + "".join(log_lines) + "".join(cosignatures),
    }


class WitnessSubmitter:
    """The serving process's background submissions: a few seconds after writes, and on a timer.

    One daemon thread; `poke()` (after a request that may have appended) only sets an event, so a
    request never waits for a witness. Several pokes within `debounce` seconds make one submission, and
    nothing is sent while the log has not grown since the last round (but for the periodic one).
    """

    def __init__(
        self,
        *,
        submit: Callable[[], list[Submission]],
        size: Callable[[], int],
        interval: float,
        debounce: float = 2.0,
    ) -> None:
        self._submit = submit
        self._size = size
        self._interval = interval
        self._debounce = debounce
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_size = -1

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="witness-submitter", daemon=True)
            self._thread.start()

    def poke(self) -> None:
        self._wake.set()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        next_periodic = time.monotonic()
        while not self._stop.is_set():
            poked = self._wake.wait(timeout=max(0.0, next_periodic - time.monotonic()))
            if self._stop.is_set():
                return
            if poked:
                self._stop.wait(self._debounce)  # let a burst of writes finish: one submission for all
            self._wake.clear()
            periodic = time.monotonic() >= next_periodic
            try:
                size = self._size()
                if periodic or size != self._last_size:
                    self._submit()
                    self._last_size = size
            except Exception as exc:  # noqa: BLE001  (a failed round must not end the thread)
                log.warning("witness.round_failed", error=type(exc).__name__)
            if periodic:
                next_periodic = time.monotonic() + self._interval


def make_submitter(*, rt: Runtime) -> WitnessSubmitter:
    """The server's submitter: each round in a short session of its own."""

    def submit() -> list[Submission]:
        with rt.session() as session:
            return submit_checkpoint(rt=rt, session=session)

    def size() -> int:
        with rt.session() as session:
            found = audit_log.head(session)
            return found[0] if found else 0

    return WitnessSubmitter(submit=submit, size=size, interval=rt.settings.witness_interval_seconds)
