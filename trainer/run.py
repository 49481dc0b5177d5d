"""`python -m trainer.run`: one training run from the command line, the unit a launcher starts.

The worker trains in-process; this entry point is what `trainer.accel.launch_command` runs, and what
a GPU node without the gateway can run by hand. Events go to stdout as JSON lines.

Data-parallel training is not implemented in the loop yet: under a launcher with more than one
process (WORLD_SIZE > 1) this refuses to start rather than train the same batches N times over and
race on one output directory.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from trainer.config import TrainConfig
from trainer.errors import TrainerError
from trainer.models import BaseModelRef
from trainer.train import train


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
    args = parser.parse_args(argv)
    try:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world > 1:
            raise TrainerError(
                f"WORLD_SIZE={world}: data-parallel training is not implemented; run one process"
            )
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
            on_event=lambda event: print(json.dumps(event, default=str), flush=True),
            checkpoint_dir=args.checkpoint_dir,
            checkpoint_every=args.checkpoint_every,
        )
    except TrainerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(json.dumps({"event": "done", "files": result.files}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
