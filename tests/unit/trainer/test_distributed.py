"""Data parallelism on CPU: two gloo processes under torchrun, against one process with their batch.

The two-process runs start `python -m torch.distributed.run` exactly as `launch_command` builds it for
two GPUs; on a host without CUDA each process trains on the CPU with gloo. Without dropout, a global
batch shared between two processes follows the same gradient as one process taking the whole batch,
so the adapters agree to float rounding (padding widths and summation order differ, nothing else).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file

from trainer.accel import Ranks, launch_command, run_args
from trainer.checkpoint import CheckpointError
from trainer.config import TrainConfig
from trainer.errors import TrainerError
from trainer.models import BaseModelRef
from trainer.run import main as run_main
from trainer.run import train_launched
from trainer.train import train

pytestmark = pytest.mark.filterwarnings("ignore:`is_gradient_checkpointing` is deprecated:FutureWarning")

# Six records, one held out: five to train on, so with a global batch of two the last batch of the
# epoch has one record and the second process has none (it must still take part in the step).
RECORDS = [
    {"prompt": f"Count to {n}.", "completion": " ".join(str(i) for i in range(1, n + 1))} for n in range(1, 7)
]
# No dropout: dropout masks are drawn per process, so with dropout the maths is not one process's.
PER_RANK = TrainConfig(
    max_steps=3, max_seq_len=64, batch_size=1, lora_dropout=0.0, eval_fraction=0.2, sample_generations=1
)
SINGLE = PER_RANK.model_copy(update={"batch_size": 2})
TOLERANCE = 1e-6  # measured differences are ~1e-8; the adapter moves by ~1e-3 from its start


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ddp-data") / "data.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in RECORDS) + "\n", encoding="utf-8")
    return path


def _torchrun(
    config: TrainConfig,
    data: Path,
    model: BaseModelRef,
    out: Path,
    *extra: str,
) -> subprocess.Popen[str]:
    config_path = out.parent / f"{out.name}.config.json"
    config_path.write_text(config.model_dump_json(), encoding="utf-8")
    args = run_args(
        config=config_path, data=data, base_path=model.path, base_name=model.name, out_dir=out, gguf_file=None
    )
    command = launch_command(gpus=2, script_args=[*args, *extra])
    assert command[2:5] == ["torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )


def _finish(process: subprocess.Popen[str]) -> list[dict[str, Any]]:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err[-3000:]
    return [json.loads(line) for line in out.splitlines()]


def _weights(out: Path) -> dict[str, torch.Tensor]:
    return load_file(out / "adapter_model.safetensors")


@pytest.fixture(scope="module")
def two(
    tiny_model: BaseModelRef, data: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, list[dict[str, Any]]]:
    """One two-process run, shared by the checks that read it."""
    out = tmp_path_factory.mktemp("ddp-two") / "out"
    return out, _finish(_torchrun(PER_RANK, data, tiny_model, out))


def test_two_processes_write_one_adapter_and_rank_0_reports(two: tuple[Path, list[dict[str, Any]]]) -> None:
    out, lines = two
    kinds = [line["event"] for line in lines]
    # Rank 1 prints nothing: each event once, in order, and one final line.
    assert kinds.count("start") == 1 and kinds.count("saved") == 1 and kinds[-1] == "done"
    assert [line["step"] for line in lines if line["event"] == "step"] == [1, 2, 3]
    start = lines[0]
    assert (start["processes"], start["global_batch_size"], start["steps"]) == (2, 2, 3)
    done = lines[-1]
    assert done["metrics"]["processes"] == 2 and done["metrics"]["steps"] == 3
    written = sorted(p.name for p in out.iterdir())
    assert written == sorted(done["files"])
    assert "adapter_model.safetensors" in written and "samples.json" in written
    assert TrainConfig.model_validate_json((out / "train_config.json").read_text()) == PER_RANK


def test_two_processes_match_one_process_with_their_global_batch(
    two: tuple[Path, list[dict[str, Any]]], tiny_model: BaseModelRef, data: Path, tmp_path: Path
) -> None:
    out, lines = two
    single = train(SINGLE, data, tiny_model, tmp_path / "single")
    parallel, reference = _weights(out), _weights(single.out_dir)
    assert sorted(parallel) == sorted(reference)
    moved = max(float(t.abs().max()) for name, t in reference.items() if "lora_B" in name)
    assert moved > 100 * TOLERANCE  # training changed the adapter far more than the tolerance
    for name, tensor in reference.items():
        assert torch.allclose(parallel[name], tensor, rtol=0, atol=TOLERANCE), name
    # The logged figures are the global batch's: the same losses and token counts.
    metrics = lines[-1]["metrics"]
    assert metrics["tokens"] == single.metrics["tokens"]
    assert metrics["loss_first"] == pytest.approx(single.metrics["loss_first"], rel=1e-6)
    assert metrics["loss_last"] == pytest.approx(single.metrics["loss_last"], rel=1e-6)
    assert metrics["eval_loss_before"] == single.metrics["eval_loss_before"]
    assert metrics["eval_loss_after"] == pytest.approx(single.metrics["eval_loss_after"], rel=1e-6)


@pytest.mark.slow  # two launches of two processes: over 30 s on a busy two-core host
def test_a_two_process_run_resumes_from_its_checkpoint(
    two: tuple[Path, list[dict[str, Any]]], tiny_model: BaseModelRef, data: Path, tmp_path: Path
) -> None:
    straight, _ = two
    checkpoints = tmp_path / "ck"
    first = _torchrun(
        PER_RANK,
        data,
        tiny_model,
        tmp_path / "killed",
        "--checkpoint-dir",
        str(checkpoints),
        "--checkpoint-every",
        "1",
    )
    assert first.stdout is not None
    seen: list[str] = []
    for line in first.stdout:
        seen.append(json.loads(line)["event"])
        if seen[-1] == "checkpoint":
            break
    assert seen[-1:] == ["checkpoint"], first.communicate()[1][-3000:]
    # The whole launcher at once, as a lost node would go: no process gets to clean up.
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(timeout=60)
    first.stdout.close()
    first.stderr.close()  # type: ignore[union-attr]
    assert (checkpoints / "checkpoint.pt").is_file()

    lines = _finish(
        _torchrun(
            PER_RANK,
            data,
            tiny_model,
            tmp_path / "resumed",
            "--checkpoint-dir",
            str(checkpoints),
            "--checkpoint-every",
            "1",
        )
    )
    start = lines[0]
    assert start["event"] == "start" and start["resumed_from"] >= 1
    resumed_steps = [line["step"] for line in lines if line["event"] == "step"]
    assert resumed_steps == list(range(start["resumed_from"] + 1, 4))
    resumed, reference = _weights(tmp_path / "resumed"), _weights(straight)
    for name, tensor in reference.items():
        assert torch.equal(resumed[name], tensor), name

    # The checkpoint of a two-process run cannot resume a one-process run: its batches differ.
    with pytest.raises(CheckpointError, match="written by a run of 2 process"):
        train(PER_RANK, data, tiny_model, tmp_path / "one", checkpoint_dir=checkpoints)


def test_train_launched_reports_a_failure_with_the_trainers_reason(
    tiny_model: BaseModelRef, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "no completion"}\n', encoding="utf-8")
    with pytest.raises(TrainerError, match=r"exited with code 1: error: .*bad\.jsonl"):
        train_launched(PER_RANK, bad, tiny_model, tmp_path / "out", processes=2)
    assert not (tmp_path / "out").exists()


def test_train_launched_stops_every_process_when_the_callback_raises(
    tiny_model: BaseModelRef, data: Path, tmp_path: Path
) -> None:
    class Stop(Exception):
        pass

    def on_event(event: dict[str, Any]) -> None:
        if event["event"] == "start":
            raise Stop

    with pytest.raises(Stop):
        train_launched(
            PER_RANK.model_copy(update={"max_steps": 200, "epochs": 100}),
            data,
            tiny_model,
            tmp_path / "out",
            on_event,
            processes=2,
        )
    assert not (tmp_path / "out").exists()
    # Nothing of the run is left: no process still has the output directory on its command line.
    survivors = subprocess.run(["pgrep", "-f", str(tmp_path / "out")], capture_output=True, text=True)
    assert survivors.stdout.strip() == ""


@pytest.mark.parametrize(
    "env, expected",
    [
        ({}, Ranks()),
        ({"WORLD_SIZE": "1"}, Ranks()),
        ({"WORLD_SIZE": "4", "RANK": "3", "LOCAL_RANK": "3"}, Ranks(rank=3, local_rank=3, world=4)),
        ({"WORLD_SIZE": "4", "RANK": "3", "LOCAL_RANK": "1"}, Ranks(rank=3, local_rank=1, world=4)),
    ],
)
def test_ranks_from_the_launchers_environment(env: dict[str, str], expected: Ranks) -> None:
    found = Ranks.from_env(env)
    assert found == expected
    assert found.main == (expected.rank == 0) and found.parallel == (expected.world > 1)


@pytest.mark.parametrize(
    "env, message",
    [
        ({"WORLD_SIZE": "two"}, "WORLD_SIZE='two' is not a whole number"),
        ({"WORLD_SIZE": "2", "RANK": "2"}, "inconsistent launcher settings"),
        ({"WORLD_SIZE": "0"}, "inconsistent launcher settings"),
        ({"WORLD_SIZE": "2", "RANK": "0", "LOCAL_RANK": "1"}, "inconsistent launcher settings"),
    ],
)
def test_bad_launcher_settings_are_refused(env: dict[str, str], message: str) -> None:
    with pytest.raises(TrainerError, match=message):
        Ranks.from_env(env)


def test_trainer_run_refuses_bad_launcher_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "5")
    args = [
        "--config",
        "c",
        "--data",
        "d",
        "--base-path",
        "b",
        "--base-name",
        "n",
        "--out",
        str(tmp_path / "o"),
    ]
    assert run_main(args) == 1
    assert "inconsistent launcher settings" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
