"""One settings class, `FTGATE_` prefix, validated at start."""

from __future__ import annotations

import importlib.util
import ipaddress
from functools import cached_property
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, PrivateAttr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

REPO_ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER_SECRET = "changethis"
MIN_SECRET_BYTES = 32  # a 256-bit HMAC key
ADAPTER_KEY_FILE = "adapter-signing-key.pem"
# Asymmetric JWS algorithms only: with HMAC the provider's public key would be the secret.
OIDC_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")


def is_loopback(host: str | None) -> bool:
    """Whether a URL's host is this machine (`localhost` or a loopback address): the one place where a
    secret may travel over plain http."""
    if host == "localhost":
        return True
    try:
        return host is not None and ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def shipped_policies() -> Path:
    """The policy bundle this ftgate ships: the package `ftgate_policies` (the repository's `policies/`)."""
    # find_spec locates it without importing it (nothing is written beside the policies).
    spec = importlib.util.find_spec("ftgate_policies")
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return REPO_ROOT / "policies"  # a checkout whose editable install predates the package


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
    _policy_dir_given: bool = PrivateAttr(default=False)

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
    policy_dir: Path = Field(
        default=Path(),
        description="Rego policies and their data (the redaction config too). Unset: the home's own copy"
        " (`policies/` under home, which `ftgate init` makes from the shipped bundle for compliance to"
        " own), or the shipped bundle itself where the home has none.",
    )
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
    token_days: float = Field(
        default=90.0,
        gt=0,
        le=3650,
        description="How long a new token works (days) unless `--expires-days` says otherwise; rotate it"
        " before then (`ftgate tokens rotate`). Tokens from before tokens had an end never expire.",
    )
    log_level: str = "WARNING"
    decision_log: Path | None = Field(
        default=None,
        description="File every policy decision is appended to in OPA's decision-log format (one JSON line"
        " each), whatever the log level; unset means decisions.jsonl under home.",
    )
    decision_log_url: str | None = Field(
        default=None,
        description="Send decisions to this OPA decision-log service instead of the file: batches POSTed"
        " as gzip-compressed JSON arrays to <url>/logs, OPA's upload API, by a background thread (a slow"
        " or absent service never holds up a request). http or https.",
    )
    decision_log_token_file: Path | None = Field(
        default=None,
        description="File holding the bearer token the decision-log service expects (with an https"
        " `decision_log_url`, or http to localhost).",
    )
    decision_log_upload_interval: float = Field(
        default=5.0,
        ge=0.1,
        le=600,
        description="Seconds between uploads to the decision-log service; a failed upload is retried"
        " sooner, with backoff.",
    )
    decision_log_upload_size_limit_bytes: int = Field(
        default=32768,
        ge=1024,
        le=64 << 20,
        description="Largest compressed body of one upload (OPA's upload_size_limit_bytes, default"
        " 32768); more events are sent in more uploads, and an event that alone exceeds it is dropped.",
    )
    decision_log_buffer_size_limit_bytes: int = Field(
        default=64 << 20,
        ge=64 << 10,
        le=4 << 30,
        description="Most bytes of events held for the decision-log service while it is slow or down (OPA's"
        " buffer_size_limit_bytes); past it the oldest are dropped, counted in a warning.",
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
    lookup_slots: int = Field(
        default=4,
        ge=1,
        le=64,
        description="API lookups (lists, shows, events) the server works on at once; more wait their turn"
        " (gateway/api/request_slots.py). Python runs one thread at a time: a few at once are quickest.",
    )
    work_slots: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Other API requests (changes, uploads, downloads, exports) worked on at once, beside"
        " the lookups; more wait their turn. One: each competes with the lookups for the interpreter, and"
        " on SQLite changes take turns at the single writer anyway. With PostgreSQL and spare cores, more.",
    )
    max_waiting_requests: int = Field(
        default=1000,
        ge=1,
        le=100_000,
        description="Requests of one kind that may wait for a slot; the next is answered 503 with"
        " Retry-After rather than queued.",
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

    signer_url: str | None = Field(
        default=None,
        max_length=2048,
        description="A signer process (`ftgate signer serve`) that holds the log's and the adapter-signing"
        " private keys, so they need not live beside the database (https; http only on loopback). Unset:"
        " key files under home.",
    )
    signer_token_file: Path | None = Field(
        default=None, description="The file holding the signer process's bearer token."
    )

    oidc_issuer: str | None = Field(
        default=None,
        max_length=512,
        description="Single sign-on: the OpenID provider whose ID tokens (JWTs) are accepted as bearer"
        " tokens, exactly as their `iss` claim says it. Unset: only ftgate's own tokens are.",
    )
    oidc_audience: str | None = Field(
        default=None, max_length=512, description="The `aud` an ID token must carry: ftgate's client id."
    )
    oidc_jwks_url: str | None = Field(
        default=None,
        max_length=2048,
        description="Where the provider publishes its signing keys (JWKS, https; http only on loopback);"
        " refetched when a token names a key not seen yet (key rotation), at most every"
        " `oidc_jwks_min_refresh_seconds`.",
    )
    oidc_jwks_file: Path | None = Field(
        default=None, description="The provider's signing keys as a JWKS file, instead of a URL."
    )
    oidc_algorithms: list[str] = Field(
        default=["RS256", "ES256"],
        description="Signature algorithms accepted (asymmetric only: RS*, PS*, ES*, EdDSA); `none` and"
        " the HMAC algorithms never are.",
    )
    oidc_leeway_seconds: int = Field(
        default=60, ge=0, le=300, description="Clock skew allowed on `exp`, `nbf` and `iat`."
    )
    oidc_jwks_min_refresh_seconds: int = Field(
        default=30, ge=1, le=3600, description="Fewest seconds between two fetches of the JWKS."
    )
    oidc_name_claim: str = Field(
        default="preferred_username", description="The claim that names the ftgate user."
    )
    oidc_role_claim: str = Field(
        default="ftgate_role",
        description="The claim that gives the role: a string, or a list (such as `groups`) mapped through"
        " `oidc_role_map`.",
    )
    oidc_role_map: dict[str, str] = Field(
        default={},
        description='Claim values to ftgate roles, e.g. {"ml-engineers": "submitter"}; empty: the'
        " claim must name the role itself.",
    )
    oidc_team_claim: str = Field(default="ftgate_team", description="The claim that gives the team.")
    oidc_default_team: str | None = Field(
        default=None, description="The team of a user whose token has no team claim; unset: refused."
    )

    oidc_authorization_endpoint: str | None = Field(
        default=None,
        max_length=2048,
        description="The console's sign-in through the provider: its authorization endpoint (with"
        " `oidc_token_endpoint`; the authorization code flow with PKCE). Unset: the console takes tokens.",
    )
    oidc_token_endpoint: str | None = Field(
        default=None, max_length=2048, description="The provider's token endpoint, for the console's sign-in."
    )
    oidc_client_id: str | None = Field(
        default=None, max_length=512, description="ftgate's client id at the provider; default: the audience."
    )
    oidc_client_secret_file: Path | None = Field(
        default=None,
        description="A file holding the client secret, for a confidential client; unset: a public client"
        " (PKCE alone).",
    )
    oidc_redirect_uri: str | None = Field(
        default=None,
        max_length=2048,
        description="Where the provider sends the browser back (`.../ui/sso/callback`), as registered with"
        " it; default: derived from the request (set it behind a proxy).",
    )
    oidc_scopes: str = Field(
        default="openid profile", max_length=512, description="Scopes the console asks for."
    )
    oidc_provider_name: str = Field(
        default="single sign-on", max_length=64, description="The provider's name on the sign-in button."
    )

    @model_validator(mode="after")
    def _policies(self) -> Settings:
        self._policy_dir_given = "policy_dir" in self.model_fields_set
        if not self._policy_dir_given:
            own = self.home / "policies"
            self.policy_dir = own if own.is_dir() else shipped_policies()
        return self

    @property
    def policy_dir_given(self) -> bool:
        """Whether FTGATE_POLICY_DIR (or the caller) named the policy directory, rather than the default."""
        return self._policy_dir_given

    @model_validator(mode="after")
    def _complete_signer(self) -> Settings:
        """A signer process needs its URL and its token, and the token never crosses a network in clear."""
        if (self.signer_url is None) != (self.signer_token_file is None):
            raise ValueError("a signer process needs both FTGATE_SIGNER_URL and FTGATE_SIGNER_TOKEN_FILE")
        if self.signer_url is not None:
            parts = urlsplit(self.signer_url)
            loopback = is_loopback(parts.hostname)
            if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
                raise ValueError("FTGATE_SIGNER_URL must be https:// (http:// only on loopback)")
        return self

    @model_validator(mode="after")
    def _complete_sso(self) -> Settings:
        """Single sign-on is configured completely or not at all, and never with a weak algorithm."""
        named = [
            self.oidc_issuer,
            self.oidc_audience,
            self.oidc_jwks_url,
            self.oidc_jwks_file,
            self.oidc_authorization_endpoint,
            self.oidc_token_endpoint,
        ]
        if not any(named):
            return self
        if not self.oidc_issuer or not self.oidc_audience:
            raise ValueError("single sign-on needs both FTGATE_OIDC_ISSUER and FTGATE_OIDC_AUDIENCE")
        if (self.oidc_jwks_url is None) == (self.oidc_jwks_file is None):
            raise ValueError("single sign-on needs one of FTGATE_OIDC_JWKS_URL and FTGATE_OIDC_JWKS_FILE")
        if (self.oidc_authorization_endpoint is None) != (self.oidc_token_endpoint is None):
            raise ValueError(
                "the console's sign-in needs both FTGATE_OIDC_AUTHORIZATION_ENDPOINT and"
                " FTGATE_OIDC_TOKEN_ENDPOINT"
            )
        weak = sorted(set(self.oidc_algorithms) - set(OIDC_ALGORITHMS))
        if weak or not self.oidc_algorithms:
            raise ValueError(
                f"FTGATE_OIDC_ALGORITHMS may name only {', '.join(OIDC_ALGORITHMS)}"
                f" (refused: {', '.join(weak) or 'an empty list'})"
            )
        return self

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
    def sso(self) -> bool:
        return self.oidc_issuer is not None

    @field_validator("decision_log_url")
    @classmethod
    def _decision_log_url(cls, url: str | None) -> str | None:
        """An http(s) URL with a host and nothing a POST to <url>/logs would lose or leak."""
        if url is None:
            return None
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number
        except ValueError as exc:
            raise ValueError(f"FTGATE_DECISION_LOG_URL is not a URL: {exc}") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            # The value is not repeated: a malformed URL may still hold a password.
            raise ValueError("FTGATE_DECISION_LOG_URL must be an http:// or https:// URL with a host")
        if parts.query or parts.fragment or parts.username or parts.password:
            # A token belongs in FTGATE_DECISION_LOG_TOKEN_FILE, not in a URL that ends up in logs.
            raise ValueError(
                f"FTGATE_DECISION_LOG_URL must be scheme://host[:port][/path], without credentials, query"
                f" or fragment (got {parts.scheme}://{parts.hostname}...)"
            )
        return url

    @model_validator(mode="after")
    def _one_decision_log_sink(self) -> Settings:
        """The file and the service are two sinks; asking for both would leave one silently unused."""
        if self.decision_log_url and self.decision_log is not None:
            raise ValueError(
                "set FTGATE_DECISION_LOG (a file) or FTGATE_DECISION_LOG_URL (a service), not both"
            )
        if self.decision_log_token_file is not None and not self.decision_log_url:
            raise ValueError("FTGATE_DECISION_LOG_TOKEN_FILE is set without FTGATE_DECISION_LOG_URL")
        if self.decision_log_token_file is not None and self.decision_log_url:
            parts = urlsplit(self.decision_log_url)
            # A bearer token in clear text is anyone's on the way; a collector on this host is not.
            if parts.scheme == "http" and not is_loopback(parts.hostname):
                raise ValueError(
                    "FTGATE_DECISION_LOG_TOKEN_FILE needs an https:// FTGATE_DECISION_LOG_URL (http only to"
                    " localhost): the token would cross the network in clear text"
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
    def base_cache_dir(self) -> Path:
        """De-quantised GGUF base weights, one verified entry per base (`trainer.basecache`)."""
        return self.home / "cache" / "base-models"

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
