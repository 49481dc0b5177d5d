"""Using a GPU well: bf16 autocast, QLoRA (4-bit base weights) and data parallelism across GPUs.

Everything here that decides something runs on CPU too, so it is unit-tested without a GPU; what
only a GPU can show (throughput, MFU) is measured by benchmarks/gpu_train.py.

Several GPUs: `launch_command` starts `python -m trainer.run` once per GPU under torchrun (or
accelerate). Each process finds its place in `Ranks.from_env()` (the launcher's WORLD_SIZE, RANK and
LOCAL_RANK), and `process_group` joins them: NCCL on the process's own GPU, gloo on CPU, which is how
the tests run two processes without a GPU. `trainer.train` then trains data-parallel; see
`trainer.distributed` for how the batches are shared.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shlex
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from trainer.errors import TrainerError

if TYPE_CHECKING:
    import torch

Launcher = Literal["torchrun", "accelerate"]


def autocast(device: torch.device) -> AbstractContextManager[Any]:
    """bf16 autocast on a CUDA device that supports it; nothing on CPU (float32 keeps runs reproducible).

    The base weights are already bf16 on such a GPU (`models._dtype_for`); peft keeps the LoRA
    weights in float32 (`autocast_adapter_dtype`), and autocast runs their matmuls in bf16 while the
    optimiser updates the float32 copies.
    """
    import torch

    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def bitsandbytes_available() -> bool:
    """Whether bitsandbytes can be imported (without importing it: it probes CUDA on import)."""
    return importlib.util.find_spec("bitsandbytes") is not None


def qlora_load_kwargs(*, device: torch.device, gguf: bool) -> dict[str, Any]:
    """`from_pretrained` arguments for QLoRA (4-bit NF4 base, bf16 compute); raises where it cannot run."""
    if gguf:
        raise TrainerError(
            "qlora needs a Hugging Face safetensors base model; GGUF weights are already quantised"
        )
    if device.type != "cuda":
        raise TrainerError(f"qlora needs a CUDA GPU; this run is on {device.type}")
    if not bitsandbytes_available():
        raise TrainerError("qlora needs the bitsandbytes package, which is not installed")
    import torch
    from transformers import BitsAndBytesConfig

    return {
        "quantization_config": BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.bfloat16,
        ),
        # bitsandbytes places the quantised weights itself; Module.to() is refused on 4-bit models.
        "device_map": {"": device.index or 0},
    }


def launch_command(
    *,
    gpus: int,
    script_args: Sequence[str],
    launcher: Launcher = "torchrun",
    python: str = sys.executable,
    master_port: int = 29500,
) -> list[str]:
    """The argv that runs `python -m trainer.run ARGS` data-parallel on `gpus` GPUs of this host.

    One GPU (or none) gets the plain command: a launcher would only add start-up time. `--standalone`
    (torchrun) and `--num_machines 1` (accelerate) keep the rendezvous on this host; torchrun's
    standalone mode also picks a free port, so two jobs on one host do not collide. On a host without
    CUDA `gpus` is the number of CPU processes (gloo), which is how the tests exercise this path.
    """
    if gpus < 0:
        raise TrainerError(f"gpus must be 0 or more, got {gpus}")
    module = [python, "-m", "trainer.run", *script_args]
    if gpus <= 1:
        return module
    if launcher == "torchrun":
        return [
            python,
            "-m",
            "torch.distributed.run",
            "--standalone",
            f"--nproc_per_node={gpus}",
            "--module",
            "trainer.run",
            *script_args,
        ]
    if launcher == "accelerate":
        return [
            python,
            "-m",
            "accelerate.commands.launch",
            "--multi_gpu",
            "--num_machines=1",
            f"--num_processes={gpus}",
            "--mixed_precision=bf16",
            f"--main_process_port={master_port}",
            "--module",
            "trainer.run",
            *script_args,
        ]
    raise TrainerError(f"unknown launcher {launcher!r}; expected torchrun or accelerate")


TRAINING_LIBRARIES = ("torch", "transformers", "peft", "accelerate", "safetensors")


def require_training_libraries() -> None:
    """Raise, naming them, when the libraries training needs are not installed: the gateway's own
    install (its image, or `pip install ftgate`) has none of them; a worker host installs `ftgate[train]`."""
    missing = [name for name in TRAINING_LIBRARIES if importlib.util.find_spec(name) is None]
    if missing:
        raise TrainerError(
            f"this install cannot train: {', '.join(missing)} not installed. A worker host needs "
            "ftgate's `train` extra: install the torch build for its accelerator first (the worker image's "
            "requirements/worker.lock has PyPI's CUDA build), then `pip install 'ftgate[train]'`"
        )


def cuda_device_count() -> int:
    """GPUs torch can see (0 without CUDA)."""
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def describe(command: Sequence[str]) -> str:
    """The command as one shell-quoted line, for logs and docs."""
    return " ".join(shlex.quote(part) for part in command)


def run_args(
    *, config: Path, data: Path, base_path: Path, base_name: str, out_dir: Path, gguf_file: str | None
) -> list[str]:
    """The `trainer.run` arguments for one job."""
    args = [
        "--config",
        str(config),
        "--data",
        str(data),
        "--base-path",
        str(base_path),
        "--base-name",
        base_name,
        "--out",
        str(out_dir),
    ]
    if gguf_file is not None:
        args += ["--gguf-file", gguf_file]
    return args


@dataclass(frozen=True)
class Ranks:
    """This process's place in a data-parallel run; the default is a plain single-process run."""

    rank: int = 0
    local_rank: int = 0
    world: int = 1

    @property
    def parallel(self) -> bool:
        return self.world > 1

    @property
    def main(self) -> bool:
        """Rank 0: the one process that reports events and writes checkpoints and the adapter."""
        return self.rank == 0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Ranks:
        """Read what torchrun and accelerate set (WORLD_SIZE, RANK, LOCAL_RANK); absent means one process."""
        env = os.environ if environ is None else environ
        values: dict[str, int] = {}
        for name, default in (("WORLD_SIZE", 1), ("RANK", 0), ("LOCAL_RANK", 0)):
            raw = env.get(name, "").strip()
            try:
                values[name] = int(raw) if raw else default
            except ValueError:
                raise TrainerError(f"{name}={raw!r} is not a whole number") from None
        world, rank, local = values["WORLD_SIZE"], values["RANK"], values["LOCAL_RANK"]
        if world < 1 or not 0 <= rank < world or not 0 <= local <= rank:
            raise TrainerError(
                f"inconsistent launcher settings: WORLD_SIZE={world} RANK={rank} LOCAL_RANK={local}"
            )
        return cls(rank=rank, local_rank=local, world=world)


def rank_device(ranks: Ranks) -> torch.device:
    """The device a process trains on: its own GPU (LOCAL_RANK) under a launcher, else the default one."""
    import torch

    if not torch.cuda.is_available():
        return torch.device("cpu")
    if not ranks.parallel:
        return torch.device("cuda")
    if ranks.local_rank >= torch.cuda.device_count():
        raise TrainerError(
            f"LOCAL_RANK={ranks.local_rank} but this host has {torch.cuda.device_count()} GPU(s): "
            "launch at most one process per GPU"
        )
    return torch.device("cuda", ranks.local_rank)


@contextmanager
def process_group(ranks: Ranks, device: torch.device) -> Iterator[None]:
    """Join the launcher's process group for the block (NCCL on a GPU, gloo on CPU), and leave it after.

    It is left on error too, so that the other processes fail at their next collective instead of
    waiting for this one. A group the caller already opened is used and left open.
    """
    if not ranks.parallel:
        yield
        return
    import torch
    import torch.distributed as dist

    if dist.is_initialized():
        if dist.get_world_size() != ranks.world:
            raise TrainerError(
                f"open process group has {dist.get_world_size()} processes, expected {ranks.world}"
            )
        yield
        return
    try:
        if device.type == "cuda":
            torch.cuda.set_device(device)
            dist.init_process_group(backend="nccl", device_id=device)
        else:
            dist.init_process_group(backend="gloo")
    except (RuntimeError, ValueError) as error:  # no MASTER_ADDR, a peer that never came, ...
        raise TrainerError(f"cannot join the {ranks.world}-process group: {error}") from error
    try:
        yield
    finally:
        dist.destroy_process_group()
