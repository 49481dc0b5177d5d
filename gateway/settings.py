"""One settings class, `FTGATE_` prefix, validated at start."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

REPO_ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER_SECRET = "changethis"
MIN_SECRET_BYTES = 32  # a 256-bit HMAC key
ADAPTER_KEY_FILE = "adapter-signing-key.pem"


class WitnessEndpoint(BaseModel):
    """One witness the gateway submits checkpoints to (c2sp.org/tlog-witness)."""

    vkey: str = Field(description="Its cosignature/v1 verifier key (`ftgate witness key`).")
    url: str = Field(description="Its submission prefix: add-checkpoint is POSTed to <url>/add-checkpoint.")

    @field_validator("vkey")
    @classmethod
    def _parse_vkey(cls, vkey: str) -> str:
        from audit.checkpoint import NoteError
        from audit.witness import CosignatureVerifier

        try:
            return CosignatureVerifier.parse(vkey).encode()
        except NoteError as exc:
            raise ValueError(f"FTGATE_WITNESSES: {exc}") from exc

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")) or any(c.isspace() for c in url):
            raise ValueError(f"FTGATE_WITNESSES: a witness url must be http:// or https://, not {url!r}")
        return url.rstrip("/")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FTGATE_", extra="ignore")

    home: Path = Field(default=Path(".ftgate"), description="Where ftgate keeps its state.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default is the SQLite file under home."
    )
    migration_database_url: str | None = Field(
        default=None,
        description="PostgreSQL: the URL of the role that owns the schema. `init` and `db upgrade` make"
        " and change the tables as it, then grant the role of `database_url` (the gateway's and the"
        " workers') what it needs: reads and writes on ftgate's tables, and only SELECT and INSERT on the"
        " audit log's. Unset: they run as `database_url`'s role.",
    )
    policy_dir: Path = Field(default=REPO_ROOT / "policies", description="Rego policies and their data.")
    opa_url: str | None = Field(
        default=None, description="Use this OPA server instead of the embedded engine."
    )
    mode: Literal["local", "production"] = "local"
    pseudonym_key: str | None = Field(
        default=None,
        description="Secret for the HMAC behind redaction placeholders; in local mode `init` writes one"
        " under home, in production it must be set.",
    )
    session_key: str | None = Field(
        default=None,
        description="Secret that signs the console's session cookies and CSRF tokens; unset, a random one"
        " is kept under home (set it to the same value on every gateway behind one address).",
    )
    session_hours: float = Field(
        default=8.0, gt=0, le=168, description="How long a console sign-in lasts before signing in again."
    )
    log_level: str = "WARNING"
    decision_log: Path | None = Field(
        default=None,
        description="File every policy decision is appended to in OPA's decision-log format (one JSON line"
        " each), whatever the log level; unset means decisions.jsonl under home.",
    )
    scan_workers: int | None = Field(
        default=None,
        ge=0,
        description="Worker processes that analyse an upload's strings for the scanner"
        " (gateway/redaction/parallel.py); unset means one per CPU. 0 analyses in the calling process"
        " (the CLI); `ftgate serve` needs at least one, since it never analyses text itself. Workers"
        " start on the first large upload, or when the server starts (seconds: each loads the models).",
    )
    max_scans_per_user: int = Field(
        default=2,
        ge=1,
        description="Uploads one user may have being scanned at once in one server; the next is refused"
        " with 429 and Retry-After, so one user's burst cannot take every scan worker from the others.",
    )
    scan_budget_seconds: float = Field(
        default=20.0,
        gt=0,
        description="Longest time one string of an upload may take to analyse; a record holding a string"
        " that takes longer is refused with its number. Every pattern runs in linear time and strings are"
        " bounded in length, so this is a backstop, not a tuning knob.",
    )
    max_string_chars: int = Field(
        default=100_000,
        ge=1,
        description="Longest string (in characters; dict keys too) one record of an upload may hold. A longer"
        " one refuses the upload with its line, record and field, before anything is analysed or stored:"
        " what redaction costs grows with the string.",
    )
    max_record_bytes: int = Field(
        default=1 << 20,
        ge=1,
        le=64 << 20,
        description="Largest record (one JSONL line, in bytes, at most 64 MiB) an upload may hold; a larger"
        " one refuses the upload with its line and record, before it is even parsed.",
    )
    max_upload_bytes: int = Field(
        default=1 << 30,
        ge=1,
        description="Largest upload body (bytes, the multipart form whole) `POST /v1/datasets` accepts; a"
        " larger one is refused with 413 as soon as its Content-Length says so, or once that many bytes"
        " have arrived, before anything is stored.",
    )
    max_request_bytes: int = Field(
        default=1 << 20,
        ge=1,
        description="Largest body any other request may carry (bytes): JSON bodies are small (a note is"
        " at most 4,000 characters), and one is parsed whole before it is validated.",
    )
    rate_limit_per_minute: int = Field(
        default=600,
        ge=0,
        description="Requests per minute one token (or one address without a token) may make over HTTP,"
        " sustained; past it the API answers 429 with Retry-After. 0 turns the limit off.",
    )
    rate_limit_burst: int = Field(
        default=60,
        ge=1,
        description="Requests one token may make at once before the per-minute rate applies.",
    )
    max_record_depth: int = Field(
        default=64,
        ge=1,
        le=512,
        description="Deepest nesting of objects and lists in one record; a deeper one refuses the upload"
        " with its line, record and field, before it is parsed (JSON parsing and the record walk recurse).",
    )
    train_processes: int | None = Field(
        default=None,
        ge=1,
        description="Processes that train one job, data-parallel under torchrun (one per GPU, the batch"
        " size per process); unset means one per CUDA GPU of the host, or one (in the worker's own"
        " process) without a GPU. Set it to force the launched path, e.g. 2 on a CPU host (gloo).",
    )
    gpu_effective_tflops: float = Field(
        default=400.0,
        gt=0,
        description="Sustained training throughput of one of the fleet's GPUs in TFLOP/s, used to turn a"
        " job's FLOPs into the GPU-hours that team budgets count (default: an H100/H200 at about 40% of its"
        " 989 dense bf16 TFLOP/s).",
    )

    witnesses: list[WitnessEndpoint] = Field(
        default_factory=list,
        description="Witnesses that cosign the log's checkpoints, as JSON: a list of"
        ' {"vkey": "<name>+<id>+<key>", "url": "http://host:port"}. Set, the server submits a checkpoint to'
        " each after writes and every `witness_interval_seconds`, and `audit verify` requires that the log"
        " extends the checkpoints `witness_quorum` of them cosigned.",
    )
    witness_quorum: int | None = Field(
        default=None,
        ge=1,
        description="How many of the witnesses must have cosigned a checkpoint the log extends for"
        " `audit verify` to pass; unset means all of them.",
    )
    witness_timeout_seconds: float = Field(
        default=5.0, gt=0, le=60, description="Longest wait for one witness's answer."
    )
    witness_interval_seconds: float = Field(
        default=60.0,
        gt=0,
        description="How often a serving gateway submits the current checkpoint to its witnesses (it also"
        " submits a few seconds after each write).",
    )

    @model_validator(mode="after")
    def _check_witnesses(self) -> Settings:
        names = [w.vkey.split("+", 1)[0] for w in self.witnesses]
        if len(set(names)) != len(names):
            raise ValueError("FTGATE_WITNESSES names a witness twice")
        if self.witness_quorum is not None and self.witness_quorum > len(self.witnesses):
            raise ValueError(
                f"FTGATE_WITNESS_QUORUM is {self.witness_quorum} but only {len(self.witnesses)} witness(es)"
                " are configured in FTGATE_WITNESSES"
            )
        return self

    @property
    def quorum(self) -> int:
        """Cosignatures `audit verify` requires: `witness_quorum`, or every configured witness."""
        return self.witness_quorum if self.witness_quorum is not None else len(self.witnesses)

    @model_validator(mode="after")
    def _refuse_weak_production(self) -> Settings:
        """Production refuses what is fine on a laptop: a placeholder or short pseudonym key (the HMAC
        behind every placeholder and surrogate: guessable, and the pseudonyms are reversible by trying
        values), and the embedded SQLite database (one writer, on the gateway's own disk)."""
        if self.mode == "local":
            return self
        if self.pseudonym_key in (None, "", PLACEHOLDER_SECRET):
            raise ValueError("FTGATE_PSEUDONYM_KEY must be set to a real secret outside local mode")
        assert self.pseudonym_key is not None
        if len(self.pseudonym_key.encode()) < MIN_SECRET_BYTES:
            raise ValueError(
                f"FTGATE_PSEUDONYM_KEY must be at least {MIN_SECRET_BYTES} bytes in production "
                "(for example: python -c 'import secrets; print(secrets.token_hex(32))')"
            )
        if self.database_url is None or self.database_url.startswith("sqlite"):
            raise ValueError("production needs FTGATE_DATABASE_URL set to PostgreSQL, not the SQLite file")
        return self

    @cached_property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.db_path.resolve()}"

    @property
    def app_role(self) -> str | None:
        """The gateway's PostgreSQL role when the schema has an owner of its own (`migration_database_url`
        names another role): the role `init` and `db upgrade` grant to. None otherwise."""
        if not self.migration_database_url or not self.database_url:
            return None
        app, owner = make_url(self.database_url), make_url(self.migration_database_url)
        if app.get_backend_name() != "postgresql" or app.username == owner.username:
            return None
        return app.username

    @property
    def db_path(self) -> Path:
        """The embedded SQLite database (used when no `database_url` is set)."""
        return self.home / "ftgate.db"

    @property
    def blob_dir(self) -> Path:
        return self.home / "blobs"

    @property
    def incoming_dir(self) -> Path:
        return self.home / "incoming"

    @property
    def adapter_dir(self) -> Path:
        return self.home / "adapters"

    @property
    def bundle_archive_dir(self) -> Path:
        return self.home / "policy-bundles"

    @property
    def pseudonym_key_path(self) -> Path:
        return self.home / "pseudonym.key"

    @property
    def session_key_path(self) -> Path:
        return self.home / "session.key"

    @property
    def decision_log_path(self) -> Path:
        return self.decision_log or self.home / "decisions.jsonl"

    @property
    def adapter_key_path(self) -> Path:
        """The P-256 key ftgate signs adapters with (model-signing supports only NIST curves)."""
        return self.home / ADAPTER_KEY_FILE

    @property
    def signing_key_path(self) -> Path:
        return self.home / "log-signing-key.pem"
