"""Schema migrations (issue 12, item 8): a home made by c99a1dd, before migrations, is refused until
`ftgate db upgrade`, which keeps every row and leaves the log verifying, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from ftgate_testing import PG_SERVER, Cli, fresh_pg_database, pg_url

from gateway import migrations
from gateway.settings import REPO_ROOT

FIXTURE = REPO_ROOT / "tests" / "data" / "migrations" / "c99a1dd"
TOKENS = json.loads((FIXTURE / "tokens.json").read_text())
TABLES = sorted(migrations.BASELINE_TABLES)


def _cli(home: Path, database_url: str | None = None) -> Cli:
    env = {"FTGATE_HOME": str(home), "FTGATE_POLICY_DIR": str(REPO_ROOT / "policies"), "FTGATE_TOKEN": ""}
    if database_url:
        env["FTGATE_DATABASE_URL"] = database_url
    return Cli(env=env)


@pytest.fixture
def sqlite_home(tmp_path: Path) -> Iterator[tuple[Cli, dict[str, str], Any]]:
    home = tmp_path / "home"
    shutil.copytree(FIXTURE / "sqlite-home", home)

    def counts() -> dict[str, int]:
        with sqlite3.connect(home / "ftgate.db") as db:
            return {t: db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in TABLES}

    yield _cli(home), TOKENS["sqlite"], counts


@pytest.fixture
def postgres_home(tmp_path: Path) -> Iterator[tuple[Cli, dict[str, str], Any]]:
    home = tmp_path / "pg-home"
    shutil.copytree(FIXTURE / "postgres-home", home)
    with fresh_pg_database() as name:
        dsn = PG_SERVER.rsplit("/", 1)[0] + f"/{name}"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute((FIXTURE / "postgres.sql").read_text())  # no parameters: one script

        def counts() -> dict[str, int]:
            with psycopg.connect(dsn) as conn:
                return {t: conn.execute(f'SELECT count(*) FROM public."{t}"').fetchone()[0] for t in TABLES}

        yield _cli(home, pg_url(name)), TOKENS["postgres"], counts


def check_upgrade(cli: Cli, tokens: dict[str, str], counts: Any) -> None:
    before = counts()
    assert before["audit_entries"] == 12 and before["jobs"] == 1 and before["datasets"] == 1

    # Every command refuses the old schema, saying what to run; nothing is written.
    refused = cli("datasets", "list", token=tokens["alice"], ok=False)
    assert refused["error"]["code"] == "config_error"
    assert "ftgate db upgrade" in refused["error"]["message"]
    assert cli("db", "status")["status"] == "behind"
    assert counts() == before

    upgraded = cli("db", "upgrade")
    assert upgraded == {"status": "upgraded", "from": migrations.UNVERSIONED, "to": migrations.head()}
    assert counts() == before  # every row kept
    assert cli("db", "upgrade")["status"] == "current"
    assert cli("db", "status") == {
        "status": "current",
        "revision": migrations.head(),
        "head": migrations.head(),
    }

    verified = cli("audit", "verify", token=tokens["carol"])
    assert verified["status"] == "verified" and verified["entries"] == 12
    # Each user's token became a row of its own, with no expiry: it works until rotated or revoked.
    [carols] = cli("tokens", "list", token=tokens["carol"])["data"]
    assert carols["status"] == "active" and carols["expires_at"] is None
    [dataset] = cli("datasets", "list", token=tokens["alice"])["data"]
    assert dataset["id"] == tokens["dataset"] and dataset["status"] == "approved"
    [job] = cli("jobs", "list", token=tokens["alice"])["data"]
    assert job["status"] == "queued"
    # The upgraded home goes on working: a new user is appended to the same log.
    cli("users", "add", "erin", "--role", "submitter", token=tokens["admin"])
    assert cli("audit", "verify", token=tokens["carol"])["entries"] == 13
    # The old entries keep the bytes they were hashed with (leaf format 1); the new one is RFC 8785.
    formats = [e["format"] for e in cli("audit", "log", "--limit", "20", token=tokens["carol"])["data"]]
    assert formats == [1] * 12 + [2]


def test_a_sqlite_home_from_before_migrations_upgrades(sqlite_home: tuple[Cli, dict[str, str], Any]) -> None:
    check_upgrade(*sqlite_home)


@pytest.mark.postgres
def test_a_postgres_home_from_before_migrations_upgrades(
    postgres_home: tuple[Cli, dict[str, str], Any],
) -> None:
    check_upgrade(*postgres_home)


def test_a_new_home_is_at_head_and_its_log_append_only(tmp_path: Path) -> None:
    cli = _cli(tmp_path / "home")
    admin = cli("init")["token"]
    assert cli("db", "status")["status"] == "current"
    db = sqlite3.connect(tmp_path / "home" / "ftgate.db")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM audit_entries")
    db.close()
    cli("users", "add", "alice", "--role", "submitter", token=admin)


def test_a_database_from_a_newer_ftgate_is_refused(tmp_path: Path) -> None:
    cli = _cli(tmp_path / "home")
    admin = cli("init")["token"]
    with sqlite3.connect(tmp_path / "home" / "ftgate.db") as db:
        db.execute("UPDATE alembic_version SET version_num = '9999'")
    refused = cli("users", "list", token=admin, ok=False)
    assert "newer version" in refused["error"]["message"]
