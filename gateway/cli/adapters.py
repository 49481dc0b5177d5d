"""`ftgate adapters`: trained LoRA adapters."""

from __future__ import annotations

import typer

from gateway.cli.common import Json, Token, Verbose, as_user, handles_errors, to_page
from gateway.cli.output import render
from gateway.models import (
    AdapterPublic,
)

app = typer.Typer(help="Trained LoRA adapters.", no_args_is_help=True)


@app.command("list")
@handles_errors
def adapters_list(token: Token = None, as_json: Json = False, verbose: Verbose = False) -> None:
    """List adapters you may see."""
    from gateway.services.adapters import list_adapters

    with as_user(token) as (rt, session, actor):
        page = to_page(list_adapters(rt=rt, session=session, actor=actor), AdapterPublic)
    render(page, as_json=as_json, columns=["id", "job_id", "dataset_id", "base_model", "status"])


@app.command("show")
@handles_errors
def adapters_show(
    adapter_id: str, token: Token = None, as_json: Json = False, verbose: Verbose = False
) -> None:
    """Show an adapter: files with SHA-256, signature, metrics."""
    from gateway.services.adapters import get_adapter

    with as_user(token) as (rt, session, actor):
        adapter = get_adapter(rt=rt, session=session, actor=actor, adapter_id=adapter_id)
    render(AdapterPublic.model_validate(adapter), as_json=as_json)


@app.command("verify")
@handles_errors
def adapters_verify(
    adapter_id: str, token: Token = None, as_json: Json = False, verbose: Verbose = False
) -> None:
    """Check the adapter's files against its model-signing signature in the audit log."""
    from gateway.services.lineage import verify_adapter

    with as_user(token) as (rt, session, actor):
        result = verify_adapter(rt=rt, session=session, actor=actor, adapter_id=adapter_id)
    render(result, as_json=as_json)
