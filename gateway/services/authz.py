"""Every action asks the `ftgate.authz` policy; an engine failure is a deny.

Every authz decision is stored (`policy_decisions`: id, input, result, reasons, bundle, engine,
latency; `ftgate policy replay` re-decides it) and goes to the structured decision log (`policy.authz`
on stderr), as OPA's decision logs do.
- An allow is stored in the caller's transaction, so it commits with the action it allowed; a request
  that fails afterwards leaves nothing, its allow included. It is not appended to the audit log: every
  read would write to the log, and each change an allow lets through is logged by the service making it.
  The allows of metadata reads (`METADATA_READS`: lists and shows, which change nothing and hand out no
  content) are the exception when serving HTTP: they are written in batches a second apart
  (`gateway/store/batches.py`), so reads never queue behind the database's single writer; a crash loses
  at most that last second of read allows.
- A denial is also appended to the audit log, because a refused attempt is what an auditor looks for.
  It is recorded as every refusal is (`decisions.refusal`): the caller's transaction rolled back, the
  denial committed in one of its own on the same session, then `AuthzDenied` raised (`record_denial`).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlmodel import Session, col, select

from audit import log as audit_log
from gateway.db import add_at_commit
from gateway.errors import PermissionDenied
from gateway.models import DenialTally, PolicyDecisionRecord, User, utcnow
from gateway.policy.engine import Decision
from gateway.runtime import Runtime
from gateway.services.decisions import reasons_text, record_decision, refusal

log = structlog.get_logger(__name__)

# Reads that change nothing and hand out no content: their allows are stored in batches
# (`Runtime.read_decisions`), so a read never waits for the database's writer. Downloads, exports,
# proofs and every change keep their row in the request's own transaction.
METADATA_READS = frozenset(
    {
        "adapters.list",
        "adapters.read",
        "datasets.list",
        "datasets.read",
        "jobs.list",
        "jobs.read",
        "models.list",
        "users.list",
    }
)

# Identical denials within this time of the first are counted against it (`record_denial`).
DENIAL_WINDOW = timedelta(minutes=1)


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
    policy_input = _input(actor, action, resource_type, team, owner)
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
        row = PolicyDecisionRecord(
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
        if action in METADATA_READS:
            rt.read_decisions.add(row, session)  # in a batch, off the request path, when serving
        else:
            add_at_commit(session, row)  # with the action it allows, taking no write lock before
        return
    reasons = [r.model_dump() for r in decision.reasons]
    summary = reasons_text(reasons) or "denied"
    denied = AuthzDenied(
        f"{actor.name} ({actor.role.value}) may not {action}: {summary}",
        actor=actor.name,
        decision=decision,
        policy_input=policy_input,
        details={"reasons": reasons},
    )
    record_denial(rt=rt, session=session, error=denied)
    raise denied


def permits(
    *,
    rt: Runtime,
    actor: User,
    action: str,
    resource_type: str,
    team: str | None = None,
    owner: str | None = None,
) -> Decision:
    """What the authz policy would say, asked ahead of the action and stored nowhere: a page says why a
    button is not there ("the uploader may not approve"); the action itself asks again (`authorize`).
    An engine failure is a deny here too."""
    return rt.policy.decide("ftgate.authz", _input(actor, action, resource_type, team, owner))


def _input(
    actor: User, action: str, resource_type: str, team: str | None, owner: str | None
) -> dict[str, Any]:
    return {
        "subject": {"name": actor.name, "role": actor.role.value, "team": actor.team},
        "action": action,
        "resource": {"type": resource_type, "team": team, "owner": owner},
    }


def record_denial(*, rt: Runtime, session: Session, error: AuthzDenied) -> None:
    """Store and log a denial as every refusal is (`decisions.refusal`: the caller's transaction rolled
    back, the denial committed in one of its own on `session`); its decision id is added to the error's
    details.

    Repeats are counted, not logged one by one: the first denial of its kind (same actor, entrypoint,
    policy input, reasons and bundle) is stored and appended to the audit log as always; an identical one
    within a minute of it (`DENIAL_WINDOW`) only adds to that window's count (`DenialTally`), and its error
    names the first decision (`repeated: true`), which re-decides exactly as it would. Each repeat still
    goes to the decision log (OPA's), under a fresh id with `labels.repeat_of` naming the first. Once a
    window has passed, one `policy.denials_repeated` entry appends the count of its repeats, so every
    denial is in the audit log, as itself or in a count that points at its twin, and one caller hammering
    an endpoint adds at most two entries a minute per kind instead of one per request.

    Recording must not turn a clear "forbidden" into a different failure: if it fails, the failure is
    logged and the denial stands.
    """
    try:
        with refusal(session):
            close_denial_windows(session)
            decision_id, repeated = _count_or_record(session, error)
        if repeated:
            # Counted, not stored; committed now, so it goes to the decision log like any other.
            rt.decision_log.repeated(
                actor=error.actor, decision=error.decision, input=error.policy_input, repeat_of=decision_id
            )
        details = {**(error.details or {}), "decision_id": decision_id}
        error.details = {**details, "repeated": True} if repeated else details
    except Exception as exc:  # the denial is what the caller must see
        log.warning("policy.authz_denial_not_recorded", error=type(exc).__name__)


def _denial_key(error: AuthzDenied) -> str:
    decision = error.decision
    what = {
        "actor": error.actor,
        "entrypoint": decision.entrypoint,
        "input": error.policy_input,
        "reasons": [r.model_dump() for r in decision.reasons],
        "bundle_sha256": decision.bundle_sha256,
    }
    return hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()


def _count_or_record(session: Session, error: AuthzDenied) -> tuple[str, bool]:
    now = utcnow()
    key = _denial_key(error)
    query = select(DenialTally).where(
        col(DenialTally.key) == key,
        col(DenialTally.closed).is_(False),
        col(DenialTally.window_start) > now - DENIAL_WINDOW,
    )
    tally = session.exec(query).first()
    if tally is not None:
        tally.repeats += 1
        tally.last_at = now
        session.add(tally)
        return tally.decision_id, True
    row = record_decision(
        session=session, actor=error.actor, decision=error.decision, input=error.policy_input
    )
    action = str(error.policy_input.get("action", error.decision.entrypoint))
    session.add(DenialTally(key=key, actor=error.actor, action=action, decision_id=row.id, window_start=now))
    return row.id, False


def close_denial_windows(session: Session, *, now: datetime | None = None) -> int:
    """Append one `policy.denials_repeated` entry per window that has passed with repeats, and close the
    windows; returns the entries appended. Called before each denial is recorded and by `audit verify`."""
    passed = (now or utcnow()) - DENIAL_WINDOW
    query = select(DenialTally).where(
        col(DenialTally.closed).is_(False), col(DenialTally.window_start) <= passed
    )
    appended = 0
    for tally in session.exec(query.order_by(col(DenialTally.window_start))).all():
        if tally.repeats:
            audit_log.append(
                session,
                actor=tally.actor,
                action="policy.denials_repeated",
                subject=tally.decision_id,
                payload={
                    "decision_id": tally.decision_id,
                    "action": tally.action,
                    "repeats": tally.repeats,
                    "window_start": tally.window_start.isoformat(),
                    "last_at": tally.last_at.isoformat(),
                },
            )
            appended += 1
        tally.closed = True
        session.add(tally)
    return appended
