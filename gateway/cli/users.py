"""`ftgate users`: users and their tokens (admin)."""

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
from gateway.cli.output import render
from gateway.contract import PAGE_DEFAULT
from gateway.models import (
    UserPublic,
)

app = typer.Typer(help="Users and their tokens (admin).", no_args_is_help=True)


@app.command("add")
@handles_errors
def users_add(
    name: str,
    role: Annotated[str, typer.Option(help="submitter | approver | auditor | admin | worker")],
    team: Annotated[str, typer.Option(help="The user's team.")] = "default",
    expires_days: ExpiresDays = None,
    token_out: TokenOut = None,
    token: Token = None,
    token_file: TokenFile = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Add a user and print their token once (or write it to --token-out)."""
    from gateway.services.users import add_user

    if token_out is not None:
        check_token_out(token_out)
    with as_user(token, token_file) as (rt, session, actor):
        created = add_user(
            rt=rt, session=session, actor=actor, name=name, role=role, team=team, expires_days=expires_days
        )
    render(keep_token(created.model_dump(mode="json"), token_out), as_json=as_json)


@app.command("list")
@handles_errors
def users_list(
    limit: Limit = PAGE_DEFAULT,
    after: After = None,
    token: Token = None,
    token_file: TokenFile = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """List users (tokens are never shown again)."""
    from gateway.services.users import list_users

    with as_user(token, token_file) as (rt, session, actor):
        found = list_users(rt=rt, session=session, actor=actor, limit=limit, after=after)
        page = to_page(found, UserPublic)
    render(page, as_json=as_json, columns=["id", "name", "role", "team", "status"])


@app.command("disable")
@handles_errors
def users_disable(
    name: str,
    token: Token = None,
    token_file: TokenFile = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Disable a user: their tokens, console sessions and single sign-on are refused until enabled."""
    from gateway.services.users import set_disabled

    with as_user(token, token_file) as (rt, session, actor):
        user = set_disabled(rt=rt, session=session, actor=actor, name=name, disabled=True)
    render(user.model_dump(mode="json"), as_json=as_json)


@app.command("enable")
@handles_errors
def users_enable(
    name: str,
    token: Token = None,
    token_file: TokenFile = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Enable a disabled user again (their tokens work again unless expired or revoked)."""
    from gateway.services.users import set_disabled

    with as_user(token, token_file) as (rt, session, actor):
        user = set_disabled(rt=rt, session=session, actor=actor, name=name, disabled=False)
    render(user.model_dump(mode="json"), as_json=as_json)
