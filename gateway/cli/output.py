"""Rendering for the CLI: one JSON document with --json, readable text otherwise.

The conventions every command keeps: what a command produces goes to stdout, diagnostics (progress,
hints, errors) to stderr; `-` as an input file is standard input and as `-o` standard output, and a
command whose `-o -` took stdout prints its own summary (or --json document) on stderr instead, so
`ftgate audit export ... -o - > lineage.json` holds the export alone. Exit codes: 0 done, 1 refused or
failed (the message says why), 2 a usage error (typer's), 3 an unexpected internal error.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from ftgate_core.files import removed_on_failure
from gateway.errors import InvalidInput

out = Console()
err = Console(stderr=True)

STDIO = "-"


class _Stdout:
    """Whether this command's `-o -` has written its data to stdout (reset as each command starts)."""

    taken = False


def is_stdio(path: Path | str | None) -> bool:
    """Whether a file argument is `-`: standard input or standard output."""
    return path is not None and str(path) == STDIO


def release_stdout() -> None:
    _Stdout.taken = False


def read_input(path: Path, what: str, *, limit: int = 16 << 20) -> bytes:
    """The bytes of an input file, or of standard input for `-`, at most `limit` of them."""
    try:
        if is_stdio(path):
            data = sys.stdin.buffer.read(limit + 1)
        else:
            with path.open("rb") as file:
                data = file.read(limit + 1)
    except OSError as exc:
        raise InvalidInput(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise InvalidInput(f"the {what} {path} is larger than {limit:,} bytes")
    return data


@contextlib.contextmanager
def input_path(path: Path, *, limit: int) -> Iterator[Path]:
    """`path` itself, or for `-` standard input copied to a temporary file only its owner can read, at
    most `limit` bytes, removed when the block ends (a command that reads its input twice, or streams it)."""
    if not is_stdio(path):
        if not path.is_file():
            raise InvalidInput(f"{path}: no such file")
        yield path
        return
    fd, name = tempfile.mkstemp(prefix="ftgate-stdin-", suffix=".jsonl")  # 0600
    try:
        copied = 0
        with os.fdopen(fd, "wb") as spool:
            while chunk := sys.stdin.buffer.read(1 << 20):
                copied += len(chunk)
                if copied > limit:
                    raise InvalidInput(f"standard input is larger than {limit:,} bytes")
                spool.write(chunk)
        yield Path(name)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(name)


def to_data(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [to_data(v) for v in value]
    if isinstance(value, dict):
        return {k: to_data(v) for k, v in value.items()}
    return value


def check_output(path: Path) -> int | None:
    """Refuse an output path that cannot be written, before any work (and log entry) is done for it;
    returns the mode of what is there, None if nothing is."""
    where = str(path)
    if is_stdio(path):
        return None
    if not where or where == ".":
        raise InvalidInput("the output path is empty: name a file to write")
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise InvalidInput(f"cannot write {where}: {exc.strerror or exc}") from None
    if mode is not None and stat.S_ISDIR(mode):
        raise InvalidInput(f"cannot write {where}: it is a directory; name a file in it")
    if not path.parent.is_dir():
        raise InvalidInput(f"cannot write {where}: the directory {path.parent} does not exist")
    return mode


def write_output(path: Path, data: bytes) -> None:
    """Write `data` to the file `-o` names, whole or not at all.

    A regular file is written beside its target and renamed over it, so a failure (a full disk, an
    interrupt) leaves the old file or none, and never a temporary. A device or pipe (`/dev/stdout`) is
    written in place: renaming over it would replace the device. Any failure is an `InvalidInput` that
    names the path and the reason.
    """
    if is_stdio(path):
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        _Stdout.taken = True
        return
    mode = check_output(path)
    where, parent = str(path), path.parent
    try:
        if mode is not None and not stat.S_ISREG(mode):
            with path.open("wb") as device:
                device.write(data)
            return
        fd, tmp = tempfile.mkstemp(dir=parent, prefix=f".{path.name}.", suffix=".tmp")
        with removed_on_failure(tmp):
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(tmp, path)
    except OSError as exc:
        raise InvalidInput(f"cannot write {where}: {exc.strerror or exc}") from None


def emit_json(value: Any) -> None:
    stream = sys.stderr if _Stdout.taken else sys.stdout  # stdout holds the data `-o -` wrote
    stream.write(json.dumps(to_data(value), indent=2, default=str) + "\n")
    stream.flush()


def render(value: Any, *, as_json: bool, columns: list[str] | None = None, title: str | None = None) -> None:
    """Print a record or a `{data, count}` page; with as_json exactly one JSON document on stdout."""
    data = to_data(value)
    if as_json:
        emit_json(data)
        return
    console = err if _Stdout.taken else out  # stdout holds the data `-o -` wrote
    if isinstance(data, dict) and "data" in data and "count" in data:
        rows = data["data"]
        cols = columns or (list(rows[0].keys()) if rows else [])
        table = Table(title=title)
        for c in cols:
            table.add_column(c, overflow="fold")
        for row in rows:
            table.add_row(*(_short(row.get(c)) for c in cols))
        console.print(table)
        if data.get("next"):
            console.print(f"{data['count']} shown; more after them: --after {data['next']}", highlight=False)
        else:
            console.print(f"{data['count']} total")
        return
    if isinstance(data, dict):
        width = max((len(k) for k in data), default=0)
        for key, val in data.items():
            shown = json.dumps(val, indent=2, default=str) if isinstance(val, dict | list) else str(val)
            console.print(f"[bold]{key.ljust(width)}[/bold]  {shown}", highlight=False)
        return
    console.print(data)


def render_residual(rows: list[dict[str, Any]], *, console: Console, title: str) -> None:
    """The scan report's residual findings as a table: record, field path, entity type, count."""
    table = Table(title=title)
    for column in ("record", "field", "entity", "count"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(str(row.get(column, "")) for column in ("record", "field", "entity", "count")))
    console.print(table)


def _short(value: Any) -> str:
    text = json.dumps(value, default=str) if isinstance(value, dict | list) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."
