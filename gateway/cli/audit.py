"""`ftgate audit`: verify the log and export lineage."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gateway.cli.common import Json, Token, Verbose, as_user, handles_errors
from gateway.cli.output import render

app = typer.Typer(help="Verify the log and export lineage.", no_args_is_help=True)


@app.command("verify")
@handles_errors
def audit_verify(token: Token = None, as_json: Json = False, verbose: Verbose = False) -> None:
    """Recompute the whole hash chain; exit 0 only when the log is intact."""
    from gateway.services.audit import verify

    with as_user(token) as (rt, session, actor):
        result = verify(rt=rt, session=session, actor=actor)
    render(result, as_json=as_json)


@app.command("export")
@handles_errors
def audit_export(
    adapter: Annotated[str, typer.Option(help="Adapter id.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="File to write.")],
    fmt: Annotated[str, typer.Option("--format", help="json")] = "json",
    token: Token = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Write an adapter's lineage, read from the verified log."""
    import json

    from gateway.services.audit import export_lineage

    with as_user(token) as (rt, session, actor):
        lineage = export_lineage(rt=rt, session=session, actor=actor, adapter_id=adapter, fmt=fmt)
    output.write_text(json.dumps(lineage, indent=2) + "\n")
    render(
        {
            "id": adapter,
            "status": "exported",
            "format": fmt,
            "path": str(output),
            "log_entries": lineage["log"]["size"],
        },
        as_json=as_json,
    )
