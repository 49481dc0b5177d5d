"""`ftgate lineage`: follow data to what was made from it, from the audit log."""

from __future__ import annotations

from typing import Annotated

import typer

from gateway.cli.common import Json, Token, TokenFile, Verbose, as_user, handles_errors
from gateway.cli.output import render

app = typer.Typer(help="Follow data to the adapters made from it.", no_args_is_help=True)


@app.command("impact")
@handles_errors
def lineage_impact(
    dataset: Annotated[str, typer.Option(help="Dataset id.")],
    token: Token = None,
    token_file: TokenFile = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """List every adapter the verified log says was trained on the dataset, with its status."""
    from gateway.services.lineage import dataset_impact

    with as_user(token, token_file) as (rt, session, actor):
        adapters = dataset_impact(rt=rt, session=session, actor=actor, dataset_id=dataset)
    render(
        {"data": adapters, "count": len(adapters)},
        as_json=as_json,
        columns=["id", "job_id", "base_model", "status", "since"],
    )
