"""What every command shares: options, error handling, the runtime and the caller's identity."""

from __future__ import annotations

import functools
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.markup import escape
from sqlmodel import Session
from typer.exceptions import TyperException

from gateway.cli.output import emit_json, err, release_stdout, render_residual
from gateway.contract import PAGE_MAX
from gateway.errors import AuthenticationError, FtgateError, InvalidInput
from gateway.logging import configure_logging
from gateway.models import Page, User
from gateway.runtime import Runtime
from gateway.settings import Settings
from gateway.store.pages import Listed

Json = Annotated[bool, typer.Option("--json", help="Print exactly one JSON document on stdout.")]
Token = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="FTGATE_TOKEN",
        help="Your API token (prefer --token-file or FTGATE_TOKEN: a command line is visible to every"
        " local user in `ps`).",
        show_default=False,
    ),
]
TokenFile = Annotated[
    Path | None,
    typer.Option(
        "--token-file",
        envvar="FTGATE_TOKEN_FILE",
        help="A file holding your API token (its first line); keep it readable by you alone.",
        show_default=False,
    ),
]
Verbose = Annotated[bool, typer.Option("-v", "--verbose", help="Show error details.")]
ExpiresDays = Annotated[
    float | None,
    typer.Option(
        "--expires-days",
        help="Days the new token works (default: FTGATE_TOKEN_DAYS, 90).",
        min=0.001,
        max=3650,
        show_default=False,
    ),
]
Note = Annotated[str, typer.Option(help="Why; kept in the audit log.")]
Limit = Annotated[int, typer.Option(help="Rows at most (a page; 1-1000).", min=1, max=PAGE_MAX)]
After = Annotated[str | None, typer.Option(help="Start after this row: the `next` a previous page printed.")]

F = TypeVar("F", bound=Callable[..., Any])
# typer's own ways out of a command (an exit code, a usage error, ^C): not failures of ours.
_WAYS_OUT = (typer.Exit, typer.Abort, TyperException)


def handles_errors(func: F) -> F:
    """Catch every ftgate error once: one clear line (details with -v), JSON error with --json, exit 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        release_stdout()  # each command starts with stdout its own (`-o -` takes it)
        try:
            return func(*args, **kwargs)
        except FtgateError as exc:  # the one root: the gateway's, the audit package's, the trainer's
            code, message, details = exc.code, exc.message, exc.details
            if kwargs.get("as_json"):
                emit_json({"error": {"code": code, "message": message, "details": details}})
            err.print(f"[red]error[/red] ({code}): {escape(message)}", highlight=False)
            if isinstance(details, dict) and details.get("residual"):
                # What is left to fix, record by record: worth showing without -v.
                title = "Personal data left after redaction: fix these records, or ask compliance"
                render_residual(details["residual"], console=err, title=title)
            if details and kwargs.get("verbose"):
                err.print(details)
            raise typer.Exit(1) from None
        except _WAYS_OUT:
            raise
        except Exception as exc:
            # A bug or an unforeseen failure: one line and exit 3, never a traceback. Its message is
            # not shown: it can hold the input that caused it (a value pydantic refused, a record).
            message = f"unexpected {type(exc).__name__}"
            if isinstance(exc, OSError) and exc.strerror:
                message += f": {exc.strerror}" + (f" ({exc.filename})" if exc.filename else "")
            if kwargs.get("as_json"):
                emit_json({"error": {"code": "internal_error", "message": message, "details": None}})
            err.print(f"[red]error[/red] (internal_error): {escape(message)}", highlight=False)
            if kwargs.get("verbose"):
                err.print("".join(traceback.format_tb(exc.__traceback__)), markup=False, highlight=False)
            else:
                err.print("run it again with -v to see where it happened", highlight=False)
            raise typer.Exit(3) from None

    return wrapper  # type: ignore[return-value]


def runtime() -> Runtime:
    try:
        settings = Settings()
    except ValidationError as exc:
        raise InvalidInput(f"bad configuration: {exc.errors()[0]['msg']}") from None
    configure_logging(settings.log_level)
    return Runtime(settings)


TokenOut = Annotated[
    Path | None,
    typer.Option(
        "--token-out",
        help="Write the new token to this file (created readable by you alone; it must not exist) instead"
        " of printing it.",
        show_default=False,
    ),
]


def check_token_out(path: Path) -> None:
    """Refuse a token file that could not be created, before the token is made (it is shown only once)."""
    if path.exists() or path.is_symlink():
        raise InvalidInput(f"{path} already exists: name a new file for the token")
    if not path.parent.is_dir():
        raise InvalidInput(f"cannot write {path}: its folder does not exist")


def keep_token(result: dict[str, Any], path: Path | None) -> dict[str, Any]:
    """`result` with its token written to `path` (owner-readable, created new) and left out of what is
    printed; without a path, `result` as it is. If the file cannot be written, the token is printed:
    it is shown only once."""
    if path is None:
        return result
    from ftgate_core.files import create_private

    try:
        create_private(path, (result["token"] + "\n").encode("ascii"))
    except OSError as exc:
        err.print(f"could not write {path} ({exc.strerror or exc}); the token is printed instead")
        return result
    return {**{k: v for k, v in result.items() if k != "token"}, "token_file": str(path)}


def read_token_file(path: Path) -> str:
    """The token in `path` (its first line, stripped); InvalidInput saying why when there is none."""
    try:
        with path.open("rb") as f:
            first = f.read(1024).split(b"\n", 1)[0].strip()
    except OSError as exc:
        raise InvalidInput(f"cannot read the token file {path}: {exc.strerror or exc}") from None
    if not first:
        raise InvalidInput(f"the token file {path} is empty")
    try:
        return first.decode("ascii")
    except UnicodeDecodeError:
        raise InvalidInput(f"the token file {path} does not hold a token") from None


def _credential(token: str | None, token_file: Path | None) -> str:
    """The bearer credential a command was given: the token file's, else --token / FTGATE_TOKEN."""
    if token_file is not None:
        token = read_token_file(token_file)
    if not token:
        raise AuthenticationError("no token: pass --token-file or set FTGATE_TOKEN")
    return token


@contextmanager
def as_user(token: str | None, token_file: Path | None = None) -> Iterator[tuple[Runtime, Session, User]]:
    """One transaction on behalf of the token's user (the token file's, when one is given); a refusal
    is recorded in one of its own before it is raised (`services.decisions`)."""
    from gateway.services.users import authenticate

    token = _credential(token, token_file)
    rt = runtime()
    rt.require_initialised()
    with rt.session() as session:
        yield rt, session, authenticate(rt=rt, session=session, token=token)


def login(token: str | None, token_file: Path | None = None) -> tuple[Runtime, User, str | None]:
    """The token's user and the token's id (None after a single sign-on), for long-running commands that
    open their own transactions and check the credential again as they go (`tokens.recheck`)."""
    from gateway.services.users import identify

    token = _credential(token, token_file)
    rt = runtime()
    rt.require_initialised()
    with rt.session() as session:
        user, row = identify(rt=rt, session=session, token=token)
    return rt, user, row.id if row is not None else None


def to_page(found: list[Any] | Listed[Any], model: type[BaseModel]) -> Page[Any]:
    """A list, or one page of one, as the page document every list prints."""
    items, after = (found.items, found.next) if isinstance(found, Listed) else (found, None)
    return Page(data=[model.model_validate(i) for i in items], count=len(items), next=after)
