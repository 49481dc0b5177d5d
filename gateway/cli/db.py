"""`ftgate db`: the database schema (Alembic revisions under gateway/migrations)."""

from __future__ import annotations

import typer

from gateway.cli.common import Json, Verbose, handles_errors, runtime
from gateway.cli.output import render

app = typer.Typer(help="The database schema.", no_args_is_help=True)


@app.command("upgrade")
@handles_errors
def db_upgrade(as_json: Json = False, verbose: Verbose = False) -> None:
    """Bring the database to this ftgate's schema, as the role that owns the tables.

    On PostgreSQL set FTGATE_MIGRATION_DATABASE_URL to the owner's URL: the tables are changed as it, and
    the role of FTGATE_DATABASE_URL (the gateway's) is granted reads and writes on them but only SELECT and
    INSERT on the audit log's. A home made before migrations is recognised by its tables and stamped at
    the baseline first. One transaction: a failure leaves the schema as it was.
    """
    rt = runtime()
    if not rt.settings.signing_key_path.exists():
        from gateway.errors import ConfigError

        raise ConfigError(f"ftgate home {rt.settings.home} is not initialised: run `ftgate init`")
    moved = rt.upgrade_schema()
    status = "upgraded" if moved["from"] != moved["to"] else "current"
    render({"status": status, "from": moved["from"], "to": moved["to"]}, as_json=as_json)


@app.command("status")
@handles_errors
def db_status(as_json: Json = False, verbose: Verbose = False) -> None:
    """The database's schema revision and the one this ftgate expects."""
    from gateway import migrations

    rt = runtime()
    found, wanted = migrations.current(rt.engine), migrations.head()
    render(
        {"status": "current" if found == wanted else "behind", "revision": found, "head": wanted},
        as_json=as_json,
    )
