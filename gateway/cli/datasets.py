"""`ftgate datasets`: upload, review and download training data."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
    runtime,
    to_page,
)
from gateway.cli.output import (
    check_output,
    err,
    input_path,
    is_stdio,
    out,
    render,
    render_residual,
    write_output,
)
from gateway.contract import PAGE_DEFAULT
from gateway.models import (
    DEFAULT_LICENCE,
    DatasetEventPublic,
    DatasetPublic,
    DatasetStatus,
    Page,
    Verdict,
)

app = typer.Typer(help="Upload, review and download training data.", no_args_is_help=True)


@app.command("upload")
@handles_errors
def datasets_upload(
    file: Annotated[
        Path, typer.Argument(help="JSONL: OpenAI chat records or prompt/completion records (- : stdin).")
    ],
    name: Annotated[str, typer.Option(help="A name for the dataset.")],
    purpose: Annotated[str, typer.Option(help="style | format | behaviour | task")],
    classification: Annotated[str, typer.Option(help="public | internal | confidential | restricted")],
    licence: Annotated[
        str, typer.Option(help="SPDX licence id of the data; LicenseRef-internal is your organisation's own.")
    ] = DEFAULT_LICENCE,
    wait: Annotated[
        bool,
        typer.Option(
            "--wait/--no-wait",
            help="Scan here and wait for the outcome (the default), or return once the file is received and"
            " leave the scan to a scan worker (`ftgate serve`, `ftgate worker --scan`).",
        ),
    ] = True,
    token: Token = None,
    token_file: TokenFile = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Validate, redact (Presidio) and admit a training file; only the redacted JSONL is kept.

    Exits 0 when the dataset waits for review (or, with --no-wait, once it is received), 1 when the policy
    refused it or its scan failed: the dataset stays, saying why (`ftgate datasets show ID`).
    """
    limit = runtime().settings.max_upload_bytes
    with input_path(file, limit=limit) as source:
        _upload(source, file.name if not is_stdio(file) else "standard input", name=name, purpose=purpose,
                classification=classification, licence=licence, wait=wait, token=token, token_file=token_file,
                as_json=as_json)  # fmt: skip


def _upload(
    file: Path,
    shown: str,
    *,
    name: str,
    purpose: str,
    classification: str,
    licence: str,
    wait: bool,
    token: str | None,
    token_file: Path | None,
    as_json: bool,
) -> None:
    from gateway.services.datasets import receive_dataset, upload_dataset

    if not wait:
        with as_user(token, token_file) as (rt, session, actor):
            dataset = receive_dataset(
                rt=rt,
                session=session,
                actor=actor,
                source=file,
                name=name,
                purpose=purpose,
                classification=classification,
                licence=licence,
            )
        if not as_json:
            err.print(
                f"Received as {dataset.id}; a scan worker will scan it. Follow it with: "
                f"ftgate datasets logs {dataset.id} -f",
                highlight=False,
            )
        render(DatasetPublic.model_validate(dataset), as_json=as_json)
        return
    with as_user(token, token_file) as (rt, session, actor), _upload_progress(show=not as_json) as progress:
        if not as_json:
            err.print(f"Scanning {shown} for PII ...")
        dataset = upload_dataset(
            rt=rt,
            session=session,
            actor=actor,
            source=file,
            name=name,
            purpose=purpose,
            classification=classification,
            licence=licence,
            progress=progress,
        )
    render(DatasetPublic.model_validate(dataset), as_json=as_json)


_PHASES = {
    "reading": "checking the file",
    "analysing": "scanning for PII",
    "indexing": "finding recurrences",
    "redacting": "redacting",
    "round 2": "redacting again (round 2)",
    "round 3": "redacting again (round 3)",
    "round 4": "redacting again (round 4)",
    "final check": "residual check (2nd model)",
    "writing": "writing the redacted file",
}


@contextmanager
def _upload_progress(*, show: bool) -> Iterator[Callable[[str, int, int | None], None]]:
    """A progress bar per pass of the upload on stderr, drawn only on a terminal (and never with --json)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=not (show and err.is_terminal),
        transient=False,
    )
    tasks: dict[str, Any] = {}

    def progress(phase: str, done: int, total: int | None) -> None:
        if phase not in tasks:
            tasks[phase] = bar.add_task(_PHASES.get(phase, phase), total=total)
        bar.update(tasks[phase], completed=done, total=total)

    with bar:
        yield progress


_SCAN_ENDED = {"pending_review", "refused", "failed", "approved", "rejected", "revoked"}


def _scan_event_line(kind: str, data: dict[str, Any]) -> str:
    if kind == "progress":
        total = data.get("total")
        phase = _PHASES.get(data.get("phase", ""), data.get("phase", ""))
        return f"{phase} {data.get('done', 0)}" + (f"/{total}" if total is not None else "")
    return ", ".join(f"{k}={v}" for k, v in data.items() if k != "details")


@app.command("logs")
@handles_errors
def datasets_logs(
    dataset_id: str,
    follow: Annotated[
        bool, typer.Option("-f", "--follow", help="Keep streaming until the scan ends.")
    ] = False,
    poll: Annotated[float, typer.Option(help="Seconds between polls with --follow.", min=0.05)] = 1.0,
    token: Token = None,
    token_file: TokenFile = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Show a dataset's scan events: received, started, progress per pass, and how it ended.

    With --follow the command exits when the scan ends: 0 if the dataset waits for review, 1 if it was
    refused or failed.
    """
    import time

    from gateway.services.datasets import dataset_events, get_dataset

    seen: list[DatasetEventPublic] = []
    last_id = 0
    while True:
        with as_user(token, token_file) as (rt, session, actor):
            # Status first: events written after it are picked up by this same poll or the next.
            dataset = get_dataset(rt=rt, session=session, actor=actor, dataset_id=dataset_id)
            status, error = dataset.status.value, dataset.error
            events = dataset_events(rt=rt, session=session, actor=actor, dataset_id=dataset_id, after=last_id)
            rows = [DatasetEventPublic.model_validate(row) for row in events]
        for event in rows:
            last_id = max(last_id, event.id)
            seen.append(event)
            if not as_json:
                out.print(
                    f"{event.time:%H:%M:%S} {event.kind:<14} {_scan_event_line(event.kind, event.data)}",
                    highlight=False,
                    markup=False,
                )
        if not follow or status in _SCAN_ENDED:
            break
        time.sleep(poll)
    if as_json:
        render(Page(data=seen, count=len(seen)), as_json=True)
    if follow and status in ("refused", "failed"):
        message = (error or {}).get("message", "")
        err.print(f"dataset {dataset_id} {status}: {message}", highlight=False, markup=False)
        raise typer.Exit(1)


@app.command("list")
@handles_errors
def datasets_list(
    status: Annotated[
        DatasetStatus | None, typer.Option(help="Only datasets in this status, e.g. pending_review.")
    ] = None,
    limit: Limit = PAGE_DEFAULT,
    after: After = None,
    token: Token = None,
    token_file: TokenFile = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """List datasets you may see."""
    from gateway.services.datasets import list_datasets

    with as_user(token, token_file) as (rt, session, actor):
        page = to_page(
            list_datasets(rt=rt, session=session, actor=actor, status=status, limit=limit, after=after),
            DatasetPublic,
        )
    render(page, as_json=as_json, columns=_LIST_COLUMNS)


_LIST_COLUMNS = ["id", "name", "team", "uploader", "classification", "status", "records", "created_at"]


@app.command("queue")
@handles_errors
def datasets_queue(
    limit: Limit = PAGE_DEFAULT,
    after: After = None,
    token: Token = None,
    token_file: TokenFile = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Datasets waiting for your review: pending, not yours, not reviewed by you yet; oldest first."""
    from gateway.services.datasets import review_queue

    with as_user(token, token_file) as (rt, session, actor):
        page = to_page(
            review_queue(rt=rt, session=session, actor=actor, limit=limit, after=after), DatasetPublic
        )
    render(page, as_json=as_json, columns=_LIST_COLUMNS)


@app.command("show")
@handles_errors
def datasets_show(
    dataset_id: str,
    token: Token = None,
    token_file: TokenFile = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Show a dataset, its scan report, its reviews, and rejections of the same content before."""
    from gateway.services.datasets import dataset_detail

    with as_user(token, token_file) as (rt, session, actor):
        detail = dataset_detail(rt=rt, session=session, actor=actor, dataset_id=dataset_id)
    render(detail, as_json=as_json)
    if as_json:
        return
    for earlier in detail.rejected_before:
        err.print(
            f"warning: this content was rejected before, in {earlier.dataset_id}, by {earlier.approver}: "
            f"{earlier.note}",
            highlight=False,
            markup=False,
        )
    residual = (detail.scan_report or {}).get("residual")
    if residual:  # what the residual check found, by record, field and type
        title = (
            "Personal data left after redaction: fix these records, or ask compliance"
            if detail.status == "refused"
            else "Records left out: the residual check found personal data"
        )
        render_residual(residual, console=out, title=title)


@app.command("download")
@handles_errors
def datasets_download(
    dataset_id: str,
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Where to write the redacted JSONL (- : stdout).")
    ],
    token: Token = None,
    token_file: TokenFile = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Write the redacted JSONL (checked against its hash first)."""
    check_output(output)
    from gateway.services.datasets import dataset_file

    with as_user(token, token_file) as (rt, session, actor):
        path = dataset_file(rt=rt, session=session, actor=actor, dataset_id=dataset_id)
        data = path.read_bytes()
    write_output(output, data)
    render(
        {"id": dataset_id, "status": "downloaded", "path": str(output), "bytes": len(data)}, as_json=as_json
    )


def _review(
    dataset_id: str, verdict: Verdict, note: str, token: str | None, token_file: Path | None, as_json: bool
) -> None:
    from gateway.services.datasets import review_dataset

    with as_user(token, token_file) as (rt, session, actor):
        review = review_dataset(
            rt=rt, session=session, actor=actor, dataset_id=dataset_id, verdict=verdict, note=note
        )
    render(review, as_json=as_json)


@app.command("approve")
@handles_errors
def datasets_approve(
    dataset_id: str,
    note: Note,
    token: Token = None,
    token_file: TokenFile = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Approve a dataset's current redacted content (not your own upload)."""
    _review(dataset_id, Verdict.approved, note, token, token_file, as_json)


@app.command("reject")
@handles_errors
def datasets_reject(
    dataset_id: str,
    note: Note,
    token: Token = None,
    token_file: TokenFile = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Reject a dataset."""
    _review(dataset_id, Verdict.rejected, note, token, token_file, as_json)


@app.command("check")
@handles_errors
def datasets_check(
    dataset_id: str,
    token: Token = None,
    token_file: TokenFile = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Would today's admission policy still admit this dataset? Every reason, with codes; creates nothing."""
    from gateway.services.policy import check_dataset

    with as_user(token, token_file) as (rt, session, actor):
        result = check_dataset(rt=rt, session=session, actor=actor, dataset_id=dataset_id)
    render(result, as_json=as_json)
    if result["status"] != "admissible":
        raise typer.Exit(1)


@app.command("revoke")
@handles_errors
def datasets_revoke(
    dataset_id: str,
    note: Note,
    token: Token = None,
    token_file: TokenFile = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Withdraw a dataset: no more training on it; every adapter trained on it is quarantined."""
    from gateway.services.datasets import revoke_dataset

    with as_user(token, token_file) as (rt, session, actor):
        revocation, adapters = revoke_dataset(
            rt=rt, session=session, actor=actor, dataset_id=dataset_id, note=note
        )
        result = {
            "id": dataset_id,
            "status": "revoked",
            "revocation_id": revocation.id,
            "revoked_by": revocation.revoked_by,
            "note": revocation.note,
            "quarantined": [a.id for a in adapters],
        }
    render(result, as_json=as_json)
