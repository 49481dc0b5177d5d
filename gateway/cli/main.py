"""The `ftgate` command line. Commands parse, call one service function, and render.

Every command takes --json and then prints exactly one JSON document on stdout. Identity comes from
--token or FTGATE_TOKEN; state lives under FTGATE_HOME.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from sqlmodel import Session

from audit.errors import AuditError
from gateway.cli.output import emit_json, err, render
from gateway.errors import FtgateError, InvalidInput
from gateway.logging import configure_logging
from gateway.models import (
    AdapterPublic,
    ApprovalPublic,
    BaseModelPublic,
    DatasetPublic,
    JobEventPublic,
    JobPublic,
    Page,
    User,
    UserPublic,
    Verdict,
)
from gateway.runtime import Runtime
from gateway.settings import Settings
from trainer.errors import TrainerError

app = typer.Typer(
    help="ftgate: governed LLM fine-tuning.", no_args_is_help=True, pretty_exceptions_enable=False
)
users_app = typer.Typer(help="Users and their tokens (admin).", no_args_is_help=True)
models_app = typer.Typer(help="The base-model catalog.", no_args_is_help=True)
datasets_app = typer.Typer(help="Upload, review and download training data.", no_args_is_help=True)
jobs_app = typer.Typer(help="Training requests.", no_args_is_help=True)
adapters_app = typer.Typer(help="Trained LoRA adapters.", no_args_is_help=True)
audit_app = typer.Typer(help="Verify the log and export lineage.", no_args_is_help=True)
for sub, name in [
    (users_app, "users"),
    (models_app, "models"),
    (datasets_app, "datasets"),
    (jobs_app, "jobs"),
    (adapters_app, "adapters"),
    (audit_app, "audit"),
]:
    app.add_typer(sub, name=name)

Json = Annotated[bool, typer.Option("--json", help="Print exactly one JSON document on stdout.")]
Token = Annotated[
    str | None, typer.Option("--token", envvar="FTGATE_TOKEN", help="Your API token.", show_default=False)
]
Verbose = Annotated[bool, typer.Option("-v", "--verbose", help="Show error details.")]

F = TypeVar("F", bound=Callable[..., Any])


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
            err.print(f"[red]error[/red] ({code}): {message}", highlight=False)
            if details and kwargs.get("verbose"):
                err.print(details)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def _runtime() -> Runtime:
    try:
        settings = Settings()
    except ValidationError as exc:
        raise InvalidInput(f"bad configuration: {exc.errors()[0]['msg']}") from None
    configure_logging(settings.log_level)
    return Runtime(settings)


@contextmanager
def _as_user(token: str | None) -> Iterator[tuple[Runtime, Session, User]]:
    """One transaction on behalf of the token's user."""
    from gateway.services.users import authenticate

    rt = _runtime()
    rt.require_initialised()
    with rt.session() as session:
        yield rt, session, authenticate(session=session, token=token)


def _login(token: str | None) -> tuple[Runtime, User]:
    """The token's user, for long-running commands that open their own transactions."""
    with _as_user(token) as (rt, _session, user):
        return rt, user


def _page(items: list[Any], model: type[BaseModel]) -> Page[Any]:
    return Page(data=[model.model_validate(i) for i in items], count=len(items))


# --- home and users ----------------------------------------------------------------------------------


@app.command()
@handles_errors
def init(as_json: Json = False, verbose: Verbose = False) -> None:
    """Create FTGATE_HOME: database, log signing key, pseudonym key, admin token (shown once)."""
    from gateway.services.users import init_home

    result = init_home(rt=_runtime())
    render(result, as_json=as_json)
    if not as_json:
        err.print("Keep the admin token: it is shown only once. export FTGATE_TOKEN=<token>")


@users_app.command("add")
@handles_errors
def users_add(
    name: str,
    role: Annotated[str, typer.Option(help="submitter | approver | auditor | admin")],
    team: Annotated[str, typer.Option(help="The user's team.")] = "default",
    token: Token = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Add a user and print their token once."""
    from gateway.services.users import add_user

    with _as_user(token) as (rt, session, actor):
        created = add_user(rt=rt, session=session, actor=actor, name=name, role=role, team=team)
    render(created, as_json=as_json)


@users_app.command("list")
@handles_errors
def users_list(token: Token = None, as_json: Json = False, verbose: Verbose = False) -> None:
    """List users (tokens are never shown again)."""
    from gateway.services.users import list_users

    with _as_user(token) as (rt, session, actor):
        page = _page(list_users(rt=rt, session=session, actor=actor), UserPublic)
    render(page, as_json=as_json, columns=["id", "name", "role", "team"])


# --- base models -------------------------------------------------------------------------------------


@models_app.command("add")
@handles_errors
def models_add(
    name: str,
    path: Path,
    token: Token = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Register a local Hugging Face model directory or GGUF file, with the SHA-256 of its weights."""
    from gateway.services.catalog import add_model

    with _as_user(token) as (rt, session, actor):
        entry = add_model(rt=rt, session=session, actor=actor, name=name, path=path)
    render(BaseModelPublic.model_validate(entry), as_json=as_json)


@models_app.command("list")
@handles_errors
def models_list(token: Token = None, as_json: Json = False, verbose: Verbose = False) -> None:
    """List registered base models."""
    from gateway.services.catalog import list_models

    with _as_user(token) as (rt, session, actor):
        page = _page(list_models(rt=rt, session=session, actor=actor), BaseModelPublic)
    render(page, as_json=as_json, columns=["name", "gguf_file", "weights_sha256"])


# --- datasets ----------------------------------------------------------------------------------------


@datasets_app.command("upload")
@handles_errors
def datasets_upload(
    file: Annotated[Path, typer.Argument(help="JSONL: OpenAI chat records or prompt/completion records.")],
    name: Annotated[str, typer.Option(help="A name for the dataset.")],
    purpose: Annotated[str, typer.Option(help="style | format | behaviour | task")],
    classification: Annotated[str, typer.Option(help="public | internal | confidential | restricted")],
    token: Token = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Validate, redact (Presidio) and admit a training file; only the redacted JSONL is kept."""
    from gateway.services.datasets import upload_dataset

    if not file.is_file():
        raise InvalidInput(f"{file}: no such file")
    with _as_user(token) as (rt, session, actor):
        if not as_json:
            err.print(f"Scanning {file.name} for PII ...")
        dataset = upload_dataset(
            rt=rt,
            session=session,
            actor=actor,
            data=file.read_bytes(),
            name=name,
            purpose=purpose,
            classification=classification,
        )
    render(DatasetPublic.model_validate(dataset), as_json=as_json)


@datasets_app.command("list")
@handles_errors
def datasets_list(token: Token = None, as_json: Json = False, verbose: Verbose = False) -> None:
    """List datasets you may see."""
    from gateway.services.datasets import list_datasets

    with _as_user(token) as (rt, session, actor):
        page = _page(list_datasets(rt=rt, session=session, actor=actor), DatasetPublic)
    render(
        page,
        as_json=as_json,
        columns=["id", "name", "team", "uploader", "status", "records", "redacted_sha256"],
    )


@datasets_app.command("show")
@handles_errors
def datasets_show(
    dataset_id: str, token: Token = None, as_json: Json = False, verbose: Verbose = False
) -> None:
    """Show a dataset, its scan report and its reviews."""
    from gateway.services.datasets import get_dataset, list_approvals

    with _as_user(token) as (rt, session, actor):
        dataset = get_dataset(rt=rt, session=session, actor=actor, dataset_id=dataset_id)
        reviews = [
            ApprovalPublic.model_validate(a) for a in list_approvals(session=session, dataset_id=dataset_id)
        ]
    render(
        {**DatasetPublic.model_validate(dataset).model_dump(mode="json"), "reviews": reviews}, as_json=as_json
    )


@datasets_app.command("download")
@handles_errors
def datasets_download(
    dataset_id: str,
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write the redacted JSONL.")],
    token: Token = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Write the redacted JSONL (checked against its hash first)."""
    from gateway.services.datasets import dataset_file

    with _as_user(token) as (rt, session, actor):
        path = dataset_file(rt=rt, session=session, actor=actor, dataset_id=dataset_id)
        data = path.read_bytes()
    output.write_bytes(data)
    render(
        {"id": dataset_id, "status": "downloaded", "path": str(output), "bytes": len(data)}, as_json=as_json
    )


def _review(dataset_id: str, verdict: Verdict, note: str, token: str | None, as_json: bool) -> None:
    from gateway.services.datasets import review_dataset

    with _as_user(token) as (rt, session, actor):
        approval = review_dataset(
            rt=rt, session=session, actor=actor, dataset_id=dataset_id, verdict=verdict, note=note
        )
    public = ApprovalPublic.model_validate(approval)
    public.status = verdict.value
    render(public, as_json=as_json)


@datasets_app.command("approve")
@handles_errors
def datasets_approve(
    dataset_id: str,
    note: Annotated[str, typer.Option(help="Why; kept in the audit log.")],
    token: Token = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Approve a dataset's current redacted content (not your own upload)."""
    _review(dataset_id, Verdict.approved, note, token, as_json)


@datasets_app.command("reject")
@handles_errors
def datasets_reject(
    dataset_id: str,
    note: Annotated[str, typer.Option(help="Why; kept in the audit log.")],
    token: Token = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Reject a dataset."""
    _review(dataset_id, Verdict.rejected, note, token, as_json)


# --- jobs --------------------------------------------------------------------------------------------


@jobs_app.command("submit")
@handles_errors
def jobs_submit(
    dataset: Annotated[str, typer.Option(help="Dataset id.")],
    base_model: Annotated[str, typer.Option(help="A base model from the catalog.")] = "smollm2-135m-instruct",
    max_steps: Annotated[int | None, typer.Option(help="Optimiser steps.")] = None,
    epochs: Annotated[float | None, typer.Option(help="Passes over the data.")] = None,
    lr: Annotated[float | None, typer.Option("--lr", help="Learning rate.")] = None,
    lora_r: Annotated[int | None, typer.Option(help="LoRA rank.")] = None,
    lora_alpha: Annotated[int | None, typer.Option(help="LoRA alpha.")] = None,
    max_seq_len: Annotated[int | None, typer.Option(help="Tokens per example.")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Decide only; create nothing.")] = False,
    token: Token = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Ask the training policy; if allowed (and not a dry run), queue the job."""
    from gateway.services.jobs import parse_config, submit_job

    config = parse_config(
        {
            "max_steps": max_steps,
            "epochs": epochs,
            "learning_rate": lr,
            "lora_r": lora_r,
            "lora_alpha": lora_alpha,
            "max_seq_len": max_seq_len,
            "seed": seed,
        }
    )
    with _as_user(token) as (rt, session, actor):
        result = submit_job(
            rt=rt,
            session=session,
            actor=actor,
            dataset_id=dataset,
            base_model=base_model,
            config=config,
            dry_run=dry_run,
        )
    decision = result.decision.model_dump(mode="json")
    if result.job is None:
        doc: dict[str, Any] = {
            "id": None,
            "status": "allowed" if result.decision.allow else "denied",
            "dry_run": True,
        }
        doc["decision"] = decision
        render(doc, as_json=as_json)
        if not result.decision.allow:
            raise typer.Exit(1)
        return
    render(
        {
            **JobPublic.model_validate(result.job).model_dump(mode="json"),
            "decision": {**decision, "id": result.decision_id},
        },
        as_json=as_json,
    )


@jobs_app.command("list")
@handles_errors
def jobs_list(token: Token = None, as_json: Json = False, verbose: Verbose = False) -> None:
    """List jobs you may see."""
    from gateway.services.jobs import list_jobs

    with _as_user(token) as (rt, session, actor):
        page = _page(list_jobs(rt=rt, session=session, actor=actor), JobPublic)
    render(
        page, as_json=as_json, columns=["id", "dataset_id", "submitter", "base_model", "status", "adapter_id"]
    )


@jobs_app.command("show")
@handles_errors
def jobs_show(job_id: str, token: Token = None, as_json: Json = False, verbose: Verbose = False) -> None:
    """Show a job."""
    from gateway.services.jobs import get_job

    with _as_user(token) as (rt, session, actor):
        job = get_job(rt=rt, session=session, actor=actor, job_id=job_id)
    render(JobPublic.model_validate(job), as_json=as_json)


@jobs_app.command("logs")
@handles_errors
def jobs_logs(job_id: str, token: Token = None, as_json: Json = False, verbose: Verbose = False) -> None:
    """Show a job's events: verification, per-step loss and throughput, outcome."""
    from gateway.services.jobs import job_events

    with _as_user(token) as (rt, session, actor):
        events = job_events(rt=rt, session=session, actor=actor, job_id=job_id)
    page = _page(events, JobEventPublic)
    if as_json:
        render(page, as_json=True)
        return
    for event in page.data:
        d = event.data
        if event.kind == "step":
            line = (
                f"step {d.get('step')}/{d.get('steps')}  loss {d.get('loss', 0):.4f}  "
                f"{d.get('tokens_per_s', 0):.0f} tok/s"
            )
        else:
            line = ", ".join(f"{k}={v}" for k, v in d.items() if k != "event")
        err.print(f"{event.time:%H:%M:%S} {event.kind:<9} {line}", highlight=False)


@app.command()
@handles_errors
def worker(
    once: Annotated[bool, typer.Option("--once", help="Process at most one job, then exit.")] = False,
    poll: Annotated[float, typer.Option(help="Seconds between queue polls.")] = 2.0,
    token: Token = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Take queued jobs, re-check policy and hashes, fine-tune, register adapters."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from gateway.worker import run_worker

    rt, actor = _login(token)
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[info]}"),
        TimeRemainingColumn(),
        console=err,
        disable=as_json,
    )
    tasks: dict[str, Any] = {}

    def on_step(job_id: str, event: dict[str, Any]) -> None:
        if job_id not in tasks:
            tasks[job_id] = progress.add_task(f"training {job_id}", total=event.get("steps"), info="")
        progress.update(
            tasks[job_id],
            completed=event.get("step", 0),
            info=f"loss {event.get('loss', 0):.3f} {event.get('tokens_per_s', 0):.0f} tok/s",
        )

    with progress:
        jobs = run_worker(rt=rt, actor=actor, once=once, poll_seconds=poll, progress=on_step)
    page = _page(jobs, JobPublic)
    render(page, as_json=as_json, columns=["id", "status", "adapter_id", "error"])
    if any(j.status == "failed" for j in page.data):
        raise typer.Exit(1)


# --- adapters and audit ------------------------------------------------------------------------------


@adapters_app.command("list")
@handles_errors
def adapters_list(token: Token = None, as_json: Json = False, verbose: Verbose = False) -> None:
    """List adapters you may see."""
    from gateway.services.adapters import list_adapters

    with _as_user(token) as (rt, session, actor):
        page = _page(list_adapters(rt=rt, session=session, actor=actor), AdapterPublic)
    render(page, as_json=as_json, columns=["id", "job_id", "dataset_id", "base_model", "status"])


@adapters_app.command("show")
@handles_errors
def adapters_show(
    adapter_id: str, token: Token = None, as_json: Json = False, verbose: Verbose = False
) -> None:
    """Show an adapter: files with SHA-256, signature, metrics."""
    from gateway.services.adapters import get_adapter

    with _as_user(token) as (rt, session, actor):
        adapter = get_adapter(rt=rt, session=session, actor=actor, adapter_id=adapter_id)
    render(AdapterPublic.model_validate(adapter), as_json=as_json)


@audit_app.command("verify")
@handles_errors
def audit_verify(token: Token = None, as_json: Json = False, verbose: Verbose = False) -> None:
    """Recompute the whole hash chain; exit 0 only when the log is intact."""
    from gateway.services.audit import verify

    with _as_user(token) as (rt, session, actor):
        result = verify(rt=rt, session=session, actor=actor)
    render(result, as_json=as_json)


@audit_app.command("export")
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

    with _as_user(token) as (rt, session, actor):
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


@app.command()
@handles_errors
def serve(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Run the REST API (OpenAPI at /docs)."""
    import uvicorn

    from gateway.api.app import create_app

    rt = _runtime()
    rt.require_initialised()
    uvicorn.run(
        create_app(rt.settings), host=host, port=port, log_level=os.environ.get("FTGATE_UVICORN_LOG", "info")
    )


if __name__ == "__main__":
    app()
