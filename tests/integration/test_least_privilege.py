"""Least privilege on PostgreSQL, wired into the commands (issue 12, item 9).

`ftgate init` and `ftgate db upgrade` make the schema as its owner (FTGATE_MIGRATION_DATABASE_URL) and
grant the gateway's role (FTGATE_DATABASE_URL) reads and writes on ftgate's tables but only SELECT and
INSERT on the audit log's; production refuses a connection that could rewrite the log (a superuser,
the owner, a role with UPDATE, DELETE or TRUNCATE on it), saying what to do.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from ftgate_testing import PG_SERVER, Cli, fresh_pg_database, fresh_pg_roles, pg_admin_connection, pg_url
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlmodel import create_engine

from gateway import migrations
from gateway.errors import ConfigError
from gateway.runtime import Runtime
from gateway.settings import REPO_ROOT, Settings

pytestmark = pytest.mark.postgres

PRODUCTION_KEY = "k" * 40


@dataclass
class Roles:
    database: str
    owner: str
    app: str


@pytest.fixture
def roles() -> Iterator[Roles]:
    """A fresh database owned by a role that is not a superuser, and an application role (no grants yet)."""
    with fresh_pg_roles() as (owner, app), fresh_pg_database(owner=owner) as name:
        yield Roles(name, owner, app)


def _cli(tmp_path: Path, roles: Roles) -> Cli:
    return Cli(
        env={
            "FTGATE_HOME": str(tmp_path / "home"),
            "FTGATE_POLICY_DIR": str(REPO_ROOT / "policies"),
            "FTGATE_TOKEN": "",
            "FTGATE_DATABASE_URL": pg_url(roles.database, roles.app),
            "FTGATE_MIGRATION_DATABASE_URL": pg_url(roles.database, roles.owner),
        }
    )


def test_init_makes_the_schema_as_the_owner_and_the_gateway_cannot_rewrite_the_log(
    tmp_path: Path, roles: Roles
) -> None:
    cli = _cli(tmp_path, roles)
    admin = cli("init")["token"]
    # The gateway's role reads and writes ftgate's tables...
    alice = cli("users", "add", "alice", "--role", "submitter", "--team", "default", token=admin)
    assert alice["name"] == "alice"
    assert cli("db", "status")["status"] == "current"
    assert cli("db", "upgrade")["status"] == "current"  # as the owner again: re-grants, changes nothing

    app = create_engine(pg_url(roles.database, roles.app))
    try:
        assert migrations.privilege_problems(app) == []
        # ... but cannot change, remove or unguard the log.
        for statement, refusal in (
            ("UPDATE audit_entries SET actor = 'mallory'", "permission denied"),
            ("DELETE FROM audit_entries", "permission denied"),
            ("TRUNCATE audit_tree_nodes", "permission denied"),
            ("DROP TRIGGER audit_entries_no_change ON audit_entries", "must be owner"),
        ):
            with app.connect() as conn, pytest.raises(DBAPIError, match=refusal):
                conn.execute(text(statement))
    finally:
        app.dispose()
    assert cli("audit", "verify", token=admin)["status"] == "verified"


def test_production_refuses_a_role_that_could_rewrite_the_log(tmp_path: Path, roles: Roles) -> None:
    _cli(tmp_path, roles)("init")
    home = tmp_path / "home"

    def production(url: str) -> Runtime:
        return Runtime(
            Settings(
                home=home,
                policy_dir=REPO_ROOT / "policies",
                mode="production",
                pseudonym_key=PRODUCTION_KEY,
                database_url=url,
            )
        )

    production(pg_url(roles.database, roles.app)).require_initialised()  # the gateway's own role: fine

    with pytest.raises(ConfigError, match="owns audit_entries") as owned:
        production(pg_url(roles.database, roles.owner)).require_initialised()
    assert "FTGATE_MIGRATION_DATABASE_URL" in owned.value.message

    superuser = PG_SERVER.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    with pytest.raises(ConfigError, match="a superuser"):
        production(f"{superuser}/{roles.database}").require_initialised()

    as_superuser = create_engine(f"{superuser}/{roles.database}")
    try:
        with as_superuser.begin() as conn:  # a grant too many is refused as well
            conn.execute(text(f'GRANT UPDATE ON audit_entries TO "{roles.app}"'))
        with pytest.raises(ConfigError, match="may UPDATE audit_entries"):
            production(pg_url(roles.database, roles.app)).require_initialised()
    finally:
        as_superuser.dispose()


def test_the_compose_postgres_init_script_makes_roles_ftgate_can_use(tmp_path: Path) -> None:
    """docker/postgres-init/10-ftgate-roles.sh, run with psql against this machine's server as the
    postgres image would run it, under names of this test's own; then `ftgate init` as compose runs it."""
    suffix = uuid.uuid4().hex[:10]
    names = {
        "FTGATE_DB": f"ftgate_c_{suffix}",
        "FTGATE_OWNER_ROLE": f"own_{suffix}",
        "FTGATE_APP_ROLE": f"app_{suffix}",
    }
    server = make_url(PG_SERVER)
    env = {
        "PATH": os.environ["PATH"],
        "POSTGRES_USER": server.username or "postgres",
        "PGHOST": server.host or "127.0.0.1",
        "PGPORT": str(server.port or 5432),
        "FTGATE_OWNER_PASSWORD": "owner-secret",
        "FTGATE_APP_PASSWORD": "app'secret; DROP ROLE postgres; --",  # quoted by psql, not run
        **names,
    }
    pg_admin_connection().close()  # skips when there is no server
    script = REPO_ROOT / "docker" / "postgres-init" / "10-ftgate-roles.sh"
    try:
        done = subprocess.run(["sh", str(script)], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        with pg_admin_connection() as conn:
            flags = conn.execute(
                "SELECT rolname, rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = ANY(%s)",
                ([names["FTGATE_OWNER_ROLE"], names["FTGATE_APP_ROLE"]],),
            ).fetchall()
            assert sorted(flags) == sorted(
                (role, False, False, False) for role in (names["FTGATE_OWNER_ROLE"], names["FTGATE_APP_ROLE"])
            )
            owner = conn.execute(
                "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", (names["FTGATE_DB"],)
            ).fetchone()
            assert owner == (names["FTGATE_OWNER_ROLE"],)
        roles = Roles(names["FTGATE_DB"], names["FTGATE_OWNER_ROLE"], names["FTGATE_APP_ROLE"])
        cli = _cli(tmp_path, roles)
        admin = cli("init")["token"]
        assert cli("users", "list", token=admin)["count"] == 1
        app = create_engine(pg_url(roles.database, roles.app))
        try:
            assert migrations.privilege_problems(app) == []
        finally:
            app.dispose()
    finally:
        with pg_admin_connection() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{names["FTGATE_DB"]}" WITH (FORCE)')
            conn.execute(f'DROP ROLE IF EXISTS "{names["FTGATE_APP_ROLE"]}"')
            conn.execute(f'DROP ROLE IF EXISTS "{names["FTGATE_OWNER_ROLE"]}"')
