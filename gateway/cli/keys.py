"""`ftgate keys`: the public keys a verifier needs, to give to auditors or pin in their tools."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from gateway.cli.common import Json, Verbose, handles_errors, runtime
from gateway.cli.output import check_output, render, write_output
from gateway.errors import NotFound

app = typer.Typer(help="The public keys to check ftgate's evidence with.", no_args_is_help=True)


class Which(StrEnum):
    all = "all"
    log = "log"
    adapter = "adapter"
    witnesses = "witnesses"


@app.command("export")
@handles_errors
def keys_export(
    which: Annotated[
        Which,
        typer.Option(
            "--which",
            help="all: every key as one document; log: the checkpoint verifier key (note format, for "
            "`audit verify-bundle --key`); adapter: the adapter-signing public key as PEM (for "
            "`model_signing verify key --public_key`); witnesses: the configured witnesses' cosignature "
            "verifier keys, one a line.",
        ),
    ] = Which.all,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write it to this file (- : stdout).")
    ] = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Print (or write) the log's and the adapter-signing public keys; no token needed."""
    from gateway.services.keys import published_keys

    if output is not None:
        check_output(output)
    rt = runtime()
    rt.require_initialised()
    keys = published_keys(rt=rt)
    if which is Which.all:
        text = keys.model_dump_json(indent=2) + "\n"
    elif which is Which.log:
        text = keys.log.verifier_key + "\n"
    elif which is Which.witnesses:
        if not keys.witnesses:
            raise NotFound("no witnesses are configured (FTGATE_WITNESSES)")
        text = "".join(vkey + "\n" for vkey in keys.witnesses)
    elif keys.adapter_signing is None:
        raise NotFound("no adapter has been signed here yet, so there is no adapter-signing key")
    else:
        text = keys.adapter_signing.pem
    if output is not None:
        write_output(output, text.encode())
        render({"id": which.value, "status": "exported", "path": str(output)}, as_json=as_json)
    elif as_json or which is Which.all:
        render(keys.model_dump(mode="json") if which is Which.all else {"key": text.strip()}, as_json=as_json)
    else:
        typer.echo(text, nl=False)
