"""`ftgate db`: the database schema (Alembic revisions under gateway/migrations)."""

from __future__ import annotations

import typer

from gateway.cli.common import Json, Verbose, handles_errors, runtime
from gateway.cli.output import render

app = typer.Typer(help="The database schema.", no_args_is_help=True)


@app.command("upgrade")
@handles_errors
def db_upgrade(as_json: Json = False, verbose: Verbose = False) -> None:
    """Bring the database to this ftgate's schema (run it as the role that owns the tables).

    A home made before migrations is recognised by its tables and stamped at the baseline first. One
    transaction: a failure leaves the schema as it was.
    """
    from gateway import migrations

    rt = runtime()
    if not rt.settings.signing_key_path.exists():
        from gateway.errors import ConfigError

        raise ConfigError(f"ftgate home {rt.settings.home} is not initialised: run `ftgate init`")
    moved = migrations.upgrade(rt.engine)
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
