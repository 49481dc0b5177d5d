"""`ftgate adapters`: trained LoRA adapters."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Annotated

import typer

from ftgate_core.files import removed_on_failure
from gateway.cli.common import (
    After,
    Json,
    Limit,
    Note,
    Token,
    TokenFile,
    Verbose,
    as_user,
    handles_errors,
    to_page,
)
from gateway.cli.output import render
from gateway.contract import PAGE_DEFAULT
from gateway.models import (
    AdapterPublic,
)

app = typer.Typer(help="Trained LoRA adapters.", no_args_is_help=True)


@app.command("list")
@handles_errors
def adapters_list(
    status: Annotated[
        str | None, typer.Option(help="Only adapters in this status: registered, released or quarantined.")
    ] = None,
    limit: Limit = PAGE_DEFAULT,
    after: After = None,
    token: Token = None,
    token_file: TokenFile = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """List adapters you may see."""
    from gateway.services.adapters import list_adapters

    with as_user(token, token_file) as (rt, session, actor):
        page = to_page(
            list_adapters(rt=rt, session=session, actor=actor, status=status, limit=limit, after=after),
            AdapterPublic,
        )
    render(page, as_json=as_json, columns=["id", "job_id", "dataset_id", "base_model", "status"])


@app.command("show")
@handles_errors
def adapters_show(
    adapter_id: str,
    token: Token = None,
    token_file: TokenFile = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Show an adapter: files with SHA-256, signature, metrics."""
    from gateway.services.adapters import get_adapter

    with as_user(token, token_file) as (rt, session, actor):
        adapter = get_adapter(rt=rt, session=session, actor=actor, adapter_id=adapter_id)
    render(AdapterPublic.model_validate(adapter), as_json=as_json)


@app.command("verify")
@handles_errors
def adapters_verify(
    adapter_id: str,
    token: Token = None,
    token_file: TokenFile = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Check the adapter's files against its model-signing signature in the audit log."""
    from gateway.services.adapters import verify_adapter

    with as_user(token, token_file) as (rt, session, actor):
        result = verify_adapter(rt=rt, session=session, actor=actor, adapter_id=adapter_id)
    render(result, as_json=as_json)


@app.command("release")
@handles_errors
def adapters_release(
    adapter_id: str,
    note: Note,
    token: Token = None,
    token_file: TokenFile = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Release an adapter (approvers): allowed only with complete lineage and a standing data approval."""
    from gateway.services.adapters import release_adapter

    with as_user(token, token_file) as (rt, session, actor):
        outcome = release_adapter(rt=rt, session=session, actor=actor, adapter_id=adapter_id, note=note)
        result = outcome.summary("released")
    render(result, as_json=as_json)


@app.command("download")
@handles_errors
def adapters_download(
    adapter_id: str,
    output: Annotated[
        Path, typer.Option("-o", "--output", help="New (or empty) directory to copy the adapter files into.")
    ],
    token: Token = None,
    token_file: TokenFile = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Copy a released adapter's files out, re-checked against their digests and signature first."""
    from gateway.services.adapters import download_adapter

    with ExitStack() as undo, as_user(token, token_file) as (rt, session, actor):
        outcome = download_adapter(rt=rt, session=session, actor=actor, adapter_id=adapter_id, dest=output)
        # Copied; if `adapter.downloaded` then fails to commit (as_user's exit), the copy is taken back.
        undo.enter_context(removed_on_failure(output))
    render(outcome.summary("downloaded"), as_json=as_json)
