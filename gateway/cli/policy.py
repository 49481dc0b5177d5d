"""`ftgate policy`: read, test, evaluate and replay the Rego policies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from gateway.cli.common import Json, Token, TokenFile, Verbose, as_user, handles_errors, runtime
from gateway.cli.output import err, read_input, render
from gateway.errors import InvalidInput

app = typer.Typer(help="Read, test, evaluate and replay the Rego policies.", no_args_is_help=True)


@app.command("bundle")
@handles_errors
def bundle(as_json: Json = False, verbose: Verbose = False) -> None:
    """The policy bundle's SHA-256 and every file in it, as decisions name it."""
    from gateway.services.policy import bundle_manifest

    render(bundle_manifest(rt=runtime()), as_json=as_json)


@app.command("manifest")
@handles_errors
def manifest(
    check: Annotated[
        bool, typer.Option("--check", help="Only say whether the `.manifest` is current; exit 1 if not.")
    ] = False,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Write OPA's `.manifest` into the policy directory (revision: the bundle hash; roots), so an OPA
    serving the directory reports the revision ftgate's decisions name. Run it after editing a policy."""
    from gateway.services.policy import bundle_manifest, write_opa_manifest

    rt = runtime()
    if check:
        state = bundle_manifest(rt=rt)
        render({"id": state["id"], "status": state["opa_manifest"]}, as_json=as_json)
        if state["opa_manifest"] != "current":
            raise typer.Exit(1)
        return
    render(write_opa_manifest(rt=rt), as_json=as_json)


@app.command("test")
@handles_errors
def test(
    coverage: Annotated[bool, typer.Option("--coverage", help="Report rule coverage per file.")] = False,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Run every test_ rule in the *_test.rego files; exit 1 if any fails."""
    from gateway.services.policy import run_tests

    report = run_tests(rt=runtime(), coverage=coverage)
    if as_json:
        render(report, as_json=True)
    else:
        for failure in report["failures"]:
            err.print(f"[red]FAIL[/red] {failure['test']} {failure['error'] or ''}", highlight=False)
        for c in report.get("coverage", []):
            err.print(f"{c['percent']:5.1f}%  {c['file']}", highlight=False)
        err.print(f"{report['passed']} passed, {report['failed']} failed", highlight=False)
    if report["failed"]:
        raise typer.Exit(1)


@app.command("eval")
@handles_errors
def eval_(
    entrypoint: Annotated[str, typer.Option(help="ftgate.dataset | ftgate.training | ftgate.authz")],
    input_file: Annotated[
        Path, typer.Option("--input", help="JSON file with the input document (- : stdin).")
    ],
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Evaluate one entrypoint on an input, as the gateway would; nothing is stored. Exit 1 on deny."""
    from gateway.services.policy import evaluate

    try:
        document = json.loads(read_input(input_file, "input file"))
    except ValueError as exc:
        raise InvalidInput(f"{input_file} is not valid JSON: {exc}") from None
    decision = evaluate(rt=runtime(), entrypoint=entrypoint, input=document)
    render(decision, as_json=as_json)
    if not decision.allow:
        raise typer.Exit(1)


@app.command("replay")
@handles_errors
def replay(
    decision_id: str,
    token: Token = None,
    token_file: TokenFile = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Re-evaluate a stored decision with the bundle that made it, and with today's policies."""
    from gateway.services.policy import replay as replay_decision

    with as_user(token, token_file) as (rt, session, actor):
        result = replay_decision(rt=rt, session=session, actor=actor, decision_id=decision_id)
    render(result, as_json=as_json)
    if result["status"] != "reproduced":
        raise typer.Exit(1)
