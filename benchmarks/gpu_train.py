"""LoRA training throughput and model FLOPs utilisation on one GPU, as ftgate's trainer trains.

    .venv/bin/python benchmarks/gpu_train.py [--seq 2048] [--steps 10] [--peak-tflops 989]

Self-contained, meant to finish in well under 5 minutes on one H200. Two models, sequence length 2048:
1. the real base, SmolLM2-135M-Instruct (the bundled GGUF, de-quantised to bf16);
2. a 1B-class Llama with Llama-3.2-1B's shapes (hidden 2048, 16 layers, 32 heads / 8 KV heads,
   MLP 8192, vocabulary 128256) and random weights: throughput does not depend on the values.

Each is trained the way `trainer.train` trains on CUDA: base weights bf16, LoRA from ftgate's
default `TrainConfig` through peft (adapters kept float32), bf16 autocast, AdamW on the LoRA weights.
Batches are random token ids (labels = inputs), every position counted, after warm-up steps.

Reported per model: tokens/s, peak memory, and MFU = achieved model FLOPs / the GPU's peak dense
bf16 FLOPs, with model FLOPs per token = 6·N + 12·L·d·S (PaLM's convention, N = non-embedding
parameters, the attention term for sequence S). LoRA does not compute gradients for the frozen
weights, so the work done is nearer 4·N per token; that "hardware" figure is printed beside it.

Without a CUDA GPU the script says so and exits with status 2; nothing is simulated on CPU.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# Peak dense bf16 tensor FLOP/s by device name (NVIDIA datasheets, SXM parts, without sparsity).
PEAK_TFLOPS = {"H200": 989.4, "H100": 989.4, "A100": 312.0, "L40S": 362.0, "A10": 125.0, "L4": 121.0}


def _peak_tflops(name: str, override: float | None) -> float | None:
    if override:
        return override
    for key, value in PEAK_TFLOPS.items():
        if key in name:
            return value
    return None


def _llama_1b(device: Any) -> Any:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=128256,
        hidden_size=2048,
        intermediate_size=8192,
        num_hidden_layers=16,
        num_attention_heads=32,
        num_key_value_heads=8,
        max_position_embeddings=8192,
        tie_word_embeddings=True,
    )
    torch.manual_seed(0)
    with torch.device(device):
        model = LlamaForCausalLM(config)
    model.to(torch.bfloat16)  # type: ignore[arg-type]  # transformers' @wraps on `to` hides its signature
    return model


def _smollm2(device: Any) -> Any:
    from trainer.models import load_model, smollm2_gguf

    ref = smollm2_gguf()
    if ref is None:
        return None
    return load_model(ref, device=device)  # bf16 on a GPU that has it, as the trainer loads it


def _non_embedding_params(model: Any) -> int:
    embed = model.get_input_embeddings().weight.numel()
    head = model.get_output_embeddings()
    tied = head is None or head.weight.data_ptr() == model.get_input_embeddings().weight.data_ptr()
    total = sum(p.numel() for p in model.parameters())
    return total - embed - (0 if tied else head.weight.numel())


def _measure(
    name: str, model: Any, *, seq: int, batch: int, warmup: int, steps: int, peak: float | None
) -> dict:
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
    torch.cuda.synchronize(device)
    started = time.perf_counter()
    for _ in range(steps):
        step()
    torch.cuda.synchronize(device)
    seconds = time.perf_counter() - started
    tokens = batch * seq * steps
    tokens_per_s = tokens / seconds
    layers, hidden = config.num_hidden_layers, config.hidden_size
    model_flops = (6 * n + 12 * layers * hidden * seq) * tokens_per_s
    hardware_flops = (4 * n + 12 * layers * hidden * seq) * tokens_per_s
    result = {
        "model": name,
        "params_non_embedding": n,
        "batch": batch,
        "seq": seq,
        "tokens_per_s": tokens_per_s,
        "model_tflops": model_flops / 1e12,
        "mfu": model_flops / (peak * 1e12) if peak else None,
        "hfu_lora": hardware_flops / (peak * 1e12) if peak else None,
        "peak_mem_gib": torch.cuda.max_memory_allocated(device) / 2**30,
    }
    return result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seq", type=int, default=2048)
    parser.add_argument("--steps", type=int, default=10, help="timed steps per model")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--batch-small", type=int, default=16, help="batch for SmolLM2-135M")
    parser.add_argument("--batch-1b", type=int, default=8, help="batch for the 1B Llama")
    parser.add_argument("--peak-tflops", type=float, default=None, help="the GPU's peak dense bf16 TFLOP/s")
    args = parser.parse_args()

    import torch

    if not torch.cuda.is_available():
        print(
            f"benchmarks/gpu_train.py needs a CUDA GPU and found none (torch {torch.__version__}, "
            f"CUDA build {torch.version.cuda}); nothing was measured.",
            file=sys.stderr,
        )
        return 2
    device = torch.device("cuda", 0)
    name = torch.cuda.get_device_name(device)
    peak = _peak_tflops(name, args.peak_tflops)
    print(f"{name}, peak bf16 {peak or 'unknown (pass --peak-tflops)'} TFLOP/s, seq {args.seq}", flush=True)
    torch.backends.cuda.matmul.allow_tf32 = True

    results = []
    plans = [
        ("smollm2-135m-instruct", _smollm2, args.batch_small),
        ("llama-1b (random)", _llama_1b, args.batch_1b),
    ]
    for label, build, batch in plans:
        started = time.perf_counter()
        model = build(device)
        if model is None:
            print(f"{label}: not installed, skipped", flush=True)
            continue
        while True:
            try:
                results.append(
                    _measure(
                        label,
                        model,
                        seq=args.seq,
                        batch=batch,
                        warmup=args.warmup,
                        steps=args.steps,
                        peak=peak,
                    )
                )
                break
            except torch.cuda.OutOfMemoryError:
                torch.cuda.empty_cache()
                if batch == 1:
                    raise
                batch //= 2  # fit rather than fail: the figure is per token
                print(f"{label}: out of memory, retrying with batch {batch}", flush=True)
                model = build(device)
        print(f"{label}: done in {time.perf_counter() - started:.0f} s", flush=True)
        del model
        torch.cuda.empty_cache()

    print(
        f"\n{'model':24}{'batch':>6}{'tokens/s':>12}{'TFLOP/s':>10}{'MFU':>8}{'LoRA HFU':>10}{'mem GiB':>9}"
    )
    for r in results:
        mfu = f"{r['mfu']:.1%}" if r["mfu"] is not None else "n/a"
        hfu = f"{r['hfu_lora']:.1%}" if r["hfu_lora"] is not None else "n/a"
        print(
            f"{r['model']:24}{r['batch']:>6}{r['tokens_per_s']:>12.0f}{r['model_tflops']:>10.1f}"
            f"{mfu:>8}{hfu:>10}{r['peak_mem_gib']:>9.1f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
