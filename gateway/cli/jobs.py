"""`ftgate jobs`: training requests."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from gateway.cli.common import Json, Token, Verbose, as_user, handles_errors, to_page
from gateway.cli.output import err, render
from gateway.models import (
    JobEventPublic,
    JobPublic,
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
    with as_user(token) as (rt, session, actor):
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


@app.command("list")
@handles_errors
def jobs_list(token: Token = None, as_json: Json = False, verbose: Verbose = False) -> None:
    """List jobs you may see."""
    from gateway.services.jobs import list_jobs

    with as_user(token) as (rt, session, actor):
        page = to_page(list_jobs(rt=rt, session=session, actor=actor), JobPublic)
    render(
        page, as_json=as_json, columns=["id", "dataset_id", "submitter", "base_model", "status", "adapter_id"]
    )


@app.command("show")
@handles_errors
def jobs_show(job_id: str, token: Token = None, as_json: Json = False, verbose: Verbose = False) -> None:
    """Show a job."""
    from gateway.services.jobs import get_job

    with as_user(token) as (rt, session, actor):
        job = get_job(rt=rt, session=session, actor=actor, job_id=job_id)
    render(JobPublic.model_validate(job), as_json=as_json)


@app.command("logs")
@handles_errors
def jobs_logs(job_id: str, token: Token = None, as_json: Json = False, verbose: Verbose = False) -> None:
    """Show a job's events: verification, per-step loss and throughput, outcome."""
    from gateway.services.jobs import job_events

    with as_user(token) as (rt, session, actor):
        events = job_events(rt=rt, session=session, actor=actor, job_id=job_id)
    page = to_page(events, JobEventPublic)
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
