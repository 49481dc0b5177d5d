"""Decision logs in OPA's format, for every policy decision ftgate makes, sent to a configurable sink.

Each decision is one event with the fields OPA's decision logs have
(https://www.openpolicyagent.org/docs/management-decision-logs): `decision_id`, `path`
(`ftgate/training/decision`), `input`, `result`, `bundles` (`{"ftgate": {"revision": <bundle hash>}}`,
the revision `policies/.manifest` gives an OPA), `timestamp`, `labels` (`id`, `version`, `app`, `engine`;
`dry_run` on a dry run, `repeat_of` on a repeated denial), `metrics` and `requested_by` (the acting
user). Every event goes to the sink, whatever the log level.

Sinks share one interface (`DecisionSink`, `gateway/policy/decision_sinks.py`); `make_sink` picks one:
- `file` (the default): one JSON line per event appended to `FTGATE_DECISION_LOG` (default
  `FTGATE_HOME/decisions.jsonl`), each line in one `write` to a file opened for appending, so the
  server, its workers and the CLI can share it.
- `http` (when `FTGATE_DECISION_LOG_URL` is set; `gateway/policy/decision_upload.py`): OPA's
  decision-log upload API, batches POSTed as gzip-compressed JSON arrays to `<url>/logs` by a
  background thread; a slow or absent service never holds up or fails a request.

A stored decision is logged when its transaction commits (a SQLAlchemy session event), so what the log
says happened did happen, with the `dec_` id it was stored under: writes and denials, and the allows of
metadata reads when their batch is written. Two kinds of decision are logged without being stored,
each under a fresh id: a dry run (`labels.dry_run`), and a denial that repeats an identical one within
its minute (`labels.repeat_of`: the id of the stored first, which `ftgate policy replay` can re-decide).
A repeat gets its own id because OPA's consumers take `decision_id` as the identity of one event (they
deduplicate uploads retried after a failure by it): the first's id on a second event would be read as
the same event delivered twice, and the repeat would vanish.
"""

from __future__ import annotations

import weakref
from datetime import UTC, datetime
from importlib.metadata import version
from typing import Any

import structlog
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session as OrmSession

from gateway.models import PolicyDecisionRecord, new_id
from gateway.policy.decision_sinks import CLOSE_TIMEOUT_S, DecisionSink, FileSink
from gateway.policy.engine import Decision
from gateway.settings import Settings

log = structlog.get_logger(__name__)

_PENDING = "ftgate_decisions_to_log"


def make_sink(settings: Settings) -> DecisionSink:
    """The sink the settings ask for: OPA's upload API at `decision_log_url` if set, else the file."""
    if settings.decision_log_url:
        # Imported here: the HTTP client costs every CLI command that logs to the file its import.
        from gateway.policy.decision_upload import OpaUploadSink

        return OpaUploadSink.from_settings(settings)
    return FileSink.from_settings(settings)


class DecisionLog:
    """Turns ftgate's decisions into OPA decision-log events and hands them to one sink."""

    def __init__(self, sink: DecisionSink, *, instance: str) -> None:
        self.sink = sink
        self.labels = {"id": instance, "app": "ftgate", "version": version("ftgate")}

    def stored(self, row: dict[str, Any]) -> None:
        """Log a stored decision (`snapshot` of its row)."""
        self._send(
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
        return self._unstored(actor=actor, decision=decision, input=input, labels={"dry_run": "true"})

    def repeated(self, *, actor: str, decision: Decision, input: dict[str, Any], repeat_of: str) -> str:
        """Log a denial that repeats the stored decision `repeat_of` (counted, not stored again); returns
        the fresh id it is logged under."""
        return self._unstored(actor=actor, decision=decision, input=input, labels={"repeat_of": repeat_of})

    def close(self, timeout: float = CLOSE_TIMEOUT_S) -> None:
        """Deliver what the sink still holds, within `timeout` seconds (the server's shutdown)."""
        self.sink.close(timeout)

    def _unstored(
        self, *, actor: str, decision: Decision, input: dict[str, Any], labels: dict[str, str]
    ) -> str:
        decision_id = new_id("dec")
        self._send(
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
            labels=labels,
        )
        return decision_id

    def _send(
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
        labels: dict[str, str] | None = None,
    ) -> None:
        when = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
        self.sink.send(
            {
                "decision_id": decision_id,
                "path": f"{entrypoint.replace('.', '/')}/decision",
                "input": input,
                "result": result,
                "bundles": {"ftgate": {"revision": bundle_sha256}},
                "timestamp": when.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                "labels": {**self.labels, "engine": engine, **(labels or {})},
                "metrics": {"timer_rego_query_eval_ns": int(ms * 1_000_000)},
                "requested_by": actor,
            }
        )


_LOGS: weakref.WeakKeyDictionary[Engine, DecisionLog] = weakref.WeakKeyDictionary()


def attach(engine: Engine, decision_log: DecisionLog) -> None:
    """Log the decisions stored through `engine`'s sessions to `decision_log` when they commit."""
    _LOGS[engine] = decision_log


def _log_of(session: OrmSession) -> DecisionLog | None:
    try:
        bind = session.get_bind()
    except Exception:  # an unbound session stores nothing of ours
        return None
    engine = bind.engine if hasattr(bind, "engine") else bind
    return _LOGS.get(engine)  # type: ignore[arg-type]


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
    if rows and _log_of(session) is not None:
        session.info.setdefault(_PENDING, []).extend(rows)


@event.listens_for(OrmSession, "after_commit")
def _log_committed(session: OrmSession) -> None:
    rows = session.info.pop(_PENDING, None)
    if not rows:
        return
    decision_log = _log_of(session)
    if decision_log is None:
        return
    for row in rows:
        decision_log.stored(row)


@event.listens_for(OrmSession, "after_rollback")
def _forget_rolled_back(session: OrmSession) -> None:
    session.info.pop(_PENDING, None)
