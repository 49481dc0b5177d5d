"""What every command shares: options, error handling, the runtime and the caller's identity."""

from __future__ import annotations

import functools
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.markup import escape
from sqlmodel import Session
from typer.exceptions import TyperException

from audit.errors import AuditError
from gateway.cli.output import emit_json, err, render_residual
from gateway.contract import PAGE_MAX
from gateway.errors import AuthenticationError, FtgateError, InvalidInput
from gateway.logging import configure_logging
from gateway.models import Page, User
from gateway.runtime import Runtime
from gateway.settings import Settings
from gateway.store.pages import Listed
from trainer.errors import TrainerError

Json = Annotated[bool, typer.Option("--json", help="Print exactly one JSON document on stdout.")]
Token = Annotated[
    str | None, typer.Option("--token", envvar="FTGATE_TOKEN", help="Your API token.", show_default=False)
]
Verbose = Annotated[bool, typer.Option("-v", "--verbose", help="Show error details.")]
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
        try:
            return func(*args, **kwargs)
        except (FtgateError, AuditError, TrainerError) as exc:
            code = getattr(exc, "code", "error")
            message = getattr(exc, "message", str(exc))
            details = getattr(exc, "details", None)
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
            # A bug or an unforeseen failure: one line and exit 2, never a traceback. Its message is
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
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def runtime() -> Runtime:
    try:
        settings = Settings()
    except ValidationError as exc:
        raise InvalidInput(f"bad configuration: {exc.errors()[0]['msg']}") from None
    configure_logging(settings.log_level)
    return Runtime(settings)


@contextmanager
def as_user(token: str | None) -> Iterator[tuple[Runtime, Session, User]]:
    """One transaction on behalf of the token's user."""
    from gateway.services.authz import AuthzDenied, record_denial
    from gateway.services.users import authenticate

    if not token:
        raise AuthenticationError("no token: pass --token or set FTGATE_TOKEN")
    rt = runtime()
    rt.require_initialised()
    try:
        with rt.session() as session:
            yield rt, session, authenticate(session=session, token=token)
    except AuthzDenied as denied:
        # The transaction is rolled back by now; the denial is kept in one of its own.
        record_denial(rt=rt, error=denied)
        raise


def login(token: str | None) -> tuple[Runtime, User]:
    """The token's user, for long-running commands that open their own transactions."""
    with as_user(token) as (rt, _session, user):
        return rt, user


def to_page(found: list[Any] | Listed[Any], model: type[BaseModel]) -> Page[Any]:
    """A list, or one page of one, as the page document every list prints."""
    items, after = (found.items, found.next) if isinstance(found, Listed) else (found, None)
    return Page(data=[model.model_validate(i) for i in items], count=len(items), next=after)
