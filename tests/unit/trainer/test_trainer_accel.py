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


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present: the benchmark would run")
def test_gpu_benchmark_says_it_needs_a_gpu() -> None:
    import subprocess

    script = Path(__file__).resolve().parents[3] / "benchmarks" / "gpu_train.py"
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "needs a CUDA GPU and found none" in done.stderr
