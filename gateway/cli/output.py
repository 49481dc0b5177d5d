"""Rendering for the CLI: one JSON document with --json, readable text otherwise."""

from __future__ import annotations

import contextlib
import json
import os
import stat
import sys
import tempfile
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from gateway.errors import InvalidInput

out = Console()
err = Console(stderr=True)


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
    mode = check_output(path)
    where, parent = str(path), path.parent
    try:
        if mode is not None and not stat.S_ISREG(mode):
            with path.open("wb") as device:
                device.write(data)
            return
        fd, tmp = tempfile.mkstemp(dir=parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError as exc:
        raise InvalidInput(f"cannot write {where}: {exc.strerror or exc}") from None


def emit_json(value: Any) -> None:
    sys.stdout.write(json.dumps(to_data(value), indent=2, default=str) + "\n")
    sys.stdout.flush()


def render(value: Any, *, as_json: bool, columns: list[str] | None = None, title: str | None = None) -> None:
    """Print a record or a `{data, count}` page; with as_json exactly one JSON document on stdout."""
    data = to_data(value)
    if as_json:
        emit_json(data)
        return
    if isinstance(data, dict) and "data" in data and "count" in data:
        rows = data["data"]
        cols = columns or (list(rows[0].keys()) if rows else [])
        table = Table(title=title)
        for c in cols:
            table.add_column(c, overflow="fold")
        for row in rows:
            table.add_row(*(_short(row.get(c)) for c in cols))
        out.print(table)
        if data.get("next"):
            out.print(f"{data['count']} shown; more after them: --after {data['next']}", highlight=False)
        else:
            out.print(f"{data['count']} total")
        return
    if isinstance(data, dict):
        width = max((len(k) for k in data), default=0)
        for key, val in data.items():
            shown = json.dumps(val, indent=2, default=str) if isinstance(val, dict | list) else str(val)
            out.print(f"[bold]{key.ljust(width)}[/bold]  {shown}", highlight=False)
        return
    out.print(data)


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
