"""One settings class, `FTGATE_` prefix, validated at start."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER_SECRET = "changethis"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FTGATE_", extra="ignore")

    home: Path = Field(default=Path(".ftgate"), description="Where ftgate keeps its state.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default is the SQLite file under home."
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
    log_level: str = "WARNING"
    scan_workers: int | None = Field(
        default=None,
        ge=0,
        description="Worker processes that analyse an upload's strings for the scanner"
        " (gateway/redaction/parallel.py); unset means one per CPU, 0 analyses in the serving process."
        " Workers start on the first large upload (seconds: each loads the spaCy model).",
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

    @model_validator(mode="after")
    def _refuse_placeholder_secret(self) -> Settings:
        if self.mode != "local" and self.pseudonym_key in (None, "", PLACEHOLDER_SECRET):
            raise ValueError("FTGATE_PSEUDONYM_KEY must be set to a real secret outside local mode")
        return self

    @cached_property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.home / 'ftgate.db').resolve()}"

    @property
    def blob_dir(self) -> Path:
        return self.home / "blobs"

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
    def signing_key_path(self) -> Path:
        return self.home / "log-signing-key.pem"
