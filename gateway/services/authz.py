"""Every action asks the `ftgate.authz` policy; an engine failure is a deny.

Every authz decision is stored (`policy_decisions`: id, input, result, reasons, bundle, engine,
latency; `ftgate policy replay` re-decides it) and goes to the structured decision log (`policy.authz`
on stderr), as OPA's decision logs do.
- An allow is stored in the caller's transaction, so it commits with the action it allowed; a request
  that fails afterwards leaves nothing, its allow included. It is not appended to the audit log: every
  read would write to the log, and each change an allow lets through is logged by the service making it.
- A denial is also appended to the audit log, because a refused attempt is what an auditor looks for.
  It unwinds the caller's transaction first, so it is recorded in a transaction of its own by whoever
  opened the caller's (`record_denial`, called by the CLI's `as_user` and the API's error handler).
"""

from __future__ import annotations

from typing import Any

import structlog
from sqlmodel import Session

from gateway.errors import PermissionDenied
from gateway.models import PolicyDecisionRecord, User
from gateway.policy.engine import Decision
from gateway.runtime import Runtime
from gateway.services.decisions import record_decision

log = structlog.get_logger(__name__)


class AuthzDenied(PermissionDenied):
    """The authz policy said no; carries the decision and its input so the denial can be recorded."""

    def __init__(
        self, message: str, *, actor: str, decision: Decision, policy_input: dict[str, Any], **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.actor = actor
        self.decision = decision
        self.policy_input = policy_input


def authorize(
    *,
    rt: Runtime,
    session: Session,
    actor: User,
    action: str,
    resource_type: str,
    team: str | None = None,
    owner: str | None = None,
) -> None:
    """Raise AuthzDenied (a PermissionDenied) with the policy's reasons unless `actor` may do `action`."""
    policy_input = {
        "subject": {"name": actor.name, "role": actor.role.value, "team": actor.team},
        "action": action,
        "resource": {"type": resource_type, "team": team, "owner": owner},
    }
    decision = rt.policy.decide("ftgate.authz", policy_input)
    log.info(
        "policy.authz",
        allow=decision.allow,
        input=policy_input,
        reasons=[r.code for r in decision.reasons],
        bundle_sha256=decision.bundle_sha256,
        engine=decision.engine,
        ms=round(decision.ms, 3),
    )
    if decision.allow:
        session.add(
            PolicyDecisionRecord(
                entrypoint=decision.entrypoint,
                actor=actor.name,
                input=policy_input,
                allow=True,
                reasons=[],
                warnings=[],
                review=[],
                bundle_sha256=decision.bundle_sha256,
                engine=decision.engine,
                ms=decision.ms,
            )
        )
        return
    reasons = [r.model_dump() for r in decision.reasons]
    summary = "; ".join(r["message"] for r in reasons) or "denied"
    raise AuthzDenied(
        f"{actor.name} ({actor.role.value}) may not {action}: {summary}",
        actor=actor.name,
        decision=decision,
        policy_input=policy_input,
        details={"reasons": reasons},
    )


def record_denial(*, rt: Runtime, error: AuthzDenied) -> None:
    """Store and log a denial in its own transaction; its id is added to the error's details.

    Recording must not turn a clear "forbidden" into a different failure: if it fails, the failure is
    logged and the denial stands.
    """
    try:
        with rt.session() as session:
            row = record_decision(
                session=session, actor=error.actor, decision=error.decision, input=error.policy_input
            )
        error.details = {**(error.details or {}), "decision_id": row.id}
    except Exception as exc:  # the denial is what the caller must see
        log.warning("policy.authz_denial_not_recorded", error=type(exc).__name__)
