"""Registering the adapter a job trained, reading adapters back, and the only two ways one leaves the
gateway: release and download.

Release and download ask `ftgate.release` with facts read from the verified audit log (never from
the mutable tables alone): the lineage from data to weights, the approval of the data trained on as
it stands now, and whether the files still match their registered digests and signature. Every
decision is stored; a refusal is logged too, so an attempt to ship a quarantined adapter is visible.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from audit import log as audit_log
from audit.adapter_signing import SIGNATURE_FILE, AdapterSignatureError, signature_file
from audit.canonical import canonical_json, sha256_hex
from audit.history import adapters_trained_on, entry_time
from audit.models import AuditEntry
from audit.signing import sign
from ftgate_core.files import file_sha256, removed_on_failure
from gateway.contract import PAGE_DEFAULT, ResourceId, invalid, require
from gateway.errors import Conflict, IntegrityError, NotFound, PolicyDenied
from gateway.leases import LeaseLost
from gateway.models import Adapter, Job, JobEvent, JobStatus, PolicyDecisionRecord, Role, User
from gateway.policy.engine import Decision
from gateway.runtime import Runtime
from gateway.services.authz import authorize
from gateway.services.authz import permits as authz_permits
from gateway.services.catalog import get_model
from gateway.services.decisions import reasons_text, record_decision, refuse
from gateway.services.free_text import checked_note
from gateway.services.lineage import check_signature, seal_adapter, verified_entries
from gateway.store.pages import Listed, page

RELEASE_POLICY = "ftgate.release"
# An adapter's life: registered by the worker, released by an approver, quarantined by a revocation.
ADAPTER_STATUSES = ("registered", "released", "quarantined")
_CHUNK = 1 << 20


def list_adapters(
    *,
    rt: Runtime,
    session: Session,
    actor: User,
    status: str | None = None,
    limit: int = PAGE_DEFAULT,
    after: str | None = None,
) -> Listed[Adapter]:
    """The adapters `actor` may see (a submitter: their team's), oldest first, those in `status` only
    (registered, released, quarantined)."""
    authorize(rt=rt, session=session, actor=actor, action="adapters.list", resource_type="adapter")
    query = select(Adapter)
    if actor.role == Role.submitter:
        query = query.where(col(Adapter.team) == actor.team)
    if status is not None:
        if status not in ADAPTER_STATUSES:
            raise invalid("status", "enum", f"one of {', '.join(ADAPTER_STATUSES)}")
        query = query.where(col(Adapter.status) == status)
    return page(session, query, Adapter, limit=limit, after=after)


def get_adapter(*, rt: Runtime, session: Session, actor: User, adapter_id: str) -> Adapter:
    adapter = session.get(Adapter, require(ResourceId, adapter_id, "adapter_id"))
    if adapter is None:
        raise NotFound(f"no adapter {adapter_id!r}")
    authorize(
        rt=rt,
        session=session,
        actor=actor,
        action="adapters.read",
        resource_type="adapter",
        team=adapter.team,
    )
    return adapter


def verify_adapter(*, rt: Runtime, session: Session, actor: User, adapter_id: str) -> dict[str, Any]:
    """Check the adapter's files against the model-signing signature recorded in the verified log."""
    adapter = get_adapter(rt=rt, session=session, actor=actor, adapter_id=adapter_id)
    return check_signature(rt=rt, entries=verified_entries(session), adapter=adapter)


@dataclass(frozen=True)
class ReleaseOutcome:
    """What a release or download did: the adapter, the decision that allowed it, and (download) where."""

    adapter: Adapter
    decision: Decision
    decision_id: str
    files: dict[str, str]
    path: Path | None = None

    def summary(self, status: str) -> dict[str, Any]:
        result: dict[str, Any] = {
            "id": self.adapter.id,
            "status": status,
            "adapter_status": self.adapter.status,
            "decision_id": self.decision_id,
            "bundle_sha256": self.decision.bundle_sha256,
            "files": self.files,
        }
        if self.path is not None:
            result["path"] = str(self.path)
        return result


class _Log:
    """The verified entries indexed by (action, subject); the last entry wins, as in the lineage export."""

    def __init__(self, entries: Iterable[AuditEntry]) -> None:
        self.entries = list(entries)
        self.by_key: dict[tuple[str, str], list[AuditEntry]] = {}
        for entry in self.entries:
            self.by_key.setdefault((entry.action, entry.subject), []).append(entry)

    def all(self, action: str, subject: str | None) -> list[AuditEntry]:
        return self.by_key.get((action, subject), []) if subject is not None else []

    def last(self, action: str, subject: str | None) -> dict[str, Any] | None:
        found = self.all(action, subject)
        return json.loads(found[-1].payload) if found else None


def _file_problems(root: Path, files: dict[str, str]) -> list[str]:
    """Each way the directory differs from the registered digests: changed, missing or added files."""
    if not root.is_dir():
        return [f"the adapter directory {root} is missing"]
    problems = []
    for name, digest in sorted(files.items()):
        path = root / name
        if not path.resolve().is_relative_to(root.resolve()):
            problems.append(f"{name} lies outside the adapter directory")
        elif not path.is_file():
            problems.append(f"{name} is missing")
        elif (actual := file_sha256(path)) != digest:
            problems.append(f"{name} changed (registered sha256 {digest[:12]}, now {actual[:12]})")
    present = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() or p.is_symlink()}
    # model.sig is the signature's copy, not a file of the adapter; what counts is the logged bundle.
    problems += [f"{name} was added" for name in sorted(present - set(files) - {SIGNATURE_FILE})]
    return problems


def _age_days(entry: AuditEntry, now: datetime) -> float:
    # The age, not a timestamp: the stored input then replays to the same decision.
    return round((now - entry_time(entry)).total_seconds() / 86400, 3)


def release_input(
    *, rt: Runtime, entries: list[AuditEntry], adapter: Adapter, actor: User, action: str
) -> dict[str, Any]:
    """The facts `ftgate.release` decides on, read from the verified log `entries` and the adapter's files."""
    log = _Log(entries)
    now = datetime.now(UTC)
    registered = log.last("adapter.registered", adapter.id)
    # The table names where to look; every fact below is then taken from the log.
    job_id = registered["job_id"] if registered else adapter.job_id
    dataset_id = registered["dataset_id"] if registered else adapter.dataset_id
    submitted = log.last("job.submitted", job_id)
    checked = log.last("job.verified", job_id)
    uploaded = log.last("dataset.uploaded", dataset_id) or {}
    decided = log.last("policy.decided", submitted["decision_id"]) if submitted else None
    training_decision = None
    if decided is not None and decided.get("entrypoint") == "ftgate.training":
        training_decision = {
            "decision_id": decided["decision_id"],
            "allow": decided["allow"],
            "bundle_sha256": decided["bundle_sha256"],
        }
    submitter = log.all("job.submitted", job_id)[-1].actor if submitted else None
    history = {row["id"]: row for row in adapters_trained_on(log.entries, dataset_id)}
    status = history[adapter.id]["status"] if adapter.id in history else adapter.status

    files = registered["files"] if registered else {}
    file_problems = (
        _file_problems(Path(adapter.path), files) if registered else ["the log registers no files"]
    )
    try:
        check_signature(rt=rt, entries=log.entries, adapter=adapter)
        signature_problem = None
    except (NotFound, AdapterSignatureError) as exc:
        signature_problem = getattr(exc, "message", str(exc))

    reviews = sorted(
        log.all("dataset.approved", dataset_id) + log.all("dataset.rejected", dataset_id), key=lambda e: e.seq
    )
    approvals = []
    for entry in reviews:
        p = json.loads(entry.payload)
        approvals.append(
            {
                "approver": p["approver"],
                "verdict": p["verdict"],
                "redacted_sha256": p["redacted_sha256"],
                "age_days": _age_days(entry, now),
            }
        )
    return {
        "action": action,
        "subject": {"name": actor.name, "role": actor.role.value, "team": actor.team},
        "adapter": {
            "id": adapter.id,
            "status": status,
            "files_match": not file_problems,
            "files_problem": "; ".join(file_problems) or None,
            "signature_verified": signature_problem is None,
            "signature_problem": signature_problem,
        },
        "lineage": {
            "dataset_uploaded": bool(uploaded),
            "dataset_scanned": isinstance(uploaded.get("scan"), dict) and bool(uploaded["scan"]),
            "job_submitted": submitted is not None,
            "job_verified": checked is not None,
            "adapter_registered": registered is not None,
            "adapter_signed": bool(log.all("adapter.signed", adapter.id)),
            "training_decision": training_decision,
            "submitter": submitter,
            "trained_on_sha256": checked["redacted_sha256"] if checked else None,
        },
        "dataset": {
            "id": dataset_id,
            "name": uploaded.get("name", dataset_id),
            "uploader": uploaded.get("uploader"),
            "classification": uploaded.get("classification"),
            "redacted_sha256": uploaded.get("redacted_sha256"),
            "revoked": bool(log.all("dataset.revoked", dataset_id)),
        },
        "approvals": approvals,
    }


def _authorized(*, rt: Runtime, session: Session, actor: User, adapter_id: str, action: str) -> Adapter:
    """The adapter, once `ftgate.authz` lets `actor` do `action` on it; its owner is the job's submitter."""
    adapter = session.get(Adapter, require(ResourceId, adapter_id, "adapter_id"))
    if adapter is None:
        raise NotFound(f"no adapter {adapter_id!r}")
    authorize(rt=rt, session=session, actor=actor, action=action, **_resource(session, adapter))
    return adapter


def permits(*, rt: Runtime, session: Session, actor: User, adapter: Adapter, action: str) -> Decision:
    """What `ftgate.authz` would say of `actor` doing `action` on the adapter, asked ahead and stored
    nowhere (a page's button); the action asks again."""
    return authz_permits(rt=rt, actor=actor, action=action, **_resource(session, adapter))


def _resource(session: Session, adapter: Adapter) -> dict[str, Any]:
    """The adapter as the authz policy sees it: its team, and its owner, the job's submitter."""
    job = session.get(Job, adapter.job_id)
    return {"resource_type": "adapter", "team": adapter.team, "owner": job.submitter if job else None}


def _decide(
    *, rt: Runtime, session: Session, actor: User, adapter: Adapter, action: str
) -> tuple[Decision, str, dict[str, Any], _Log]:
    """Ask `ftgate.release` and store the decision; a refusal is recorded with `adapter.<action>_refused`
    and raised as PolicyDenied (`decisions.refuse`).

    Returns the decision, its stored id, the input and the verified log it was built from.
    """
    log = _Log(verified_entries(session))
    policy_input = release_input(rt=rt, entries=log.entries, adapter=adapter, actor=actor, action=action)
    decision = rt.policy.decide(RELEASE_POLICY, policy_input)
    if not decision.allow:
        actor_name, adapter_id = actor.name, adapter.id

        def refused(row: PolicyDecisionRecord) -> None:
            audit_log.append(
                session,
                actor=actor_name,
                action=f"adapter.{action}_refused",
                subject=adapter_id,
                payload={
                    "adapter_id": adapter_id,
                    "decision_id": row.id,
                    "bundle_sha256": decision.bundle_sha256,
                    "reasons": row.reasons,
                },
            )

        refuse(
            session=session,
            actor=actor_name,
            decision=decision,
            input=policy_input,
            also=refused,
            error=lambda row: PolicyDenied(
                f"{action} of adapter {adapter_id} denied: " + reasons_text(row.reasons),
                details={
                    "decision_id": row.id,
                    "reasons": row.reasons,
                    "bundle_sha256": decision.bundle_sha256,
                },
            ),
        )
    row = record_decision(session=session, actor=actor.name, decision=decision, input=policy_input)
    return decision, row.id, policy_input, log


def release_adapter(
    *, rt: Runtime, session: Session, actor: User, adapter_id: str, note: str
) -> ReleaseOutcome:
    """Mark an adapter released: an approver who neither submitted its job nor uploaded its data signs it
    off, and only while its lineage is complete and its data's approval still stands.
    """
    adapter = _authorized(
        rt=rt, session=session, actor=actor, adapter_id=adapter_id, action="adapters.release"
    )
    note = checked_note(rt=rt, note=note)
    decision, decision_id, policy_input, _ = _decide(
        rt=rt, session=session, actor=actor, adapter=adapter, action="release"
    )
    adapter.status = "released"
    session.add(adapter)
    audit_log.append(
        session,
        actor=actor.name,
        action="adapter.released",
        subject=adapter.id,
        payload={
            "adapter_id": adapter.id,
            "job_id": adapter.job_id,
            "dataset_id": policy_input["dataset"]["id"],
            "manifest_sha256": adapter.manifest_sha256,
            "decision_id": decision_id,
            "bundle_sha256": decision.bundle_sha256,
            "note": note,
            "approver": actor.name,
        },
    )
    return ReleaseOutcome(adapter=adapter, decision=decision, decision_id=decision_id, files=adapter.files)


def _copy_verified(src: Path, files: dict[str, str], dest: Path, extra: dict[str, bytes]) -> None:
    """Copy the registered files into dest, hashing the bytes as they are written, with the `extra`
    files (name -> bytes) beside them.

    What lands in dest is exactly what was hashed, so a file swapped after the policy check is caught.
    The copy goes to a hidden sibling first and is renamed into place whole; on any error it is removed.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent))
    with removed_on_failure(staging):
        for name, digest in sorted(files.items()):
            target = staging / name
            target.parent.mkdir(parents=True, exist_ok=True)
            h = hashlib.sha256()
            with (src / name).open("rb") as fin, target.open("wb") as fout:
                while chunk := fin.read(_CHUNK):
                    h.update(chunk)
                    fout.write(chunk)
            if h.hexdigest() != digest:
                raise IntegrityError(
                    f"adapter file {name} changed while it was copied: "
                    f"expected {digest}, computed {h.hexdigest()}"
                )
        for name, content in extra.items():
            (staging / name).write_bytes(content)
        os.replace(staging, dest)  # an empty existing dest is replaced; a non-empty one was refused


def download_adapter(
    *, rt: Runtime, session: Session, actor: User, adapter_id: str, dest: Path
) -> ReleaseOutcome:
    """Copy a released adapter's files into dest (a new or empty directory), after the release policy
    re-checks it and the files are re-hashed against the digests and signature in the log.
    """
    adapter = _authorized(
        rt=rt, session=session, actor=actor, adapter_id=adapter_id, action="adapters.download"
    )
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise Conflict(f"{dest} already exists and is not an empty directory; choose a new one")
    decision, decision_id, _, log = _decide(
        rt=rt, session=session, actor=actor, adapter=adapter, action="download"
    )
    registered = log.last("adapter.registered", adapter.id)
    if registered is None:  # the policy denies a lineage without it; never copy unregistered files
        raise IntegrityError(f"the audit log registers no files for adapter {adapter.id}")
    files = dict(registered["files"])
    signed = log.last("adapter.signed", adapter.id)
    # The signature as the log holds it, for `model_signing verify` on the folder as downloaded.
    extra = {SIGNATURE_FILE: signature_file(signed["bundle"])} if signed is not None else {}
    _copy_verified(Path(adapter.path), files, dest, extra)
    audit_log.append(
        session,
        actor=actor.name,
        action="adapter.downloaded",
        subject=adapter.id,
        payload={
            "adapter_id": adapter.id,
            "decision_id": decision_id,
            "bundle_sha256": decision.bundle_sha256,
            "manifest_sha256": adapter.manifest_sha256,
            "files": files,
            "by": actor.name,
        },
    )
    return ReleaseOutcome(
        adapter=adapter, decision=decision, decision_id=decision_id, files=files, path=dest.resolve()
    )


def register_adapter(
    *,
    rt: Runtime,
    job_id: str,
    owner: str,
    adapter_id: str,
    out_dir: Path,
    files: dict[str, str],
    metrics: dict[str, Any],
    versions: dict[str, Any],
) -> Job:
    """Register the adapter a job trained (now in `out_dir`, its files' digests `files`) and end the job
    as succeeded; returns the job.

    The adapter row with its manifest and its signature, the job's end, `adapter.registered`,
    `job.succeeded` and the model-signing signature (`adapter.signed`, and a quarantine if its dataset
    was revoked while it trained) commit together. Raises `LeaseLost`, registering nothing, if the job
    is no longer `owner`'s.
    """
    with rt.session() as session:
        # Row lock: a worker that reclaimed the job cannot slip in between this check and the commit.
        job = session.exec(select(Job).where(col(Job.id) == job_id).with_for_update()).one()
        if job.lease_owner != owner or job.status != JobStatus.running:
            raise LeaseLost(f"job {job_id}: lease lost before the adapter was registered")
        entry = get_model(session=session, name=job.base_model)
        manifest = {
            "adapter_id": adapter_id,
            "job_id": job_id,
            "dataset_id": job.dataset_id,
            "redacted_sha256": job.approved_sha256,
            "base_model": entry.name,
            "base_weights_sha256": entry.weights_sha256,
            "files": files,
        }
        manifest_bytes = canonical_json(manifest)
        adapter = Adapter(
            id=adapter_id,
            job_id=job_id,
            dataset_id=job.dataset_id,
            team=job.team,
            base_model=entry.name,
            path=str(out_dir.resolve()),
            files=files,
            manifest_sha256=sha256_hex(manifest_bytes),
            signature=sign(rt.signing_key, manifest_bytes),
            metrics=metrics,
        )
        session.add(adapter)
        job.status, job.adapter_id, job.finished_at = JobStatus.succeeded, adapter_id, datetime.now(UTC)
        job.lease_owner = None
        session.add(job)
        session.add(JobEvent(job_id=job_id, kind="succeeded", data={"adapter_id": adapter_id}))
        audit_log.append(
            session,
            actor=owner,
            action="adapter.registered",
            subject=adapter_id,
            payload={
                **manifest,
                "manifest_sha256": adapter.manifest_sha256,
                "signature": adapter.signature,
                "config": job.config,
                "metrics": metrics,
                "versions": versions,
            },
        )
        audit_log.append(
            session,
            actor=owner,
            action="job.succeeded",
            subject=job_id,
            payload={"job_id": job_id, "adapter_id": adapter_id},
        )
        # model-signing signature over the adapter directory (and a quarantine if its dataset was
        # revoked during training), logged in the same transaction.
        seal_adapter(rt=rt, session=session, actor=owner, adapter_id=adapter_id, out_dir=out_dir)
    return job
