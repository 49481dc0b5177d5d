"""GPU plumbing that is decided on CPU: autocast choice, QLoRA refusals, the multi-GPU launch command."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from trainer.accel import autocast, bitsandbytes_available, launch_command, qlora_load_kwargs, run_args
from trainer.config import TrainConfig
from trainer.errors import TrainerError
from trainer.models import BaseModelRef
from trainer.run import main as run_main
from trainer.train import train

pytestmark = pytest.mark.filterwarnings("ignore:`is_gradient_checkpointing` is deprecated:FutureWarning")

ARGS = ["--config", "c.json", "--data", "d.jsonl"]


def test_no_autocast_on_cpu() -> None:
    # float32 on CPU is what keeps the adapter bytes reproducible.
    assert isinstance(autocast(torch.device("cpu")), contextlib.nullcontext)


@pytest.mark.parametrize(
    "device, gguf, message",
    [
        ("cpu", False, "needs a CUDA GPU"),
        ("cpu", True, "GGUF"),
        ("cuda", True, "GGUF"),
    ],
)
def test_qlora_is_refused_where_it_cannot_run(device: str, gguf: bool, message: str) -> None:
    with pytest.raises(TrainerError, match=message):
        qlora_load_kwargs(device=torch.device(device), gguf=gguf)


@pytest.mark.skipif(bitsandbytes_available(), reason="bitsandbytes is installed here")
def test_qlora_without_bitsandbytes_says_so() -> None:
    with pytest.raises(TrainerError, match="bitsandbytes"):
        qlora_load_kwargs(device=torch.device("cuda", 0), gguf=False)


def test_a_qlora_job_on_cpu_fails_before_loading_anything(
    tiny_model: BaseModelRef, chat_data: Path, tmp_path: Path
) -> None:
    with pytest.raises(TrainerError, match="needs a CUDA GPU"):
        train(TrainConfig(qlora=True, max_steps=1), chat_data, tiny_model, tmp_path / "out")
    assert not (tmp_path / "out").exists()


TORCHRUN = ["py", "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=4"]
ACCELERATE = [
    "py",
    "-m",
    "accelerate.commands.launch",
    "--multi_gpu",
    "--num_machines=1",
    "--num_processes=2",
]


@pytest.mark.parametrize(
    "gpus, launcher, expected",
    [
        (0, "torchrun", ["py", "-m", "trainer.run", *ARGS]),
        (1, "accelerate", ["py", "-m", "trainer.run", *ARGS]),  # one GPU needs no launcher
        (4, "torchrun", [*TORCHRUN, "--module", "trainer.run", *ARGS]),
        (
            2,
            "accelerate",
            [
                *ACCELERATE,
                "--mixed_precision=bf16",
                "--main_process_port=29500",
                "--module",
                "trainer.run",
                *ARGS,
            ],
        ),
    ],
)
def test_launch_command(gpus: int, launcher: Any, expected: list[str]) -> None:
    assert launch_command(gpus=gpus, script_args=ARGS, launcher=launcher, python="py") == expected


@pytest.mark.parametrize("gpus, launcher", [(-1, "torchrun"), (2, "mpirun")])
def test_launch_command_refuses_bad_input(gpus: int, launcher: Any) -> None:
    with pytest.raises(TrainerError):
        launch_command(gpus=gpus, script_args=ARGS, launcher=launcher)


def test_the_launchers_exist_here() -> None:
    # The modules the commands name are importable in this environment (not run: no GPUs).
    import importlib.util

    assert importlib.util.find_spec("torch.distributed.run") is not None
    assert importlib.util.find_spec("accelerate.commands.launch") is not None
    assert launch_command(gpus=2, script_args=[])[0] == sys.executable


def test_trainer_run_trains_one_job(
    tiny_model: BaseModelRef, chat_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.json"
    config.write_text(TrainConfig(max_steps=2, max_seq_len=64).model_dump_json())
    args = run_args(
        config=config,
        data=chat_data,
        base_path=tiny_model.path,
        base_name=tiny_model.name,
        out_dir=tmp_path / "out",
        gguf_file=None,
    )
    assert run_main(args) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[0]["event"] == "start" and lines[-1]["event"] == "done"
    assert "adapter_model.safetensors" in lines[-1]["files"]


def _gpu_train_script() -> Any:
    import importlib.util

    path = Path(__file__).resolve().parents[3] / "benchmarks" / "gpu_train.py"
    spec = importlib.util.spec_from_file_location("gpu_train_benchmark", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gpu_benchmark_runs_on_cpu(capsys: pytest.CaptureFixture[str]) -> None:
    # The benchmark's own code path (LoRA through peft, AdamW, the FLOPs arithmetic) on a 2-layer Llama.
    script = _gpu_train_script()
    args = ["--cpu", "--models", "tiny", "--seq", "32", "--steps", "1", "--warmup", "0"]
    assert script.main(args) == 0
    out = capsys.readouterr().out
    assert "device: CPU" in out and "float32 weights" in out and "seq 32" in out
    assert "MFU n/a (no peak for CPU; pass --peak-tflops)" in out
    [row] = [
        line for line in out.splitlines() if line.startswith("tiny-llama (random)") and "done" not in line
    ]
    batch, seq, tokens_per_s, *_ = row.removeprefix("tiny-llama (random)").split()
    assert (batch, seq) == ("1", "32") and float(tokens_per_s) > 0


def test_gpu_benchmark_mfu_needs_a_peak() -> None:
    # No datasheet peak for a CPU: MFU is left out unless a peak is given, and is then TFLOP/s over it.
    script = _gpu_train_script()
    cpu = torch.device("cpu")
    without = script._measure("tiny", script._tiny_llama(cpu), seq=16, batch=1, warmup=0, steps=1, peak=None)
    assert without["mfu"] is None and without["model_tflops"] > 0
    given = script._measure("tiny", script._tiny_llama(cpu), seq=16, batch=1, warmup=0, steps=1, peak=2.0)
    assert given["mfu"] == pytest.approx(given["model_tflops"] / 2.0)
    assert script._peak_tflops("NVIDIA H200", None) == 989.4
    assert script._peak_tflops("NVIDIA H200", 500.0) == 500.0
