"""Using a GPU well: bf16 autocast, QLoRA (4-bit base weights) and the multi-GPU launch command.

Everything here that decides something runs on CPU too, so it is unit-tested without a GPU; what
only a GPU can show (throughput, MFU) is measured by benchmarks/gpu_train.py.
"""

from __future__ import annotations

import contextlib
import importlib.util
import shlex
import sys
from collections.abc import Sequence
from contextlib import AbstractContextManager
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
    (torchrun) and `--num_machines 1` (accelerate) keep the rendezvous on this host.
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
