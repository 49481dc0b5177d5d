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
from sqlalchemy import Connection, Engine, inspect

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
    """Bring the database to `head()` in one transaction; returns the revisions before and after."""
    with engine.begin() as connection:
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


__all__ = ["BASELINE", "SCRIPTS", "UNVERSIONED", "current", "head", "require_current", "upgrade"]
