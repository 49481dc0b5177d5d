"""What a running gateway holds: settings, the database engine, and lazily built heavy parts.

The CLI and the API each build one `Runtime` and hand it to the same service functions. The scanner
and policy engine are built on first use because loading spaCy costs seconds that `jobs list` should
not pay.
"""

from __future__ import annotations

import secrets
import socket
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlmodel import Session

from audit.signer import KeyFileSigner, ProcessSigner, Signer
from ftgate_core.files import create_private
from gateway.db import make_engine, session_scope
from gateway.errors import ConfigError
from gateway.settings import Settings
from gateway.slots import PerUserSlots
from gateway.store.batches import BatchedRows
from gateway.store.blobs import BlobStore

if TYPE_CHECKING:
    from gateway.oidc import OidcValidator
    from gateway.policy.archive import ArchivingPolicy
    from gateway.policy.decision_log import DecisionLog
    from gateway.redaction.scanner import Scanner


class Runtime:
    def __init__(self, settings: Settings, *, serving: bool = False) -> None:
        """`serving`: this process answers HTTP, so it never analyses text itself (`scanner`)."""
        self.settings = settings
        self.serving = serving
        self._schema_checked = False

    @cached_property
    def engine(self) -> Engine:
        from gateway.policy import decision_log

        engine = make_engine(self.settings.db_url)
        # Each decision stored through it is logged in OPA's format when its transaction commits.
        decision_log.attach(engine, self.decision_log)
        return engine

    @cached_property
    def decision_log(self) -> DecisionLog:
        """Where every decision goes in OPA's format: the file, or OPA's upload API (`make_sink`), whose
        uploader thread this runtime owns and `close` stops."""
        from gateway.policy.decision_log import DecisionLog, make_sink

        # OPA names an instance by id; here the host and the home it serves.
        instance = f"{socket.gethostname()}:{self.settings.home}"
        return DecisionLog(make_sink(self.settings), instance=instance)

    @cached_property
    def oidc(self) -> OidcValidator | None:
        """The single sign-on validator when an OpenID provider is configured (FTGATE_OIDC_*)."""
        if not self.settings.sso:
            return None
        from gateway.oidc import OidcValidator

        return OidcValidator(self.settings)

    @cached_property
    def migration_engine(self) -> Engine:
        """The schema owner's connection (`migration_database_url`), or the gateway's own without one."""
        url = self.settings.migration_database_url
        return make_engine(url) if url else self.engine

    def upgrade_schema(self) -> dict[str, str | None]:
        """Bring the database to this ftgate's schema as its owner, then grant the gateway's role its share
        (`migrations.grant_app_role`); returns the revisions before and after."""
        from gateway import migrations  # Alembic: only where the schema is made or checked

        moved = migrations.upgrade(self.migration_engine)
        if (role := self.settings.app_role) is not None:
            migrations.grant_app_role(self.migration_engine, role)
        return moved

    @contextmanager
    def session(self) -> Iterator[Session]:
        with session_scope(self.engine) as session:
            yield session

    @cached_property
    def read_decisions(self) -> BatchedRows:
        """Where the decisions that allowed metadata reads are written: in batches off the request path
        when serving HTTP, so reads never wait for the database's writer; with the command otherwise."""
        return BatchedRows(self.session, buffered=self.serving)

    def close(self) -> None:
        """Write what is still buffered (the server's shutdown): the read decisions, then the decision
        log's events, their own among them, within a short timeout."""
        if "read_decisions" in self.__dict__:
            self.read_decisions.close()
        if "decision_log" in self.__dict__:
            self.decision_log.close()

    @cached_property
    def scan_slots(self) -> PerUserSlots:
        """How many uploads each user may have being scanned at once (`max_scans_per_user`)."""
        return PerUserSlots(
            limit=self.settings.max_scans_per_user, what="uploads being scanned", retry_after=10
        )

    @cached_property
    def blobs(self) -> BlobStore:
        return BlobStore(self.settings.blob_dir)

    @cached_property
    def incoming(self) -> BlobStore:
        """Uploads received and not yet scanned, by the SHA-256 of their bytes; removed when the scan ends."""
        return BlobStore(self.settings.incoming_dir)

    @cached_property
    def policy(self) -> ArchivingPolicy:
        """The configured policy engine; every bundle that decides something is archived for replay."""
        from gateway.policy.archive import ArchivingPolicy, BundleArchive
        from gateway.policy.backends import make_engine as make_policy_engine

        archive = BundleArchive(self.settings.bundle_archive_dir)
        return ArchivingPolicy(make_policy_engine(self.settings), archive)

    @cached_property
    def scanner(self) -> Scanner:
        """The scanner for the redaction config in the policy bundle, owned by compliance.

        Large inputs are analysed in worker processes, which start on the first one (each loads the
        spaCy models). A serving process sends every input to them, however small: one long string
        analysed in the process that answers HTTP would hold up every other request.
        """
        from gateway.redaction.config import load_config
        from gateway.redaction.parallel import shared_pool
        from gateway.redaction.scanner import Scanner

        config = load_config(self.settings.policy_dir)
        workers = self.settings.scan_workers
        budget = self.settings.scan_budget_seconds
        # A chunk of an upload takes seconds to analyse; a worker silent for ten minutes has hung.
        timeout = 600.0
        if self.serving:
            # Uploads are scanned by scan worker processes (`gateway.scan_worker`); what the server
            # itself checks is short text bound for the log (names, notes): one analysis process.
            pool = shared_pool(
                config=config, workers=1, min_units=1, start_units=1, timeout=timeout, budget=budget
            )
            return Scanner(pseudonym_key=self.pseudonym_key, config=config, pool=pool, in_process=False)
        local_pool = (
            shared_pool(config=config, workers=workers, timeout=timeout, budget=budget)
            if workers != 0
            else None
        )
        return Scanner(pseudonym_key=self.pseudonym_key, config=config, pool=local_pool, budget=budget)

    @cached_property
    def pseudonym_key(self) -> bytes:
        if self.settings.pseudonym_key:
            return self.settings.pseudonym_key.encode()
        path = self.settings.pseudonym_key_path
        if not path.exists():
            raise ConfigError(f"no pseudonym key at {path}: run `ftgate init` or set FTGATE_PSEUDONYM_KEY")
        return path.read_bytes().strip()

    @cached_property
    def session_key(self) -> bytes:
        """The console's cookie-signing secret: the setting, else a random one kept under home (made
        on first use, readable by its owner only; every process of this home reads the same file)."""
        if self.settings.session_key:
            return self.settings.session_key.encode()
        path = self.settings.session_key_path
        if not path.exists():
            with suppress(FileExistsError):  # another process made it first: its key is read below
                create_private(path, secrets.token_hex(32).encode("ascii"))
        key = path.read_bytes().strip()
        if len(key) < 32:
            raise ConfigError(f"the session key at {path} is too short; remove it and restart")
        return key

    @cached_property
    def signing_key(self) -> Signer:
        """The log's key (Ed25519): a file under the home, or the signer process (FTGATE_SIGNER_URL)."""
        if self.settings.signer_url is not None:
            return self._signer_process("log")
        path = self.settings.signing_key_path
        if not path.exists():
            raise ConfigError(f"no log signing key at {path}: run `ftgate init` first")
        return KeyFileSigner(path)

    @cached_property
    def adapter_signer(self) -> Signer:
        """The adapter-signing key (P-256): a file under the home, made when the first adapter is signed,
        or the signer process (FTGATE_SIGNER_URL)."""
        if self.settings.signer_url is not None:
            return self._signer_process("adapter")
        from audit.adapter_signing import ensure_key

        return KeyFileSigner(self.settings.adapter_key_path, make=ensure_key)

    def _signer_process(self, key: str) -> Signer:
        token_file = self.settings.signer_token_file
        assert self.settings.signer_url is not None and token_file is not None  # settings checked both
        try:
            token = token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            why = exc.strerror or exc
            raise ConfigError(f"cannot read FTGATE_SIGNER_TOKEN_FILE {token_file}: {why}") from None
        return ProcessSigner(self.settings.signer_url, key, token)

    def require_initialised(self) -> None:
        """An initialised home whose database has this ftgate's schema (else `ConfigError` saying which
        command to run)."""
        if self.settings.signer_url is None and not self.settings.signing_key_path.exists():
            raise ConfigError(f"ftgate home {self.settings.home} is not initialised: run `ftgate init`")
        if not self._schema_checked:
            from gateway import migrations

            migrations.require_current(self.engine)
            if self.settings.mode == "production":
                self._require_private_keys()
                problems = migrations.privilege_problems(self.engine)
                if problems:
                    raise ConfigError(
                        "production refuses a database role that could rewrite the audit log: "
                        + "; ".join(problems)
                        + ". Connect as the gateway's own role (FTGATE_DATABASE_URL) and run `ftgate db "
                        "upgrade` with FTGATE_MIGRATION_DATABASE_URL set to the owner's, which grants it"
                    )
            self._schema_checked = True

    def _require_private_keys(self) -> None:
        """Production: refuse key files that anyone but their owner may read or change."""
        settings = self.settings
        for path in (settings.signing_key_path, settings.pseudonym_key_path, settings.adapter_key_path):
            if path.exists() and path.stat().st_mode & 0o077:
                mode = oct(path.stat().st_mode & 0o777)
                raise ConfigError(f"{path} is readable by others (mode {mode}): chmod 600 it, then try again")
