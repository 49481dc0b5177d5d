"""LoRA training throughput and model FLOPs utilisation, as ftgate's trainer trains: on one GPU, or on CPU.

    .venv/bin/python benchmarks/gpu_train.py [--seq N] [--steps N] [--peak-tflops T] [--models a,b]

Self-contained, meant to finish in well under 5 minutes on one H200. Two models:
1. the real base, SmolLM2-135M-Instruct (the bundled GGUF, de-quantised);
2. a 1B-class Llama with Llama-3.2-1B's shapes (hidden 2048, 16 layers, 32 heads / 8 KV heads,
   MLP 8192, vocabulary 128256) and random weights: throughput does not depend on the values.
(`--models tiny` adds a 2-layer random Llama, for a quick check of the script itself.)

Each is trained the way `trainer.train` trains on the device: LoRA from ftgate's default
`TrainConfig` through peft (adapters kept float32), AdamW on the LoRA weights, and on a CUDA GPU with
bf16 base weights under bf16 autocast; on CPU everything is float32, as the trainer runs there.
Batches are random token ids (labels = inputs), every position counted, after warm-up steps.

Defaults follow the device. CUDA: sequence length 2048, batches 16 (SmolLM2) and 8 (1B), 3 warm-up
and 10 timed steps, peak memory from the CUDA allocator. CPU: sequence length 256, batch 1, 1 warm-up
and 2 timed steps, so both models finish in a few minutes on two cores; memory is the process's peak
resident set (it only grows, so a later row includes what earlier rows held).

Reported per model: tokens/s, tokens per CPU-second, achieved model TFLOP/s, and MFU = achieved model
FLOPs / the device's peak dense FLOPs, with model FLOPs per token = 6·N + 12·L·d·S (PaLM's convention,
N = non-embedding parameters, the attention term for sequence S). LoRA does not compute gradients for
the frozen weights, so the work done is nearer 4·N per token; that "hardware" figure is printed beside
it. The peak comes from NVIDIA's datasheets (bf16, dense) for known GPUs; a CPU has no such figure, so
MFU there is n/a unless `--peak-tflops` gives the machine's float32 peak.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# Peak dense bf16 tensor FLOP/s by device name (NVIDIA datasheets, SXM parts, without sparsity).
PEAK_TFLOPS = {"H200": 989.4, "H100": 989.4, "A100": 312.0, "L40S": 362.0, "A10": 125.0, "L4": 121.0}

# Per device type: sequence length, timed steps, warm-up steps, batch per model.
DEFAULTS: dict[str, dict[str, int]] = {
    "cuda": {"seq": 2048, "steps": 10, "warmup": 3, "smollm2": 16, "llama-1b": 8, "tiny": 16},
    "cpu": {"seq": 256, "steps": 2, "warmup": 1, "smollm2": 1, "llama-1b": 1, "tiny": 1},
}


def _peak_tflops(name: str, override: float | None) -> float | None:
    if override:
        return override
    for key, value in PEAK_TFLOPS.items():
        if key in name:
            return value
    return None


def _dtype(device: Any) -> Any:
    """The base weights' dtype, as `trainer.models.load_model` picks it: bf16 on a GPU that has it."""
    import torch

    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


def _random_llama(device: Any, **shape: Any) -> Any:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(max_position_embeddings=8192, tie_word_embeddings=True, **shape)
    torch.manual_seed(0)
    with torch.device(device):
        model = LlamaForCausalLM(config)
    model.to(_dtype(device))  # type: ignore[arg-type]  # transformers' @wraps on `to` hides its signature
    return model


def _llama_1b(device: Any) -> Any:
    return _random_llama(
        device,
        vocab_size=128256,
        hidden_size=2048,
        intermediate_size=8192,
        num_hidden_layers=16,
        num_attention_heads=32,
        num_key_value_heads=8,
    )


def _tiny_llama(device: Any) -> Any:
    return _random_llama(
        device,
        vocab_size=512,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
    )


def _smollm2(device: Any) -> Any:
    from trainer.models import load_model, smollm2_gguf

    ref = smollm2_gguf()
    if ref is None:
        return None
    return load_model(
        ref, device=device
    )  # bf16 on a GPU that has it, float32 on CPU, as the trainer loads it


MODELS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "smollm2": ("smollm2-135m-instruct", _smollm2),
    "llama-1b": ("llama-1b (random)", _llama_1b),
    "tiny": ("tiny-llama (random)", _tiny_llama),
}


def _non_embedding_params(model: Any) -> int:
    embed = model.get_input_embeddings().weight.numel()
    head = model.get_output_embeddings()
    tied = head is None or head.weight.data_ptr() == model.get_input_embeddings().weight.data_ptr()
    total = sum(p.numel() for p in model.parameters())
    return total - embed - (0 if tied else head.weight.numel())


def _sync(device: Any) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _peak_mem_gib(device: Any) -> float:
    import torch

    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**30
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux


def _measure(
    name: str, model: Any, *, seq: int, batch: int, warmup: int, steps: int, peak: float | None
) -> dict[str, Any]:
    import torch
    from peft import get_peft_model

    from trainer.accel import autocast
    from trainer.config import TrainConfig

    device = next(model.parameters()).device
    config = model.config
    n = _non_embedding_params(model)
    peft_model = get_peft_model(model, TrainConfig(max_seq_len=seq, batch_size=batch).to_lora_config())
    optimizer = torch.optim.AdamW([p for p in peft_model.parameters() if p.requires_grad], lr=2e-4)
    peft_model.train()
    generator = torch.Generator(device=device).manual_seed(0)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)

    def step() -> None:
        ids = torch.randint(0, config.vocab_size, (batch, seq), device=device, generator=generator)
        with autocast(device):
            loss = peft_model(input_ids=ids, labels=ids, use_cache=False).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    for _ in range(warmup):
        step()
    _sync(device)
    started, cpu_started = time.perf_counter(), time.process_time()
    for _ in range(steps):
        step()
    _sync(device)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    tokens = batch * seq * steps
    tokens_per_s = tokens / seconds
    layers, hidden = config.num_hidden_layers, config.hidden_size
    model_flops = (6 * n + 12 * layers * hidden * seq) * tokens_per_s
    hardware_flops = (4 * n + 12 * layers * hidden * seq) * tokens_per_s
    return {
        "model": name,
        "params_non_embedding": n,
        "batch": batch,
        "seq": seq,
        "seconds": seconds,
        "tokens_per_s": tokens_per_s,
        "tokens_per_cpu_s": tokens / cpu_seconds,
        "model_tflops": model_flops / 1e12,
        "mfu": model_flops / (peak * 1e12) if peak else None,
        "hfu_lora": hardware_flops / (peak * 1e12) if peak else None,
        "peak_mem_gib": _peak_mem_gib(device),
    }


def _measure_fitting(
    label: str, build: Callable[[Any], Any], device: Any, *, batch: int, **kwargs: Any
) -> dict[str, Any] | None:
    """Measure one model, halving the batch on CUDA out-of-memory: the figures are per token."""
    import torch

    model = build(device)
    if model is None:
        return None
    while True:
        try:
            return _measure(label, model, batch=batch, **kwargs)
        except torch.cuda.OutOfMemoryError:
            if batch == 1:
                raise
        # Outside the handler, so that the traceback no longer holds the failed step's tensors.
        del model
        torch.cuda.empty_cache()
        batch //= 2
        print(f"{label}: out of memory, retrying with batch {batch}", flush=True)
        model = build(device)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seq", type=int, default=None, help="sequence length (CUDA 2048, CPU 256)")
    parser.add_argument("--steps", type=int, default=None, help="timed steps per model (CUDA 10, CPU 2)")
    parser.add_argument("--warmup", type=int, default=None, help="warm-up steps (CUDA 3, CPU 1)")
    parser.add_argument(
        "--batch-small", type=int, default=None, help="batch for SmolLM2-135M (CUDA 16, CPU 1)"
    )
    parser.add_argument("--batch-1b", type=int, default=None, help="batch for the 1B Llama (CUDA 8, CPU 1)")
    parser.add_argument(
        "--peak-tflops",
        type=float,
        default=None,
        help="the device's peak dense TFLOP/s (bf16 on a GPU, float32 on CPU); known GPUs need none",
    )
    parser.add_argument(
        "--models",
        default="smollm2,llama-1b",
        help=f"comma-separated, from {', '.join(MODELS)} (default: smollm2,llama-1b)",
    )
    parser.add_argument("--cpu", action="store_true", help="run on CPU even when a GPU is present")
    args = parser.parse_args(argv)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in models if m not in MODELS]
    if unknown or not models:
        parser.error(f"--models: unknown {unknown}; choose from {', '.join(MODELS)}")

    import torch

    if torch.cuda.is_available() and not args.cpu:
        device = torch.device("cuda", 0)
        name = torch.cuda.get_device_name(device)
        torch.backends.cuda.matmul.allow_tf32 = True
    else:
        device = torch.device("cpu")
        name = f"CPU, {torch.get_num_threads()} torch threads, no CUDA GPU (torch {torch.__version__})"
    defaults = DEFAULTS[device.type]
    seq = args.seq or defaults["seq"]
    steps = args.steps or defaults["steps"]
    warmup = defaults["warmup"] if args.warmup is None else args.warmup
    batches = {
        "smollm2": args.batch_small or defaults["smollm2"],
        "llama-1b": args.batch_1b or defaults["llama-1b"],
        "tiny": defaults["tiny"],
    }
    peak = _peak_tflops(name, args.peak_tflops) if device.type == "cuda" else args.peak_tflops
    dtype = str(_dtype(device)).removeprefix("torch.")
    if peak:
        peak_text = f"peak {peak} TFLOP/s"
    elif device.type == "cuda":
        peak_text = "peak unknown (pass --peak-tflops)"
    else:
        peak_text = "MFU n/a (no peak for CPU; pass --peak-tflops)"
    print(f"device: {name}; {dtype} weights; seq {seq}; {warmup} warm-up + {steps} timed steps; {peak_text}")
    print("", flush=True)

    results = []
    for key in models:
        label, build = MODELS[key]
        started = time.perf_counter()
        result = _measure_fitting(
            label, build, device, batch=batches[key], seq=seq, warmup=warmup, steps=steps, peak=peak
        )
        if result is None:
            print(f"{label}: not installed, skipped", flush=True)
            continue
        results.append(result)
        print(f"{label}: done in {time.perf_counter() - started:.0f} s", flush=True)
        if device.type == "cuda":
            torch.cuda.empty_cache()

    mem = "mem GiB" if device.type == "cuda" else "RSS GiB"
    print(
        f"\n{'model':24}{'batch':>6}{'seq':>6}{'tokens/s':>11}{'tok/CPU-s':>11}{'TFLOP/s':>9}"
        f"{'MFU':>7}{'LoRA HFU':>10}{mem:>9}"
    )
    for r in results:
        mfu = f"{r['mfu']:.1%}" if r["mfu"] is not None else "n/a"
        hfu = f"{r['hfu_lora']:.1%}" if r["hfu_lora"] is not None else "n/a"
        print(
            f"{r['model']:24}{r['batch']:>6}{r['seq']:>6}{r['tokens_per_s']:>11.1f}"
            f"{r['tokens_per_cpu_s']:>11.1f}{r['model_tflops']:>9.3f}{mfu:>7}{hfu:>10}"
            f"{r['peak_mem_gib']:>9.1f}"
        )
    print(f"\nran on: {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
