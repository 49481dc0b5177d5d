"""`ftgate signer`: a signer process holding the log's and the adapter-signing private keys, on a host
or account of its own, so the keys need not live beside the database (audit/signer_service.py)."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Annotated

import typer

from gateway.cli.common import Json, Verbose, handles_errors, read_token_file
from gateway.cli.output import err, render
from gateway.errors import InvalidInput

app = typer.Typer(help="A signer process that holds ftgate's private keys.", no_args_is_help=True)

Directory = Annotated[
    Path, typer.Option("--dir", help="The signer's own directory: its keys and its journal (0700).")
]


@app.command("init")
@handles_errors
def signer_init(directory: Directory, as_json: Json = False, verbose: Verbose = False) -> None:
    """Make the signer's directory and its two keys (the log's Ed25519, the adapters' P-256)."""
    from audit.signer_service import init_signer

    made = init_signer(directory)
    render({"status": "initialised", "dir": str(directory.resolve()), **made}, as_json=as_json)


@app.command("serve")
@handles_errors
def signer_serve(
    directory: Directory,
    token_file: Annotated[
        Path,
        typer.Option("--token-file", help="The bearer token ftgate must send (FTGATE_SIGNER_TOKEN_FILE)."),
    ],
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.", min=1, max=65535)] = 8700,
    tls_cert: Annotated[Path | None, typer.Option(help="PEM certificate chain, to serve https.")] = None,
    tls_key: Annotated[Path | None, typer.Option(help="Its private key.")] = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Sign what ftgate signs (checkpoints of its log, adapter manifests, DSSE envelopes), and nothing
    else, for whoever holds the token; every signature is journalled in the directory."""
    from audit.signer_service import SignerService, make_server

    if (tls_cert is None) != (tls_key is None):
        raise InvalidInput("--tls-cert and --tls-key go together")
    if tls_cert is None and host not in ("127.0.0.1", "localhost", "::1"):
        raise InvalidInput("off loopback the signer serves https only: pass --tls-cert and --tls-key")
    service = SignerService(directory, read_token_file(token_file))
    server = make_server(service, host, port)
    if tls_cert is not None and tls_key is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(tls_cert, tls_key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    scheme = "https" if tls_cert else "http"
    err.print(f"signer for log {service.origin} at {scheme}://{host}:{server.server_address[1]}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
