"""`ftgate jobs`: training requests."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

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
from gateway.cli.output import err, out, render
from gateway.contract import PAGE_DEFAULT
from gateway.models import (
    JobEventPublic,
    JobPublic,
    JobStatus,
    Page,
    Verdict,
)

app = typer.Typer(help="Training requests.", no_args_is_help=True)


@app.command("submit")
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
    batch_size: Annotated[int | None, typer.Option(help="Records per optimiser step.")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Decide only; create nothing.")] = False,
    token: Token = None,
    token_file: TokenFile = None,
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
            "batch_size": batch_size,
            "seed": seed,
        }
    )
    with as_user(token, token_file) as (rt, session, actor):
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
        doc["estimate"] = result.estimate
        render(doc, as_json=as_json)
        if not result.decision.allow:
            raise typer.Exit(1)
        return
    render(
        {
            **JobPublic.model_validate(result.job).model_dump(mode="json"),
            "decision": {**decision, "id": result.decision_id},
            "estimate": result.estimate,
        },
        as_json=as_json,
    )


@app.command("list")
@handles_errors
def jobs_list(
    status: Annotated[
        JobStatus | None, typer.Option(help="Only jobs in this status, e.g. pending_review or running.")
    ] = None,
    limit: Limit = PAGE_DEFAULT,
    after: After = None,
    token: Token = None,
    token_file: TokenFile = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """List jobs you may see."""
    from gateway.services.jobs import list_jobs

    with as_user(token, token_file) as (rt, session, actor):
        found = list_jobs(rt=rt, session=session, actor=actor, status=status, limit=limit, after=after)
        page = to_page(found, JobPublic)
    render(
        page, as_json=as_json, columns=["id", "dataset_id", "submitter", "base_model", "status", "adapter_id"]
    )


@app.command("show")
@handles_errors
def jobs_show(
    job_id: str,
    token: Token = None,
    token_file: TokenFile = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Show a job."""
    from gateway.services.jobs import get_job

    with as_user(token, token_file) as (rt, session, actor):
        job = get_job(rt=rt, session=session, actor=actor, job_id=job_id)
    render(JobPublic.model_validate(job), as_json=as_json)


# A job in one of these states will write no more events: `logs -f` stops there.
_ENDED = {"succeeded", "failed", "cancelled", "rejected"}


def _event_line(kind: str, d: dict[str, Any]) -> str:
    if kind == "step":
        return (
            f"step {d.get('step')}/{d.get('steps')}  loss {d.get('loss', 0):.4f}  "
            f"{d.get('tokens_per_s', 0):.0f} tok/s  eta {d.get('eta_s', 0):.0f}s"
        )
    return ", ".join(f"{k}={v}" for k, v in d.items() if k != "event")


@app.command("logs")
@handles_errors
def jobs_logs(
    job_id: str,
    follow: Annotated[
        bool, typer.Option("-f", "--follow", help="Keep streaming, with a progress bar, until the job ends.")
    ] = False,
    poll: Annotated[float, typer.Option(help="Seconds between polls with --follow.", min=0.05)] = 1.0,
    token: Token = None,
    token_file: TokenFile = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Show a job's events: verification, per-step loss, throughput and ETA, checkpoints, outcome.

    With --follow the command exits when the job ends: 0 if it succeeded, 1 otherwise.
    """
    from gateway.services.jobs import get_job, job_events

    if not follow:
        with as_user(token, token_file) as (rt, session, actor):
            events = job_events(rt=rt, session=session, actor=actor, job_id=job_id)
        page = to_page(events, JobEventPublic)
        if as_json:
            render(page, as_json=True)
            return
        for event in page.data:  # what was asked for: stdout (`ftgate jobs logs J > log.txt`)
            line = _event_line(event.kind, event.data)
            out.print(f"{event.time:%H:%M:%S} {event.kind:<9} {line}", highlight=False)
        return

    from rich.progress import BarColumn, Progress, TextColumn

    seen: list[JobEventPublic] = []
    last_id = 0
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TextColumn("{task.fields[info]}"),
        console=err,
        disable=as_json,
    )
    task = None
    with bar:
        while True:
            with as_user(token, token_file) as (rt, session, actor):
                # Status first: events written after it are picked up by this same poll or the next.
                status = get_job(rt=rt, session=session, actor=actor, job_id=job_id).status.value
                events = job_events(rt=rt, session=session, actor=actor, job_id=job_id, after=last_id)
            for row in events:
                last_id = max(last_id, row.id or 0)
                event = JobEventPublic.model_validate(row)
                seen.append(event)
                if as_json:
                    continue
                if event.kind == "step":
                    if task is None:
                        task = bar.add_task(f"training {job_id}", total=event.data.get("steps"), info="")
                    d = event.data
                    info = (
                        f"loss {d.get('loss', 0):.3f}  {d.get('tokens_per_s', 0):.0f} tok/s"
                        f"  eta {d.get('eta_s', 0):.0f}s"
                    )
                    bar.update(task, completed=d.get("step", 0), info=info)
                else:  # the events on stdout; the bar, a diagnostic, on stderr
                    out.print(
                        f"{event.time:%H:%M:%S} {event.kind:<9} {_event_line(event.kind, event.data)}",
                        highlight=False,
                    )
            if status in _ENDED:
                break
            time.sleep(poll)
    if as_json:
        render(Page(data=seen, count=len(seen)), as_json=True)
    if status != "succeeded":
        err.print(f"job {job_id} {status}", highlight=False)
        raise typer.Exit(1)


@app.command("cancel")
@handles_errors
def jobs_cancel(
    job_id: str,
    token: Token = None,
    token_file: TokenFile = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Cancel a queued job, or stop a running one at its next training step."""
    from gateway.services.jobs import cancel_job

    with as_user(token, token_file) as (rt, session, actor):
        job = cancel_job(rt=rt, session=session, actor=actor, job_id=job_id)
    render(JobPublic.model_validate(job), as_json=as_json)


def _review(
    job_id: str, verdict: Verdict, note: str, token: str | None, token_file: Path | None, as_json: bool
) -> None:
    from gateway.services.job_reviews import review_job

    with as_user(token, token_file) as (rt, session, actor):
        job = review_job(rt=rt, session=session, actor=actor, job_id=job_id, verdict=verdict, note=note)
    render(JobPublic.model_validate(job), as_json=as_json)


@app.command("approve")
@handles_errors
def jobs_approve(
    job_id: str,
    note: Note,
    token: Token = None,
    token_file: TokenFile = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Sign off a job the policy held for review (not your own); it is queued for training."""
    _review(job_id, Verdict.approved, note, token, token_file, as_json)


@app.command("reject")
@handles_errors
def jobs_reject(
    job_id: str,
    note: Note,
    token: Token = None,
    token_file: TokenFile = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Turn down a job the policy held for review."""
    _review(job_id, Verdict.rejected, note, token, token_file, as_json)


@app.command("queue")
@handles_errors
def jobs_queue(
    limit: Limit = PAGE_DEFAULT,
    after: After = None,
    token: Token = None,
    token_file: TokenFile = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Jobs waiting for a reviewer's sign-off."""
    from gateway.services.job_reviews import review_queue

    with as_user(token, token_file) as (rt, session, actor):
        found = review_queue(rt=rt, session=session, actor=actor, limit=limit, after=after)
        page = to_page(found, JobPublic)
    render(page, as_json=as_json, columns=["id", "dataset_id", "submitter", "base_model", "status"])
