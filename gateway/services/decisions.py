"""Store a policy decision and log it; and the one way a refusal is recorded and raised.

An allow is stored in the caller's transaction (`record_decision`), so it commits with the change it
allowed or not at all. A refusal follows one rule, wherever it is made (`refusal`, `refuse`):

1. the refused request's transaction is rolled back: nothing it wrote stays, neither a row half added
   nor an allow decided on the way (a request that fails leaves nothing, its allows included);
2. the refusing decision (`policy_decisions`, `policy.decided` in the audit log) and the entries that
   say what was refused (`dataset.refused`, `adapter.release_refused`, ...) are written in a transaction
   of their own, on the same session, and committed, so a refusal is always on record;
3. only then is the error raised, naming the stored decision.

The same session, not a second one: on SQLite a second connection would wait for the first one's write
lock, and the refused request's transaction has just been given up anyway. If the refusal cannot be
recorded (the database is gone), that failure is what the caller sees, with nothing committed;
authorization denials alone stand regardless (`services.authz`), since a clear "forbidden" must not
turn into a different failure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

from sqlmodel import Session

from audit import log as audit_log
from gateway.errors import FtgateError
from gateway.models import PolicyDecisionRecord
from gateway.policy.engine import Decision


def record_decision(
    *, session: Session, actor: str, decision: Decision, input: dict[str, Any]
) -> PolicyDecisionRecord:
    """Store the decision and append `policy.decided`, in the caller's transaction."""
    reasons = [r.model_dump() for r in decision.reasons]
    warnings = [r.model_dump() for r in decision.warnings]
    review = [r.model_dump() for r in decision.review]
    row = PolicyDecisionRecord(
        entrypoint=decision.entrypoint,
        actor=actor,
        input=input,
        allow=decision.allow,
        reasons=reasons,
        warnings=warnings,
        review=review,
        bundle_sha256=decision.bundle_sha256,
        engine=decision.engine,
        ms=decision.ms,
    )
    session.add(row)
    session.flush()
    audit_log.append(
        session,
        actor=actor,
        action="policy.decided",
        subject=row.id,
        payload={
            "decision_id": row.id,
            "entrypoint": decision.entrypoint,
            "allow": decision.allow,
            "reasons": reasons,
            "warnings": warnings,
            "review": review,
            "bundle_sha256": decision.bundle_sha256,
            "engine": decision.engine,
            "input": input,
        },
    )
    return row


@contextmanager
def refusal(session: Session) -> Iterator[Session]:
    """The transaction a refusal is recorded in (the module's rule): the refused request's work rolled
    back first, what the block writes committed at its end, or, if the block fails, rolled back too."""
    session.rollback()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


def refuse(
    *,
    session: Session,
    actor: str,
    decision: Decision,
    input: dict[str, Any],
    error: Callable[[PolicyDecisionRecord], FtgateError],
    also: Callable[[PolicyDecisionRecord], None] | None = None,
) -> NoReturn:
    """Record a refusal and raise it, by the module's rule: the decision, and what `also` appends for
    it, committed on their own after the refused request is rolled back; then `error(row)` is raised.

    `decision` is usually a deny; it may be an allow that the caller refuses for a reason of its own
    (a job the policy now holds for review that nobody signed off).
    """
    with refusal(session):
        row = record_decision(session=session, actor=actor, decision=decision, input=input)
        if also is not None:
            also(row)
    raise error(row)


def reasons_text(reasons: list[dict[str, Any]]) -> str:
    """The reasons of a stored decision as one line: "a; b"."""
    return "; ".join(r["message"] for r in reasons)


__all__ = ["reasons_text", "record_decision", "refusal", "refuse"]
