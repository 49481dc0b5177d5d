"""The database schema, versioned with Alembic (revisions in `versions/`, one per schema change).

`upgrade` brings a database to this ftgate's schema: a new one from nothing, one made before
migrations (c99a1dd and earlier: its tables and no `alembic_version`) by stamping it at the baseline
after checking its tables, any other by applying the revisions it lacks. It runs as whoever owns the
tables (`ftgate db upgrade`), never implicitly: `require_current` makes every other command refuse a
database that is behind, naming the command to run, rather than read rows in a shape it does not know.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

from audit.log import GUARDED_TABLES, grant_append_only
from gateway.errors import ConfigError

SCRIPTS = Path(__file__).resolve().parent
BASELINE = "0001"
# The tables of the baseline (c99a1dd's): a database without `alembic_version` must have all of them.
BASELINE_TABLES = frozenset(
    {
        "adapters",
        "approvals",
        "audit_entries",
        "audit_tree_nodes",
        "base_models",
        "dataset_revocations",
        "datasets",
        "job_events",
        "jobs",
        "policy_decisions",
        "users",
    }
)
UNVERSIONED = "unversioned (before migrations)"


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    config.attributes["connection"] = connection
    return config


def head() -> str:
    """The revision this ftgate's code expects."""
    revision = ScriptDirectory.from_config(_config()).get_current_head()
    assert revision is not None  # the baseline at least
    return revision


def current(engine: Engine) -> str | None:
    """The database's revision; None for an empty database, `UNVERSIONED` for one made before
    migrations."""
    with engine.connect() as connection:
        return _current(connection)


def _current(connection: Connection) -> str | None:
    revision = MigrationContext.configure(connection).get_current_revision()
    if revision is None and inspect(connection).has_table("audit_entries"):
        return UNVERSIONED
    return revision


def upgrade(engine: Engine) -> dict[str, str | None]:
    """Bring the database to `head()` in one transaction; returns the revisions before and after.

    On SQLite a revision that changes a column rebuilds its table (copy, drop, rename), which foreign
    keys pointing at it would refuse: they are off while it runs (SQLite ignores the switch inside a
    transaction), and every reference is checked before the transaction commits.
    """
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                moved = _upgrade(connection)
                if sqlite and (broken := connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()):
                    tables = sorted({str(row[0]) for row in broken})
                    raise ConfigError(f"the upgrade would leave broken references in {', '.join(tables)}")
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()
    return moved


def _upgrade(connection: Connection) -> dict[str, str | None]:
    config = _config(connection)
    before = _current(connection)
    if before == UNVERSIONED:
        missing = sorted(BASELINE_TABLES - set(inspect(connection).get_table_names()))
        if missing:
            raise ConfigError(
                f"the database has ftgate's log but not the tables {', '.join(missing)}: it was not made "
                "by ftgate, or not completely; restore it from a backup"
            )
        command.stamp(config, BASELINE)
    command.upgrade(config, "head")
    return {"from": before, "to": _current(connection)}


def require_current(engine: Engine) -> None:
    """Refuse a database whose schema is not this ftgate's, naming what to run."""
    found, wanted = current(engine), head()
    if found == wanted:
        return
    if found is None:
        raise ConfigError("the database is empty: run `ftgate init`")
    known = {script.revision for script in ScriptDirectory.from_config(_config()).walk_revisions()}
    if found != UNVERSIONED and found not in known:
        raise ConfigError(
            f"the database schema is at revision {found}, which this ftgate does not know (it was made by a "
            f"newer version; this one expects {wanted}): run the newer ftgate"
        )
    raise ConfigError(
        f"the database schema is at {found}; this ftgate needs {wanted}: run `ftgate db upgrade` "
        "(as the role that owns the tables), then try again"
    )


def grant_app_role(engine: Engine, role: str) -> None:
    """PostgreSQL, as the owner of the tables: let `role` (the gateway's and the workers') read and write
    ftgate's tables and read the schema revision, but only SELECT and INSERT on the audit log's tables.

    Run after every upgrade (a new table needs its grant). The role can then neither change nor remove
    a log entry, nor drop or disable the triggers that guard them (only an owner may): the database
    refuses a rewrite of history from the gateway's own connection.
    """
    quote = engine.dialect.identifier_preparer.quote
    with engine.begin() as connection:
        tables = set(inspect(connection).get_table_names()) - set(GUARDED_TABLES)
        mutable = ", ".join(quote(t) for t in sorted(tables - {"alembic_version"}))
        connection.execute(text(f"GRANT USAGE ON SCHEMA public TO {quote(role)}"))
        connection.execute(text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {mutable} TO {quote(role)}"))
        connection.execute(text(f"GRANT SELECT ON alembic_version TO {quote(role)}"))
        connection.execute(text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quote(role)}"))
    grant_append_only(engine, role)


def privilege_problems(engine: Engine) -> list[str]:
    """PostgreSQL: why the role `engine` connects as may rewrite the audit log; empty when it may not.

    Production refuses to serve or work with any: a superuser, the owner of the log's tables (it may drop
    their triggers), or a role granted UPDATE, DELETE or TRUNCATE on them.
    """
    if engine.dialect.name != "postgresql":
        return []
    problems = []
    with engine.connect() as connection:
        role, superuser = connection.execute(
            text("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user")
        ).one()
        if superuser:
            problems.append(f"it connects as {role}, a superuser")
        for table in GUARDED_TABLES:
            owner = connection.execute(
                text(
                    "SELECT tableowner FROM pg_tables WHERE schemaname = current_schema() AND tablename = :t"
                ),
                {"t": table},
            ).scalar()
            if owner == role:
                problems.append(f"{role} owns {table} (an owner may drop its guards)")
                continue
            for privilege in ("UPDATE", "DELETE", "TRUNCATE"):
                if connection.execute(
                    text("SELECT has_table_privilege(current_user, :t, :p)"), {"t": table, "p": privilege}
                ).scalar():
                    problems.append(f"{role} may {privilege} {table}")
    return problems


__all__ = [
    "BASELINE",
    "SCRIPTS",
    "UNVERSIONED",
    "current",
    "grant_app_role",
    "head",
    "privilege_problems",
    "require_current",
    "upgrade",
]
