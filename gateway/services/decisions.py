"""Store a policy decision and log it, in the caller's transaction."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from audit import log as audit_log
from gateway.models import PolicyDecisionRecord
from gateway.policy.engine import Decision


def record_decision(
    *, session: Session, actor: str, decision: Decision, input: dict[str, Any]
) -> PolicyDecisionRecord:
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
