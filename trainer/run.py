"""`python -m trainer.run`: one training run from the command line, the unit a launcher starts.

Events go to stdout as JSON lines, then a `done` line with the files, metrics and versions. Under a
launcher (`trainer.accel.launch_command`, WORLD_SIZE > 1) every process runs this and trains its
share of each batch (see `trainer.train`); only rank 0 prints events and the `done` line.

`train_launched` is the other side: it starts that command (one process per GPU), streams its events
to a callback as `trainer.train` would call it, and stops the whole run when the callback raises.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from trainer.accel import Launcher, Ranks, launch_command, run_args
from trainer.config import TrainConfig
from trainer.errors import TrainerError
from trainer.models import BaseModelRef
from trainer.train import EventSink, TrainResult, train

STOP_GRACE_SECONDS = 20.0  # how long a stopped launcher gets to end its processes before SIGKILL
STDERR_TAIL_CHARS = 1500


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m trainer.run", description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True, help="TrainConfig as JSON")
    parser.add_argument("--data", type=Path, required=True, help="JSONL training records")
    parser.add_argument("--base-path", type=Path, required=True, help="base model directory")
    parser.add_argument("--base-name", required=True, help="the base model's logical name")
    parser.add_argument("--gguf-file", default=None, help="GGUF weights file inside --base-path")
    parser.add_argument("--out", type=Path, required=True, help="output directory (absent or empty)")
    parser.add_argument("--checkpoint-dir", type=Path, default=None)
    parser.add_argument("--checkpoint-every", type=int, default=0)
    parser.add_argument("--base-cache-dir", type=Path, default=None, help="de-quantised GGUF cache")
    parser.add_argument("--base-sha256", default=None, help="the verified SHA-256 of the GGUF file")
    args = parser.parse_args(argv)
    try:
        ranks = Ranks.from_env()
        if ranks.parallel:
            _die_with_parent()
        try:
            config = TrainConfig.model_validate_json(args.config.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise TrainerError(f"config {args.config}: {error}") from error
        ref = BaseModelRef(name=args.base_name, path=args.base_path, gguf_file=args.gguf_file)
        result = train(
            config,
            args.data,
            ref,
            args.out,
            on_event=_print_event,  # train calls it on rank 0 only
            checkpoint_dir=args.checkpoint_dir,
            checkpoint_every=args.checkpoint_every,
            base_cache_dir=args.base_cache_dir,
            base_sha256=args.base_sha256,
        )
    except TrainerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if ranks.main:
        _print_event(
            {"event": "done", "files": result.files, "metrics": result.metrics, "versions": result.versions}
        )
    return 0


def _print_event(event: dict[str, Any]) -> None:
    print(json.dumps(event, default=str), flush=True)


def _die_with_parent() -> None:
    """Have Linux kill this process when its launcher dies, even by SIGKILL.

    A launcher stopped with SIGTERM ends its processes itself; one killed outright would otherwise
    leave them training on and writing an adapter nobody will register.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGKILL))


def train_launched(
    config: TrainConfig,
    data_path: Path,
    base_model: BaseModelRef,
    out_dir: Path,
    on_event: EventSink | None = None,
    *,
    processes: int,
    checkpoint_dir: Path | None = None,
    checkpoint_every: int = 0,
    base_cache_dir: Path | None = None,
    base_sha256: str | None = None,
    idle: Callable[[], None] | None = None,
    launcher: Launcher = "torchrun",
    poll_seconds: float = 0.5,
) -> TrainResult:
    """`trainer.train` in `processes` data-parallel processes started by `launch_command`.

    `on_event` gets rank 0's events as they are printed, and `idle` is called whenever none arrived
    for `poll_seconds` (a worker checks for a cancel there while the model loads). If either raises,
    the launcher and its processes are stopped (SIGTERM, then SIGKILL) and the exception propagates.
    A run that exits non-zero raises `TrainerError` with the tail of its stderr.
    """
    emit = on_event or (lambda event: None)
    with tempfile.TemporaryDirectory(prefix="ftgate-launch-") as tmp:
        config_path = Path(tmp) / "train_config.json"
        config_path.write_text(config.model_dump_json(), encoding="utf-8")
        script_args = run_args(
            config=config_path,
            data=Path(data_path).resolve(),
            base_path=Path(base_model.path).resolve(),
            base_name=base_model.name,
            out_dir=Path(out_dir).resolve(),
            gguf_file=base_model.gguf_file,
        )
        if checkpoint_dir is not None:
            script_args += ["--checkpoint-dir", str(Path(checkpoint_dir).resolve())]
            script_args += ["--checkpoint-every", str(checkpoint_every)]
        if base_cache_dir is not None:
            script_args += ["--base-cache-dir", str(Path(base_cache_dir).resolve())]
        if base_sha256 is not None:
            script_args += ["--base-sha256", base_sha256]
        command = launch_command(gpus=processes, script_args=script_args, launcher=launcher)
        stderr_path = Path(tmp) / "stderr.log"
        with stderr_path.open("wb") as stderr:
            # Its own session: stopping the run signals the launcher's whole process group.
            process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, start_new_session=True)
        assert process.stdout is not None
        lines: queue.Queue[bytes | None] = queue.Queue()
        reader = threading.Thread(target=_read_lines, args=(process.stdout, lines), daemon=True)
        reader.start()
        done: dict[str, Any] | None = None
        try:
            while True:
                try:
                    line = lines.get(timeout=poll_seconds)
                except queue.Empty:
                    if idle is not None:
                        idle()
                    continue
                if line is None:
                    break
                event = _parse_event(line)
                if event is None:
                    continue  # a library's stray print; not ours to record
                if event["event"] == "done":
                    done = event
                else:
                    emit(event)
            code = process.wait()
        except BaseException:
            _stop(process)
            raise
        finally:
            reader.join(timeout=5)
            process.stdout.close()
        if code != 0:
            raise TrainerError(f"training processes exited with code {code}: {_stderr_tail(stderr_path)}")
    if done is None:
        raise TrainerError("training processes exited without reporting their result")
    return TrainResult(
        out_dir=Path(out_dir),
        files=dict(done["files"]),
        metrics=dict(done["metrics"]),
        versions=dict(done["versions"]),
    )


def _read_lines(stream: IO[bytes], lines: queue.Queue[bytes | None]) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def _parse_event(line: bytes) -> dict[str, Any] | None:
    try:
        event = json.loads(line)
    except ValueError:
        return None
    return event if isinstance(event, dict) and isinstance(event.get("event"), str) else None


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the launcher's group (torchrun then stops its processes), SIGKILL if it lingers."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=STOP_GRACE_SECONDS)
            return
        except subprocess.TimeoutExpired:
            continue


def _stderr_tail(path: Path) -> str:
    """The trainer's own `error:` lines when there are any, else the last lines of stderr."""
    text = path.read_bytes()[-64_000:].decode("utf-8", errors="replace")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    picked = errors or lines[-8:]
    tail = " | ".join(dict.fromkeys(picked))  # every rank prints the same error: once is enough
    return tail[-STDERR_TAIL_CHARS:] if tail else "(no output on stderr)"


if __name__ == "__main__":
    raise SystemExit(main())
