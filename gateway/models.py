"""SQLModel tables and the public shapes the API and CLI return.

Families follow the FastAPI template: `XBase` (shared fields), `X(table=True)`, `XPublic`, and list
wrappers `{data, count}`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, model_validator
from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


class Role(StrEnum):
    submitter = "submitter"
    approver = "approver"
    auditor = "auditor"
    admin = "admin"
    worker = "worker"  # claims and runs approved jobs, nothing else


class DatasetStatus(StrEnum):
    scanning = "scanning"  # received and on disk; a scan worker is redacting it
    refused = "refused"  # the scan finished and the admission policy said no (`error` says why)
    failed = "failed"  # the scan could not finish (`error` says why); nothing of it is kept
    pending_review = "pending_review"
    approved = "approved"
    rejected = "rejected"
    revoked = "revoked"


class Verdict(StrEnum):
    approved = "approved"
    rejected = "rejected"


class JobStatus(StrEnum):
    pending_review = "pending_review"
    rejected = "rejected"
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    data: list[T]
    count: int = Field(description="Rows in this page.")
    next: str | None = Field(
        default=None, description="Pass as `after` for the next page; null on the last (or only) page."
    )


# --- users -------------------------------------------------------------------------------------------


class UserBase(SQLModel):
    name: str = Field(index=True, unique=True, min_length=1, max_length=64)
    role: Role
    team: str = Field(default="default", min_length=1, max_length=64)


class User(UserBase, table=True):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("issuer", "subject", name="uq_users_issuer_subject"),)
    id: str = Field(default_factory=lambda: new_id("usr"), primary_key=True)
    created_at: datetime = Field(default_factory=utcnow)
    disabled_at: datetime | None = Field(
        default=None, description="Set while the user is disabled: every token and sign-in is refused."
    )
    issuer: str | None = Field(
        default=None,
        max_length=512,
        description="The OpenID provider that signs this user in; null for local users.",
    )
    subject: str | None = Field(
        default=None, max_length=255, description="The user's `sub` at that provider."
    )


class UserPublic(UserBase):
    id: str
    created_at: datetime
    disabled_at: datetime | None = None
    issuer: str | None = None
    status: str = "active"

    @model_validator(mode="after")
    def _status(self) -> UserPublic:
        self.status = "disabled" if self.disabled_at is not None else "active"
        return self


class UserCreated(UserPublic):
    token: str = Field(description="Shown once; only its hash is kept.")
    token_id: str = Field(description="The token's id, for `tokens revoke`.")
    expires_at: datetime | None = Field(description="When the token stops working; null: never.")


class ApiToken(SQLModel, table=True):
    """A bearer token of a user: only its hash is kept. It works until it expires or is revoked, and
    only while its user is not disabled."""

    __tablename__ = "tokens"
    id: str = Field(default_factory=lambda: new_id("tok"), primary_key=True)
    user_id: str = Field(foreign_key="users.id", index=True)
    token_sha256: str = Field(unique=True, description="SHA-256 of the token; the token is never stored.")
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime | None = Field(default=None, description="Null: it never expires.")
    revoked_at: datetime | None = None
    revoked_by: str | None = Field(default=None, max_length=64)


class TokenPublic(BaseModel):
    id: str
    user: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None
    status: str = Field(description="active, expired or revoked")


class TokenIssued(BaseModel):
    id: str
    user: str
    token: str = Field(description="Shown once; only its hash is kept.")
    expires_at: datetime | None
    revoked: list[str] = Field(default_factory=list, description="Tokens this one replaced, now revoked.")
    status: str = "issued"


# --- base models -------------------------------------------------------------------------------------


class BaseModelEntryBase(SQLModel):
    name: str = Field(primary_key=True)
    path: str = Field(description="Local Hugging Face directory holding the weights.")
    gguf_file: str | None = Field(default=None, description="GGUF weights file inside path, if any.")
    weights_sha256: str
    parameters: int = Field(
        description="Weights in the model, read from its file headers; the job cost estimate scales with it."
    )
    upstream: str | None = Field(
        default=None,
        max_length=200,
        description="The model's Hugging Face id (e.g. HuggingFaceTB/SmolLM2-135M-Instruct): adapters name it"
        " as their base in adapter_config.json, so peft and transformers load them outside ftgate.",
    )


class BaseModelEntry(BaseModelEntryBase, table=True):
    __tablename__ = "base_models"
    created_at: datetime = Field(default_factory=utcnow)


class BaseModelPublic(BaseModelEntryBase):
    created_at: datetime
    status: str = "registered"


# --- datasets ----------------------------------------------------------------------------------------


# Data the organisation owns or licensed for this use; the default of `datasets upload`.
DEFAULT_LICENCE = "LicenseRef-internal"


class DatasetBase(SQLModel):
    name: str = Field(min_length=1, max_length=200)
    purpose: str
    classification: str
    licence: str = Field(
        default=DEFAULT_LICENCE,
        description="SPDX licence id of the data (LicenseRef-internal: the organisation's own data).",
    )


class Dataset(DatasetBase, table=True):
    __tablename__ = "datasets"
    id: str = Field(default_factory=lambda: new_id("ds"), primary_key=True)
    team: str
    uploader: str
    status: DatasetStatus = DatasetStatus.scanning
    format: str = Field(description="chat or prompt_completion")
    records: int = Field(description="Records received; once scanned, records kept.")
    raw_sha256: str = Field(description="SHA-256 of the uploaded bytes, which are not kept beyond the scan.")
    # Known once the scan has finished and the dataset was admitted:
    redacted_sha256: str | None = Field(
        default=None, index=True, description="SHA-256 of the stored redacted JSONL."
    )
    redacted_bytes: int | None = None
    scan_report: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    decision_id: str | None = Field(default=None, description="The admission decision of ftgate.dataset.")
    error: dict[str, Any] | None = Field(
        default=None,
        sa_column=Column(JSON, nullable=True),
        description="Why the dataset was refused or failed: code, message and details (never a value).",
    )
    # Which scan worker holds the scan, until when, and how many times a scan was started.
    lease_owner: str | None = None
    lease_expires: datetime | None = None
    scan_attempts: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    scanned_at: datetime | None = None


class DatasetPublic(DatasetBase):
    id: str
    team: str
    uploader: str
    status: DatasetStatus
    format: str
    records: int
    raw_sha256: str
    redacted_sha256: str | None
    redacted_bytes: int | None
    scan_report: dict[str, Any] | None
    decision_id: str | None
    error: dict[str, Any] | None = None
    created_at: datetime
    scanned_at: datetime | None = None


class DatasetEvent(SQLModel, table=True):
    """A step of a dataset's scan: received, started, progress per pass, and how it ended."""

    __tablename__ = "dataset_events"
    id: int | None = Field(default=None, primary_key=True)
    dataset_id: str = Field(foreign_key="datasets.id", index=True)
    time: datetime = Field(default_factory=utcnow)
    kind: str
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


class DatasetEventPublic(SQLModel):
    id: int
    time: datetime
    kind: str
    data: dict[str, Any]


class Approval(SQLModel, table=True):
    __tablename__ = "approvals"
    id: str = Field(default_factory=lambda: new_id("apr"), primary_key=True)
    dataset_id: str = Field(foreign_key="datasets.id", index=True)
    approver: str
    verdict: Verdict
    note: str
    redacted_sha256: str = Field(description="The content hash this verdict is bound to.")
    created_at: datetime = Field(default_factory=utcnow)


class EarlierRejection(SQLModel):
    """A rejection of the same content in another dataset: the same bytes were turned down before."""

    dataset_id: str
    approver: str
    note: str
    created_at: datetime


class ApprovalPublic(SQLModel):
    id: str
    dataset_id: str
    approver: str
    verdict: Verdict
    note: str
    redacted_sha256: str
    created_at: datetime
    status: str = ""
    dataset_status: str = Field(default="", description="The dataset's status after this review.")
    waiting_for: str | None = Field(
        default=None, description='While more approvals are needed: how many ("1 of 2 approvals ...").'
    )
    rejected_before: list[EarlierRejection] = Field(
        default_factory=list,
        description="When approving: rejections of the same content in other datasets, for the record.",
    )


class DatasetDetail(DatasetPublic):
    reviews: list[ApprovalPublic]
    rejected_before: list[EarlierRejection] = Field(
        default_factory=list,
        description="Rejections of the same content (raw or redacted) in other datasets you may see.",
    )


class DatasetRevocation(SQLModel, table=True):
    """A dataset withdrawn after approval: no further training, and its adapters are quarantined.

    A table of its own (rather than a new DatasetStatus value) so existing databases, including a
    PostgreSQL enum type, need no migration; the training policy sees the dataset as "revoked".
    """

    __tablename__ = "dataset_revocations"
    id: str = Field(default_factory=lambda: new_id("rev"), primary_key=True)
    dataset_id: str = Field(foreign_key="datasets.id", index=True, unique=True)
    revoked_by: str
    note: str
    adapters: list[str] = Field(sa_column=Column(JSON, nullable=False), description="Adapters quarantined.")
    created_at: datetime = Field(default_factory=utcnow)


# --- policy decisions --------------------------------------------------------------------------------


class PolicyDecisionRecord(SQLModel, table=True):
    __tablename__ = "policy_decisions"
    id: str = Field(default_factory=lambda: new_id("dec"), primary_key=True)
    entrypoint: str
    actor: str
    input: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    allow: bool
    reasons: list[dict[str, str]] = Field(sa_column=Column(JSON, nullable=False))
    warnings: list[dict[str, str]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    review: list[dict[str, str]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    bundle_sha256: str
    engine: str
    ms: float
    created_at: datetime = Field(default_factory=utcnow)


class DenialTally(SQLModel, table=True):
    """Identical denials within one minute: the first is a decision and a log entry, the rest a count.

    `key` is the SHA-256 of what makes two denials the same (actor, entrypoint, the whole policy input,
    the reasons, the bundle); `decision_id` is the first one's stored decision, which stands for them all.
    When the window has passed, one `policy.denials_repeated` log entry carries the count of the repeats
    (`gateway/services/authz.py`), and the tally is closed.
    """

    __tablename__ = "denial_tallies"
    __table_args__ = (UniqueConstraint("key", "window_start"),)
    id: str = Field(default_factory=lambda: new_id("dnt"), primary_key=True)
    key: str = Field(index=True, max_length=64)
    actor: str
    action: str
    decision_id: str = Field(foreign_key="policy_decisions.id")
    window_start: datetime
    repeats: int = 0
    last_at: datetime = Field(default_factory=utcnow)
    closed: bool = Field(default=False, index=True)


class ReasonPublic(BaseModel):
    """Why a policy said no (or warned, or asked for review): a stable code and what to do."""

    code: str = Field(description="A stable UPPER_SNAKE code.")
    message: str


class DecisionPublic(BaseModel):
    """A policy answer and what made it (the shape of `gateway.policy.engine.Decision`)."""

    entrypoint: str = Field(description='Rego package asked, e.g. "ftgate.training".')
    allow: bool
    reasons: list[ReasonPublic] = Field(description="Why not; empty when allowed.")
    warnings: list[ReasonPublic] = Field(
        description="The request goes through; these are recorded and shown."
    )
    review: list[ReasonPublic] = Field(
        description="The request waits until someone other than the requester signs it off."
    )
    bundle_sha256: str = Field(description="SHA-256 of the policy bundle that made the decision.")
    engine: str = Field(description='Backend name, e.g. "regorus".')
    ms: float = Field(description="Wall-clock time of the evaluation in milliseconds.")


class RecordedDecisionPublic(BaseModel):
    """A stored decision as it was made."""

    allow: bool
    reasons: list[ReasonPublic]
    bundle_sha256: str
    engine: str


class ReplayedDecisionPublic(DecisionPublic):
    same: bool = Field(description="Whether this answer is the recorded one (allow and reasons).")


class DecisionReplayPublic(BaseModel):
    """A stored decision re-evaluated with the bundle that made it and with today's bundle."""

    id: str = Field(description="The decision replayed.")
    status: Literal["reproduced", "not_reproduced"] = Field(
        description="reproduced: the archived bundle gives the recorded answer again."
    )
    entrypoint: str
    decided_at: datetime
    recorded: RecordedDecisionPublic
    replayed: ReplayedDecisionPublic = Field(description="What the bundle that decided says now.")
    today: ReplayedDecisionPublic = Field(description="What today's bundle says about the same input.")


class DatasetCheckPublic(BaseModel):
    """Would today's admission policy still admit the dataset? Nothing is stored."""

    id: str
    status: Literal["admissible", "not_admissible"]
    decision: DecisionPublic = Field(description="Today's `ftgate.dataset` decision on the upload's facts.")
    admitted_with_bundle: str = Field(description="The policy bundle that admitted the upload.")


class PolicyFilePublic(BaseModel):
    path: str = Field(description="Relative to the policy directory.")
    sha256: str


class PolicyBundlePublic(BaseModel):
    """The policy bundle now in the policy directory: its hash and every file with its digest."""

    id: str = Field(description="The bundle's SHA-256 (as `sha256`).")
    status: str = Field(description="loaded")
    policy_dir: str
    opa_manifest: Literal["current", "stale", "missing"] = Field(
        description="OPA's `.manifest` in the directory: current, stale (written for other files) or missing."
    )
    sha256: str = Field(description="SHA-256 of the sha256sum-style listing of the files.")
    files: list[PolicyFilePublic]


# --- jobs --------------------------------------------------------------------------------------------


class Job(SQLModel, table=True):
    __tablename__ = "jobs"
    id: str = Field(default_factory=lambda: new_id("job"), primary_key=True)
    dataset_id: str = Field(foreign_key="datasets.id", index=True)
    submitter: str
    team: str
    base_model: str
    config: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    status: JobStatus = Field(default=JobStatus.queued, index=True)
    decision_id: str
    approved_sha256: str = Field(description="The redacted hash the decision allowed training on.")
    lease_owner: str | None = None
    lease_expires: datetime | None = None
    error: str | None = None
    adapter_id: str | None = None
    reviewed_by: str | None = Field(
        default=None, description="The approver who signed off a job held for review."
    )
    created_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    attempts: int = Field(default=0, description="Times a worker has claimed the job.")
    heartbeat_at: datetime | None = Field(default=None, description="When the lease was last renewed.")
    cancel_requested_by: str | None = Field(
        default=None, description="Who asked to stop the job while it was running."
    )
    estimated_gpu_hours: float = Field(
        default=0.0,
        description="The cost estimate the policy admitted the job with; counts against the team's budget.",
    )


class JobPublic(SQLModel):
    id: str
    dataset_id: str
    submitter: str
    team: str
    base_model: str
    config: dict[str, Any]
    status: JobStatus
    decision_id: str
    approved_sha256: str
    error: str | None
    adapter_id: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    attempts: int = 0
    reviewed_by: str | None = None
    lease_owner: str | None = None
    lease_expires: datetime | None = None
    cancel_requested_by: str | None = None
    estimated_gpu_hours: float = 0.0


class JobEvent(SQLModel, table=True):
    __tablename__ = "job_events"
    id: int | None = Field(default=None, primary_key=True)
    job_id: str = Field(foreign_key="jobs.id", index=True)
    time: datetime = Field(default_factory=utcnow)
    kind: str
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


class JobEventPublic(SQLModel):
    time: datetime
    kind: str
    data: dict[str, Any]


class JobDecisionPublic(DecisionPublic):
    id: str | None = Field(description="The stored decision; null for a dry run, which stores none.")


class TeamUsagePublic(BaseModel):
    month: str = Field(description="The calendar month (UTC), YYYY-MM.")
    gpu_hours: float = Field(description="GPU-hours the team's jobs admitted this month have committed.")


class TeamBudgetPublic(BaseModel):
    gpu_hours_per_month: int | float
    remaining: int | float = Field(description="What is left of it before this job.")
    month: str


class CostEstimatePublic(BaseModel):
    """What the job is expected to cost, as the training decision saw it (gateway/services/costs.py)."""

    tokens: int = Field(description="Planned training tokens.")
    parameters: int | None = Field(description="The base model's weights; null if it is not registered.")
    flops: float | None = Field(description="Null when the model size is unknown.")
    gpu_hours: float | None = Field(description="Null when the model size is unknown.")
    gpu_effective_tflops: float
    team_usage: TeamUsagePublic
    team_budget: TeamBudgetPublic | None = Field(
        description="The team's monthly budget, where the policy names one; null otherwise."
    )


class JobSubmittedPublic(JobPublic):
    """A job just created, with the decision that admitted it and its cost estimate."""

    decision: JobDecisionPublic
    estimate: CostEstimatePublic


class DryRunPublic(BaseModel):
    """A dry run: what the training policy would decide; no job and no stored decision."""

    id: None = Field(description="Always null: no job is created.")
    status: Literal["allowed", "denied"]
    dry_run: bool = Field(description="Always true.")
    decision: JobDecisionPublic
    estimate: CostEstimatePublic


# --- adapters ----------------------------------------------------------------------------------------


class Adapter(SQLModel, table=True):
    __tablename__ = "adapters"
    id: str = Field(default_factory=lambda: new_id("ad"), primary_key=True)
    job_id: str = Field(foreign_key="jobs.id", index=True)
    dataset_id: str = Field(foreign_key="datasets.id", index=True)
    team: str
    base_model: str
    path: str
    files: dict[str, str] = Field(sa_column=Column(JSON, nullable=False), description="file -> sha256")
    manifest_sha256: str
    signature: str = Field(description="Ed25519 signature of the manifest by the log key.")
    metrics: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    status: str = "registered"
    created_at: datetime = Field(default_factory=utcnow)


class AdapterPublic(SQLModel):
    id: str
    job_id: str
    dataset_id: str
    team: str
    base_model: str
    path: str
    files: dict[str, str]
    manifest_sha256: str
    signature: str
    metrics: dict[str, Any]
    status: str
    created_at: datetime


class ReleasePublic(BaseModel):
    """What a release did: the adapter, the decision that allowed it, and the files it covers."""

    id: str
    status: str = Field(description="released")
    adapter_status: str
    decision_id: str
    bundle_sha256: str = Field(description="The policy bundle that decided.")
    files: dict[str, str] = Field(description="File name -> SHA-256, as registered.")


class AdapterVerificationPublic(BaseModel):
    """An adapter's files checked against the model-signing signature in the verified log."""

    id: str
    status: str = Field(description="verified")
    files: int = Field(description="How many files the signature covers.")
    signed_at: str
    signature_log_seq: int = Field(description="The `adapter.signed` entry's place in the log.")
    library: str
    public_key_sha256: str


class RevocationPublic(BaseModel):
    """A revocation: the dataset is withdrawn and every adapter trained on it quarantined."""

    id: str
    status: str = Field(description="revoked")
    revocation_id: str
    revoked_by: str
    note: str
    quarantined: list[str] = Field(description="The adapters quarantined by it.")


class AdapterHistoryPublic(BaseModel):
    """An adapter as the audit log tells it: registered, then perhaps signed, released, quarantined."""

    id: str
    dataset_id: str
    job_id: str
    base_model: str
    status: str
    since: str = Field(description="When it took this status (the log entry's time).")
    signed: bool


class DatasetHistoryPublic(BaseModel):
    """A dataset as the audit log tells it at a moment."""

    id: str
    name: str
    team: str
    status: str
    since: str = Field(description="When it took this status (the log entry's time).")


class AdapterHistoriesPublic(BaseModel):
    data: list[AdapterHistoryPublic]
    count: int


class LogStatePublic(BaseModel):
    """Which datasets and adapters had which status at a moment, read from the verified log."""

    at: str
    log_entries_considered: int
    datasets: list[DatasetHistoryPublic]
    adapters: list[AdapterHistoryPublic]


class ProofEntryPublic(BaseModel):
    """A log entry in a proof bundle: its fields, its exact bytes and its inclusion proof."""

    seq: int = Field(description="Position in the log, from 1.")
    time: str
    actor: str
    action: str
    subject: str
    payload: dict[str, Any] = Field(description="The entry's payload, an open JSON object per action.")
    prev_hash: str
    entry_hash: str = Field(description="SHA-256 of `leaf`.")
    format: int = Field(description="Leaf format: 1, or 2 (RFC 8785 bytes of the other fields).")
    leaf: str = Field(description="The entry's exact hashed bytes, base64.")
    inclusion_proof: list[str] = Field(
        description="RFC 9162 inclusion proof into the checkpoint's tree, base64 hashes."
    )


class ProofBundlePublic(BaseModel):
    """Chosen log entries with inclusion proofs and a signed checkpoint, checkable offline
    (`ftgate audit verify-bundle`; the format is in audit/README.md)."""

    format: str = Field(description="ftgate.proof-bundle/v2")
    subject: str = Field(description='What the bundle is about, e.g. "adapter:ad_...".')
    origin: str = Field(description="The log's checkpoint origin line.")
    tree_size: int
    root_hash: str = Field(description="The checkpoint's tree root, base64.")
    checkpoint: str = Field(description="The signed C2SP checkpoint note.")
    verifier_key: str = Field(description="The log's verifier key (Go note format); pin the published one.")
    public_key: str = Field(description="Its Ed25519 public key, base64.")
    entries: list[ProofEntryPublic]


class WitnessFindingPublic(BaseModel):
    """What a kept cosignature of one witness says about the log; keys are present as they apply."""

    witness: str
    tree_size: int | None = Field(default=None, description="The size the witness cosigned (absent: none).")
    root_hash: str | None = Field(default=None, description="Hex root of the tree it cosigned.")
    cosigned_at: int | None = Field(default=None, description="The cosignature's time, POSIX seconds.")
    status: str = Field(description="extended, none (nothing cosigned yet) or failed")
    seq: int | None = Field(default=None, description="Where the log departs from it (failures).")
    detail: str | None = Field(default=None, description="Why it failed.")


class WitnessCheckPublic(BaseModel):
    """The log against what the configured witnesses cosigned."""

    quorum: int = Field(description="Cosignatures the log must extend (FTGATE_WITNESS_QUORUM).")
    cosigned: int = Field(description="Witnesses whose latest cosigned checkpoint the log extends.")
    witnesses: list[WitnessFindingPublic]


class LogVerificationPublic(BaseModel):
    """The log verified: its chain and tree recomputed, the head signed. Keys after `public_key` are
    present only as they apply."""

    id: str = Field(description="log")
    status: str = Field(description="verified")
    entries: int
    head_hash: str = Field(description="The last entry's hash.")
    root_hash: str = Field(description="Hex RFC 9162 root over every entry.")
    signed_head: str = Field(description="The log key's signature over the head, base64.")
    public_key: str = Field(description="The log's Ed25519 public key, base64.")
    extends_checkpoint: int | None = Field(
        default=None, description="With a checkpoint given: its tree size, which the log extends."
    )
    consistency_proof: list[str] | None = Field(
        default=None, description="With a checkpoint given: the RFC 9162 consistency proof from it, hex."
    )
    witnessed: WitnessCheckPublic | None = Field(default=None, description="Where witnesses are configured.")


class CheckpointPublic(BaseModel):
    """A signed C2SP checkpoint of the verified log, for a witness (or you) to keep."""

    id: str = Field(description="log")
    status: str = Field(description="checkpointed")
    origin: str
    tree_size: int
    root_hash: str = Field(description="Hex.")
    verifier_key: str = Field(description="The log's verifier key (Go note format).")
    checkpoint: str = Field(description="The signed note (c2sp.org/tlog-checkpoint).")


class WitnessSubmissionPublic(BaseModel):
    """What one witness said about one checkpoint."""

    witness: str
    status: str = Field(description="cosigned, refused or unreachable")
    tree_size: int
    detail: str


class WitnessSubmissionsPublic(BaseModel):
    data: list[WitnessSubmissionPublic]
    count: int
    quorum: int = Field(description="Cosignatures `audit verify` requires (FTGATE_WITNESS_QUORUM).")


class WitnessedCheckpointPublic(BaseModel):
    """The largest checkpoint the witnesses cosigned, with the log's signature and theirs in one note."""

    id: str = Field(description="log")
    origin: str
    tree_size: int
    root_hash: str = Field(description="Hex.")
    witnesses: list[str] = Field(description="The witnesses whose cosignatures the note carries.")
    checkpoint: str = Field(description="The note (c2sp.org/tlog-cosignature).")


class WitnessCosignature(SQLModel, table=True):
    """A checkpoint of the log a witness cosigned (c2sp.org/tlog-cosignature), kept for `audit verify`.

    `note` is the checkpoint signed by the log's key followed by the witness's cosignature line, so a
    row proves itself: verify re-checks both signatures and never trusts the other columns alone.
    """

    __tablename__ = "witness_cosignatures"
    id: int | None = Field(default=None, primary_key=True)
    witness: str = Field(index=True, description="The witness's name, as in its verifier key.")
    tree_size: int
    root_hash: str = Field(description="Hex SHA-256 root of the tree the witness cosigned.")
    note: str = Field(sa_type=Text, description="The checkpoint note with the log's and the witness's lines.")
    cosigned_at: int = Field(description="The cosignature's timestamp: POSIX seconds, the witness's clock.")


# --- meta --------------------------------------------------------------------------------------------


class HealthPublic(BaseModel):
    status: str = Field(description="ok: the server answers.")
