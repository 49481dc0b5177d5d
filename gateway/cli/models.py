"""`ftgate models`: the base-model catalog."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gateway.cli.common import After, Json, Limit, Token, TokenFile, Verbose, as_user, handles_errors, to_page
from gateway.cli.output import render
from gateway.contract import PAGE_DEFAULT
from gateway.models import (
    BaseModelPublic,
)

app = typer.Typer(help="The base-model catalog.", no_args_is_help=True)


@app.command("add")
@handles_errors
def models_add(
    name: str,
    path: Path,
    upstream: Annotated[
        str | None,
        typer.Option(
            help="Its Hugging Face id (owner/name): adapters name it as their base, so they load anywhere."
        ),
    ] = None,
    token: Token = None,
    token_file: TokenFile = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Register a local Hugging Face model directory or GGUF file, with the SHA-256 of its weights."""
    from gateway.services.catalog import add_model

    with as_user(token, token_file) as (rt, session, actor):
        entry = add_model(rt=rt, session=session, actor=actor, name=name, path=path, upstream=upstream)
    render(BaseModelPublic.model_validate(entry), as_json=as_json)


@app.command("list")
@handles_errors
def models_list(
    limit: Limit = PAGE_DEFAULT,
    after: After = None,
    token: Token = None,
    token_file: TokenFile = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """List registered base models."""
    from gateway.services.catalog import list_models

    with as_user(token, token_file) as (rt, session, actor):
        page = to_page(
            list_models(rt=rt, session=session, actor=actor, limit=limit, after=after), BaseModelPublic
        )
    render(page, as_json=as_json, columns=["name", "gguf_file", "weights_sha256"])
