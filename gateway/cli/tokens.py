"""`ftgate tokens`: list, rotate and revoke API tokens (your own; an admin's, anyone's)."""

from __future__ import annotations

from typing import Annotated

import typer

from gateway.cli.common import (
    After,
    ExpiresDays,
    Json,
    Limit,
    Token,
    TokenFile,
    TokenOut,
    Verbose,
    as_user,
    check_token_out,
    handles_errors,
    keep_token,
    to_page,
)
from gateway.cli.output import err, render
from gateway.contract import PAGE_DEFAULT
from gateway.models import TokenPublic

app = typer.Typer(help="API tokens: list, rotate, revoke.", no_args_is_help=True)

User = Annotated[
    str | None,
    typer.Option("--user", help="Whose tokens (admins only); default: your own.", show_default=False),
]


@app.command("list")
@handles_errors
def tokens_list(
    user: User = None,
    limit: Limit = PAGE_DEFAULT,
    after: After = None,
    token: Token = None,
    token_file: TokenFile = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """List tokens (never the tokens themselves): id, status, expiry, revocation."""
    from gateway.services.tokens import list_tokens

    with as_user(token, token_file) as (rt, session, actor):
        page = to_page(
            list_tokens(rt=rt, session=session, actor=actor, user=user, limit=limit, after=after), TokenPublic
        )
    render(page, as_json=as_json, columns=["id", "user", "status", "created_at", "expires_at", "revoked_at"])


@app.command("rotate")
@handles_errors
def tokens_rotate(
    user: User = None,
    expires_days: ExpiresDays = None,
    token_out: TokenOut = None,
    token: Token = None,
    token_file: TokenFile = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Issue a new token and revoke every working one of the user (yours by default), in one step."""
    from gateway.services.tokens import rotate

    if token_out is not None:
        check_token_out(token_out)
    with as_user(token, token_file) as (rt, session, actor):
        issued = rotate(rt=rt, session=session, actor=actor, user=user, days=expires_days)
    render(keep_token(issued.model_dump(mode="json"), token_out), as_json=as_json)
    if not as_json and token_out is None:
        err.print("Keep the new token: it is shown only once (next time: --token-out FILE).")


@app.command("revoke")
@handles_errors
def tokens_revoke(
    token_id: Annotated[str, typer.Argument(help="The token's id (tok_...), as `tokens list` shows it.")],
    token: Token = None,
    token_file: TokenFile = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Revoke one token: it is refused from the next request on."""
    from gateway.services.tokens import revoke

    with as_user(token, token_file) as (rt, session, actor):
        revoked = revoke(rt=rt, session=session, actor=actor, token_id=token_id)
    render(revoked.model_dump(mode="json"), as_json=as_json)
