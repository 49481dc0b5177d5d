"""`ftgate audit`: verify the log and export lineage."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gateway.cli.common import Json, Limit, Token, TokenFile, Verbose, as_user, handles_errors
from gateway.cli.output import check_output, read_input, render, write_output
from gateway.contract import PAGE_DEFAULT

app = typer.Typer(help="Verify the log and export lineage.", no_args_is_help=True)


@app.command("verify")
@handles_errors
def audit_verify(
    checkpoint: Annotated[
        Path | None,
        typer.Option("--checkpoint", help="A signed checkpoint the current log must extend (- : stdin)."),
    ] = None,
    token: Token = None,
    token_file: TokenFile = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Recompute the whole hash chain and Merkle tree; exit 0 only when the log is intact."""
    from gateway.services.audit import verify

    note = _read_text(checkpoint, "checkpoint") if checkpoint is not None else None
    with as_user(token, token_file) as (rt, session, actor):
        result = verify(rt=rt, session=session, actor=actor, checkpoint_note=note)
    render(result, as_json=as_json)


@app.command("export")
@handles_errors
def audit_export(
    adapter: Annotated[str, typer.Option(help="Adapter id.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="File to write (- : stdout).")],
    fmt: Annotated[
        str, typer.Option("--format", help="json | html | intoto | cyclonedx | openlineage")
    ] = "json",
    token: Token = None,
    token_file: TokenFile = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Write an adapter's lineage, read from the verified log."""
    check_output(output)
    from gateway.services.audit import export_document

    with as_user(token, token_file) as (rt, session, actor):
        document = export_document(rt=rt, session=session, actor=actor, adapter_id=adapter, fmt=fmt)
    write_output(output, document.content)
    lineage = document.lineage
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


def _read_text(path: Path, what: str) -> str:
    """A text input file, or standard input for `-`."""
    from gateway.errors import InvalidInput

    try:
        return read_input(path, f"{what} file").decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"the {what} file {path} is not UTF-8: {exc}") from exc


@app.command("checkpoint")
@handles_errors
def audit_checkpoint(
    output: Annotated[
        Path, typer.Option("-o", "--output", help="File to write the signed checkpoint to (- : stdout).")
    ],
    token: Token = None,
    token_file: TokenFile = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Verify the log and write a signed C2SP checkpoint of it, for a witness to keep."""
    check_output(output)
    from gateway.services.audit import make_checkpoint

    with as_user(token, token_file) as (rt, session, actor):
        result = make_checkpoint(rt=rt, session=session, actor=actor)
    write_output(output, result.pop("checkpoint").encode("utf-8"))
    render({**result, "path": str(output)}, as_json=as_json)


@app.command("witness")
@handles_errors
def audit_witness(
    token: Token = None,
    token_file: TokenFile = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Submit the current checkpoint to every configured witness now; exit 1 below the quorum."""
    from gateway.services.audit import witness_checkpoint

    with as_user(token, token_file) as (rt, session, actor):
        result = witness_checkpoint(rt=rt, session=session, actor=actor)
    render(result, as_json=as_json, columns=["witness", "status", "tree_size", "detail"])
    if sum(r["status"] == "cosigned" for r in result["data"]) < result["quorum"]:
        raise typer.Exit(1)


@app.command("proof")
@handles_errors
def audit_proof(
    adapter: Annotated[str, typer.Option(help="Adapter id.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Bundle file to write (- : stdout).")],
    token: Token = None,
    token_file: TokenFile = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Write a bundle proving the adapter's lineage entries are in the signed log."""
    check_output(output)
    import json

    from gateway.services.audit import proof_bundle

    with as_user(token, token_file) as (rt, session, actor):
        bundle = proof_bundle(rt=rt, session=session, actor=actor, adapter_id=adapter)
    write_output(output, (json.dumps(bundle, indent=2) + "\n").encode("utf-8"))
    render(
        {
            "id": adapter,
            "status": "proved",
            "path": str(output),
            "entries": len(bundle["entries"]),
            "tree_size": bundle["tree_size"],
            "verifier_key": bundle["verifier_key"],
        },
        as_json=as_json,
    )


@app.command("verify-bundle")
@handles_errors
def audit_verify_bundle(
    bundle: Annotated[Path, typer.Argument(help="A bundle written by `ftgate audit proof` (- : stdin).")],
    key: Annotated[
        str | None,
        typer.Option("--key", help="The log's verifier key, as the operator publishes it: whose log it is."),
    ] = None,
    trust_embedded_key: Annotated[
        bool,
        typer.Option(
            "--trust-embedded-key",
            help="Accept the key the bundle carries (proves it is consistent, not whose log it is).",
        ),
    ] = False,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Check a proof bundle offline: no database, no server.

    Exits 0 when it verifies against a key you trust, 1 when it verifies only against its own key
    (`untrusted`: give --key, or --trust-embedded-key), 1 with an error when it does not verify.
    """
    import json

    from gateway.errors import InvalidInput
    from gateway.services.audit import check_proof_bundle

    try:
        data = json.loads(_read_text(bundle, "bundle"))
    except ValueError as exc:
        raise InvalidInput(f"bundle {bundle} is not JSON: {exc}") from exc
    result = check_proof_bundle(bundle=data, trusted_key=key, trust_embedded_key=trust_embedded_key)
    render({"id": str(bundle), **result}, as_json=as_json)
    if result["status"] != "verified":
        raise typer.Exit(1)


@app.command("log")
@handles_errors
def audit_log(
    action: Annotated[str | None, typer.Option(help="Only this action, e.g. dataset.approved.")] = None,
    actor: Annotated[str | None, typer.Option(help="Only entries by this user.")] = None,
    subject: Annotated[str | None, typer.Option(help="Only entries about this id.")] = None,
    since: Annotated[str | None, typer.Option(help="From this time (ISO 8601; UTC if no zone).")] = None,
    until: Annotated[str | None, typer.Option(help="Before this time (ISO 8601).")] = None,
    limit: Limit = PAGE_DEFAULT,
    after: Annotated[int | None, typer.Option(help="The `next` of the previous page.", min=0)] = None,
    token: Token = None,
    token_file: TokenFile = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """The log's entries in log order, filtered and paged (read as stored: `audit verify` checks it)."""
    from gateway.services.audit import EntryFilter, list_entries
    from gateway.services.lineage import parse_time

    with as_user(token, token_file) as (rt, session, actor_user):
        where = EntryFilter(
            action=action,
            actor=actor,
            subject=subject,
            since=parse_time(since, "since") if since is not None else None,
            until=parse_time(until, "until") if until is not None else None,
        )
        found = list_entries(rt=rt, session=session, actor=actor_user, where=where, limit=limit, after=after)
    page = {"data": found.items, "count": len(found.items), "next": found.next}
    render(page, as_json=as_json, columns=["seq", "time", "actor", "action", "subject"])


@app.command("state")
@handles_errors
def audit_state(
    at: Annotated[
        str, typer.Option("--at", help="ISO 8601 time, e.g. 2026-11-29T04:00:00Z (UTC if no zone).")
    ],
    token: Token = None,
    token_file: TokenFile = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Which datasets and adapters were approved, registered or quarantined at a moment, from the log."""
    from gateway.services.lineage import log_state

    with as_user(token, token_file) as (rt, session, actor):
        state = log_state(rt=rt, session=session, actor=actor, at=at)
    if as_json:
        render(state, as_json=True)
        return
    for kind in ("datasets", "adapters"):
        rows = state[kind]
        render({"data": rows, "count": len(rows)}, as_json=False, title=f"{kind} at {state['at']}")
