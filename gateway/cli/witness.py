"""`ftgate witness`: run a C2SP witness (c2sp.org/tlog-witness) as its own process, with its own key
and state in its own directory; it never reads a gateway's home or database."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gateway.cli.common import Json, Verbose, handles_errors
from gateway.cli.output import err, render

app = typer.Typer(help="Run a witness that cosigns the log's checkpoints.", no_args_is_help=True)

Dir = Annotated[Path, typer.Option("--dir", help="The witness's directory: its key and its state.")]


@app.command("init")
@handles_errors
def witness_init(
    directory: Dir,
    name: Annotated[str, typer.Option("--name", help="The witness's name, e.g. witness.example.com/w1.")],
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Make a witness: a new Ed25519 key (0600) and an empty state; prints its verifier key."""
    from audit.witness_server import init_witness

    info = init_witness(directory=directory, name=name)
    render({"id": info.name, "status": "created", "verifier_key": info.verifier_key}, as_json=as_json)


@app.command("add-log")
@handles_errors
def witness_add_log(
    directory: Dir,
    vkey: Annotated[str, typer.Option("--vkey", help="The log's key (`ftgate keys export --which log`).")],
    origin: Annotated[
        str | None,
        typer.Option("--origin", help="The log's origin (checkpoints' first line); default: the key name."),
    ] = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Witness a log: cosign its checkpoints signed by this key, each extending the last one cosigned."""
    from audit.witness_server import add_log

    origin = origin if origin is not None else vkey.split("+", 1)[0]  # ftgate names its key after its log
    render({**add_log(directory=directory, origin=origin, vkey=vkey), "status": "added"}, as_json=as_json)


@app.command("logs")
@handles_errors
def witness_logs(directory: Dir, as_json: Json = False, verbose: Verbose = False) -> None:
    """The logs this witness witnesses and the size it last cosigned for each."""
    from audit.witness_server import list_logs

    rows = list_logs(directory=directory)
    render({"data": rows, "count": len(rows)}, as_json=as_json, columns=["origin", "size", "vkey"])


@app.command("key")
@handles_errors
def witness_key(directory: Dir, as_json: Json = False, verbose: Verbose = False) -> None:
    """Print the witness's verifier key (cosignature/v1), for the gateway's FTGATE_WITNESSES."""
    from audit.witness_server import witness_info

    info = witness_info(directory=directory)
    if as_json:
        render({"id": info.name, "verifier_key": info.verifier_key}, as_json=True)
    else:
        typer.echo(info.verifier_key)


@app.command("serve")
@handles_errors
def witness_serve(
    directory: Dir,
    listen: Annotated[str, typer.Option("--listen", help="HOST:PORT to listen on.")] = "127.0.0.1:7380",
    prefix: Annotated[str, typer.Option("--prefix", help="URL prefix before /add-checkpoint.")] = "",
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Serve the witness protocol (POST <prefix>/add-checkpoint) until interrupted."""
    from audit.witness_server import make_server, witness_info

    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit():
        from gateway.errors import InvalidInput

        raise InvalidInput(f"--listen must be HOST:PORT, not {listen!r}")
    info = witness_info(directory=directory)
    server = make_server(directory=directory, host=host.strip("[]"), port=int(port), prefix=prefix)
    bound = server.server_address
    err.print(f"witness {info.name} on http://{host}:{bound[1]}{prefix}/add-checkpoint", highlight=False)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
