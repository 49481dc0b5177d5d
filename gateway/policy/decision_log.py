"""Decision logs in OPA's format, for every policy decision ftgate stores and every dry run.

Each decision is one JSON line with the fields OPA's decision logs have
(https://www.openpolicyagent.org/docs/management-decision-logs): `decision_id` (the stored `dec_` id),
`path` (`ftgate/training/decision`), `input`, `result`, `bundles` (`{"ftgate": {"revision": <bundle
hash>}}`, the revision `policies/.manifest` gives an OPA), `timestamp`, `labels` (`id`, `version`,
`app`, `engine`, and `dry_run` on a dry run), `metrics` and `requested_by` (the acting user). They go to
a file (`FTGATE_DECISION_LOG`, default `FTGATE_HOME/decisions.jsonl`), whatever the log level, each line
in one `write` to a file opened for appending, so the server, its workers and the CLI can share it.

A stored decision is logged when its transaction commits (a SQLAlchemy session event), so what the file
says happened did happen, with the id it was stored under: writes and denials, and the allows of
metadata reads when their batch is written. A repeated identical denial is counted in its tally, not
stored again, and is not logged again either. A dry run stores nothing; it is logged with a fresh id
and `labels.dry_run`.
"""

from __future__ import annotations

import json
import os
import threading
import weakref
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session as OrmSession

from gateway.models import PolicyDecisionRecord, new_id
from gateway.policy.engine import Decision

log = structlog.get_logger(__name__)

_PENDING = "ftgate_decisions_to_log"


class DecisionLog:
    """One sink: a file that decision lines are appended to."""

    def __init__(self, path: Path, *, instance: str) -> None:
        self.path = path
        self.labels = {"id": instance, "app": "ftgate", "version": version("ftgate")}
        self._lock = threading.Lock()

    def stored(self, row: dict[str, Any]) -> None:
        """Log a stored decision (`snapshot` of its row)."""
        self._write(
            decision_id=row["id"],
            entrypoint=row["entrypoint"],
            actor=row["actor"],
            input=row["input"],
            result={k: row[k] for k in ("allow", "reasons", "warnings", "review")},
            bundle_sha256=row["bundle_sha256"],
            engine=row["engine"],
            ms=row["ms"],
            at=row["created_at"],
        )

    def dry_run(self, *, actor: str, decision: Decision, input: dict[str, Any]) -> str:
        """Log a decision that was not stored (a dry run); returns the id it is logged under."""
        decision_id = new_id("dec")
        self._write(
            decision_id=decision_id,
            entrypoint=decision.entrypoint,
            actor=actor,
            input=input,
            result={
                "allow": decision.allow,
                "reasons": [r.model_dump() for r in decision.reasons],
                "warnings": [r.model_dump() for r in decision.warnings],
                "review": [r.model_dump() for r in decision.review],
            },
            bundle_sha256=decision.bundle_sha256,
            engine=decision.engine,
            ms=decision.ms,
            at=datetime.now(UTC),
            dry_run=True,
        )
        return decision_id

    def _write(
        self,
        *,
        decision_id: str,
        entrypoint: str,
        actor: str,
        input: dict[str, Any],
        result: dict[str, Any],
        bundle_sha256: str,
        engine: str,
        ms: float,
        at: datetime,
        dry_run: bool = False,
    ) -> None:
        labels = {**self.labels, "engine": engine}
        if dry_run:
            labels["dry_run"] = "true"
        when = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
        line = {
            "decision_id": decision_id,
            "path": f"{entrypoint.replace('.', '/')}/decision",
            "input": input,
            "result": result,
            "bundles": {"ftgate": {"revision": bundle_sha256}},
            "timestamp": when.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "labels": labels,
            "metrics": {"timer_rego_query_eval_ns": int(ms * 1_000_000)},
            "requested_by": actor,
        }
        data = (json.dumps(line, separators=(",", ":"), default=str) + "\n").encode()
        try:
            with self._lock:
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    os.write(fd, data)
                finally:
                    os.close(fd)
        except OSError as exc:
            # The decision stands (it is stored, or was a dry run); the operator must hear of the gap.
            log.error("decision_log.write_failed", path=str(self.path), error=exc.strerror or str(exc))


_SINKS: weakref.WeakKeyDictionary[Engine, DecisionLog] = weakref.WeakKeyDictionary()


def attach(engine: Engine, sink: DecisionLog) -> None:
    """Log the decisions stored through `engine`'s sessions to `sink` when they commit."""
    _SINKS[engine] = sink


def _sink_of(session: OrmSession) -> DecisionLog | None:
    try:
        bind = session.get_bind()
    except Exception:  # an unbound session stores nothing of ours
        return None
    engine = bind.engine if hasattr(bind, "engine") else bind
    return _SINKS.get(engine)  # type: ignore[arg-type]


def snapshot(row: PolicyDecisionRecord) -> dict[str, Any]:
    """The row's values as flushed (after the commit they may be expired, and reading them would query)."""
    return {
        name: getattr(row, name)
        for name in (
            "id", "entrypoint", "actor", "input", "allow", "reasons", "warnings", "review", "bundle_sha256",
            "engine", "ms", "created_at",
        )
    }  # fmt: skip


@event.listens_for(OrmSession, "after_flush")
def _collect(session: OrmSession, flush_context: Any) -> None:
    rows = [snapshot(obj) for obj in session.new if isinstance(obj, PolicyDecisionRecord)]
    if rows and _sink_of(session) is not None:
        session.info.setdefault(_PENDING, []).extend(rows)


@event.listens_for(OrmSession, "after_commit")
def _log_committed(session: OrmSession) -> None:
    rows = session.info.pop(_PENDING, None)
    if not rows:
        return
    sink = _sink_of(session)
    if sink is None:
        return
    for row in rows:
        sink.stored(row)


@event.listens_for(OrmSession, "after_rollback")
def _forget_rolled_back(session: OrmSession) -> None:
    session.info.pop(_PENDING, None)
