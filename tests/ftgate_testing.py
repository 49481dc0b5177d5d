"""Helpers for driving ftgate as its users do, shared by the integration tests."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from typer.testing import CliRunner

from gateway.cli.main import app
from gateway.runtime import Runtime
from gateway.settings import REPO_ROOT, Settings

EXAMPLE = REPO_ROOT / "examples" / "support_chats.jsonl"
PG_SERVER = os.environ.get("FTGATE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def pg_admin_connection() -> psycopg.Connection:
    """A connection to the test server; skips the test when there is none, unless CI requires one."""
    try:
        return psycopg.connect(PG_SERVER, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        if os.environ.get("FTGATE_REQUIRE_POSTGRES"):
            raise
        pytest.skip(f"PostgreSQL not reachable at {PG_SERVER}: {exc}")


def pg_url(database: str, user: str | None = None) -> str:
    """The SQLAlchemy URL of a database on the test server, as `user` if given."""
    base = PG_SERVER.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    if user is not None:
        base = f"postgresql+psycopg://{user}@{base.split('@', 1)[1]}"
    return f"{base}/{database}"


@contextmanager
def fresh_pg_database(owner: str | None = None) -> Iterator[str]:
    """A new, empty database (its name), dropped afterwards however the test ends."""
    name = f"ftgate_test_{uuid.uuid4().hex[:10]}"
    with pg_admin_connection() as conn:
        conn.execute(f'CREATE DATABASE "{name}"' + (f' OWNER "{owner}"' if owner else ""))
    try:
        yield name
    finally:
        with psycopg.connect(PG_SERVER, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fresh_pg_roles() -> Iterator[tuple[str, str]]:
    """A schema owner and an application role, new, neither a superuser (cluster-wide: dropped after)."""
    suffix = uuid.uuid4().hex[:10]
    owner, app = f"ftgate_owner_{suffix}", f"ftgate_app_{suffix}"
    with pg_admin_connection() as conn:
        conn.execute(f'CREATE ROLE "{owner}" LOGIN NOSUPERUSER')
        conn.execute(f'CREATE ROLE "{app}" LOGIN NOSUPERUSER')
    try:
        yield owner, app
    finally:
        with pg_admin_connection() as conn:
            conn.execute(f'DROP ROLE IF EXISTS "{app}"')
            conn.execute(f'DROP ROLE IF EXISTS "{owner}"')


@dataclass
class Cli:
    """Runs `ftgate ... --json` in process and returns the one JSON document it printed."""

    env: dict[str, str]
    runner: CliRunner = field(default_factory=CliRunner)
    last_stderr: str = ""

    def __call__(self, *args: str, token: str | None = None, ok: bool = True) -> Any:
        env = dict(self.env)
        if token is not None:
            env["FTGATE_TOKEN"] = token
        result = self.runner.invoke(app, [*args, "--json"], env=env, catch_exceptions=False)
        self.last_stderr = result.stderr
        assert (result.exit_code == 0) == ok, (
            f"ftgate {' '.join(args)} exited {result.exit_code}\n"
            f"stdout: {result.stdout}\nstderr: {result.stderr}"
        )
        return json.loads(result.stdout)


@dataclass
class Home:
    cli: Cli
    path: Path
    admin: str
    alice: str  # submitter, team default
    bob: str  # approver
    carol: str  # auditor
    dave: str  # second approver
    mallory: str  # submitter of another team

    def settings(self, **overrides: Any) -> Settings:
        """The settings its CLI runs with (home, policies, and the PostgreSQL database when it has one)."""
        env = self.cli.env
        database = {"database_url": env["FTGATE_DATABASE_URL"]} if "FTGATE_DATABASE_URL" in env else {}
        return Settings(home=self.path, policy_dir=Path(env["FTGATE_POLICY_DIR"]), **database, **overrides)


def people(cli: Cli, admin: str) -> dict[str, str]:
    tokens = {}
    for name, role, team in [
        ("alice", "submitter", "default"),
        ("bob", "approver", "compliance"),
        ("carol", "auditor", "audit"),
        ("dave", "approver", "compliance"),
        ("mallory", "submitter", "other"),
    ]:
        tokens[name] = cli("users", "add", name, "--role", role, "--team", team, token=admin)["token"]
    return tokens


def audit_count(home: Home) -> int:
    return home.cli("audit", "verify", token=home.carol)["entries"]


def make_home(path: Path, policy_dir: Path, tiny_model_path: Path, database_url: str | None = None) -> Home:
    """An initialised home with the tiny model registered and the five test users."""
    env = {"FTGATE_HOME": str(path), "FTGATE_POLICY_DIR": str(policy_dir), "FTGATE_TOKEN": ""}
    if database_url:
        env["FTGATE_DATABASE_URL"] = database_url
    cli = Cli(env=env)
    admin = cli("init")["token"]
    cli("models", "add", "tiny-llama", str(tiny_model_path), token=admin)
    return Home(cli=cli, path=path, admin=admin, **people(cli, admin))


def upload(home: Home, path: Path = EXAMPLE, *, ok: bool = True, **options: str) -> Any:
    """`datasets upload` as alice; options override name/purpose/classification."""
    settings = {"name": "chats", "purpose": "style", "classification": "internal", **options}
    flags = [f"--{key}={value}" for key, value in settings.items()]
    return home.cli("datasets", "upload", str(path), *flags, token=home.alice, ok=ok)


def approved_dataset(home: Home, classification: str = "internal") -> dict[str, Any]:
    """An uploaded dataset with as many approvals (bob, then dave) as its classification needs."""
    ds = upload(home, classification=classification)
    home.cli("datasets", "approve", ds["id"], "--note", "ok", token=home.bob)
    if classification in {"confidential", "restricted"}:
        home.cli("datasets", "approve", ds["id"], "--note", "second pair of eyes", token=home.dave)
    return ds


def submit(home: Home, dataset_id: str, *extra: str, ok: bool = True) -> Any:
    """`jobs submit` as alice on the tiny model, one short step unless `extra` says otherwise."""
    args = ["--dataset", dataset_id, "--base-model", "tiny-llama", "--max-steps", "1", "--max-seq-len", "64"]
    return home.cli("jobs", "submit", *args, *extra, token=home.alice, ok=ok)


def runtime_of(home: Home) -> Runtime:
    """A Runtime on the home's state and policies, for reading tables the CLI does not show."""
    return Runtime(Settings(home=home.path, policy_dir=Path(home.cli.env["FTGATE_POLICY_DIR"])))


def queued_job(home: Home, *settings: str) -> str:
    """The id of a job alice queued on a freshly approved dataset, with `settings` as submit flags."""
    dataset_id = approved_dataset(home)["id"]
    job = home.cli(
        "jobs", "submit", "--dataset", dataset_id, "--base-model", "tiny-llama", *settings, token=home.alice
    )
    assert job["status"] == "queued", job
    return str(job["id"])


def scanned(client: Any, headers: dict[str, str], received: Any, *, timeout: float = 300.0) -> dict[str, Any]:
    """The dataset an upload (`POST /v1/datasets`, answered 202 `scanning`) became once a scan worker of
    the server has ended its scan: `pending_review`, `refused` or `failed`."""
    assert received.status_code == 202, received.text
    dataset = received.json()
    assert dataset["status"] == "scanning"
    deadline = time.monotonic() + timeout
    while dataset["status"] == "scanning":
        assert time.monotonic() < deadline, f"dataset {dataset['id']} still scanning after {timeout:g} s"
        time.sleep(0.2)
        r = client.get(f"/v1/datasets/{dataset['id']}", headers=headers)
        assert r.status_code == 200, r.text
        dataset = r.json()
    return dataset


def serve(env: dict[str, str], log: Path | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """A real `ftgate serve` on a free loopback port, once it answers /healthz: (the process, its URL).

    In its own process group (the server, its forkserver and its scan workers): end it with
    `os.killpg(server.pid, ...)` or SIGTERM to the server.
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    output = log.open("ab") if log is not None else subprocess.DEVNULL  # the server's log, if wanted
    server = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli.main", "serve", "--port", str(port)],
        env=env,
        stdout=output,
        stderr=output,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return server, base
        except httpx.HTTPError:
            time.sleep(0.2)
    os.killpg(server.pid, signal.SIGKILL)
    raise AssertionError("ftgate serve did not answer /healthz")
