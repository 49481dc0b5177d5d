"""Training data: JSONL records -> token ids with a loss mask on the assistant turns only.

Each line is one record, in OpenAI chat form
`{"messages": [{"role": "system"|"user"|"assistant", "content": "...", "weight": 0|1}, ...]}`
(`weight` is optional; 0 keeps an assistant turn as context without training on it) or in
`{"prompt": "...", "completion": "..."}` form, which becomes one user and one assistant message.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from trainer.errors import DataError

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedTokenizerBase

Message = dict[str, str]
ROLES = ("system", "user", "assistant")
IGNORE_INDEX = -100  # the label torch's cross-entropy (and so transformers) leaves out of the loss


@dataclass(frozen=True)
class Conversation:
    """One record as chat messages, plus which assistant turns are trained on."""

    messages: tuple[Message, ...]
    # Indices into `messages` of assistant turns with OpenAI weight 0: context, not targets.
    untrained: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Example:
    """One tokenised record: `labels[i]` is `input_ids[i]` where the loss applies, else -100."""

    input_ids: tuple[int, ...]
    labels: tuple[int, ...]

    @property
    def trainable_tokens(self) -> int:
        """Tokens the loss is computed on (position 0 is never predicted, so it never counts)."""
        return sum(1 for label in self.labels[1:] if label != IGNORE_INDEX)


@dataclass(frozen=True)
class TrainingData:
    """The usable examples of a data file, in file order, and how many records were dropped."""

    examples: tuple[Example, ...]
    records: int
    skipped: int


def read_conversations(path: Path) -> list[Conversation]:
    """Parse a JSONL file into conversations; raise `DataError` naming the line of any bad record."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise DataError(f"training data {path} not found") from error
    except UnicodeDecodeError as error:
        raise DataError(f"training data {path} is not UTF-8 text (byte {error.start})") from error
    except OSError as error:
        raise DataError(f"training data {path} cannot be read: {error.strerror}") from error
    conversations = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise DataError(f"{path.name} line {number}: not valid JSON ({error.msg})") from error
        # Messages name the line and the problem, never the record's text: it may hold personal data.
        conversations.append(_conversation(record, where=f"{path.name} line {number}"))
    return conversations


def _conversation(record: Any, *, where: str) -> Conversation:
    if not isinstance(record, dict):
        raise DataError(f"{where}: a record must be a JSON object")
    if "messages" in record:
        raw = record["messages"]
        if not isinstance(raw, list):
            raise DataError(f"{where}: 'messages' must be a list")
        messages: list[Message] = []
        untrained = set()
        for index, message in enumerate(raw):
            if not isinstance(message, dict):
                raise DataError(f"{where}: message {index} must be an object")
            role, content = message.get("role"), message.get("content")
            if role not in ROLES:
                raise DataError(
                    f"{where}: message {index} has an unsupported role; expected one of {', '.join(ROLES)}"
                )
            if not isinstance(content, str):
                raise DataError(f"{where}: message {index} content must be a string")
            weight = message.get("weight", 1)
            if weight not in (0, 1) or isinstance(weight, bool):
                raise DataError(f"{where}: message {index} weight must be 0 or 1")
            if role == "assistant" and weight == 0:
                untrained.add(index)
            messages.append({"role": role, "content": content})
        return Conversation(tuple(messages), frozenset(untrained))
    prompt, completion = record.get("prompt"), record.get("completion")
    if isinstance(prompt, str) and isinstance(completion, str):
        return Conversation(
            ({"role": "user", "content": prompt}, {"role": "assistant", "content": completion})
        )
    raise DataError(f"{where}: expected 'messages', or string 'prompt' and 'completion'")


def _render(tokenizer: PreTrainedTokenizerBase, messages: Sequence[Message], *, prompt: bool) -> list[int]:
    encoded = tokenizer.apply_chat_template(
        list(messages),
        add_generation_prompt=prompt,
        tokenize=True,
        return_dict=True,
        # Control tokens inside the data (say a literal "<|im_start|>assistant") are encoded as plain
        # text, so a record cannot forge turns and move the loss mask.
        sanitize_control_tokens=True,
    )
    # tokenize=True with return_dict=True gives a BatchEncoding; the declared return type is a union.
    return list(cast("Mapping[str, list[int]]", encoded)["input_ids"])


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    length = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        length += 1
    return length


def encode_conversation(
    conversation: Conversation, tokenizer: PreTrainedTokenizerBase, *, max_seq_len: int
) -> Example | None:
    """Tokenise with the chat template; labels only on assistant turns; None if none survive truncation.

    The span of assistant turn i is found by rendering the conversation up to turn i with the generation
    prompt (where the turn's own tokens start) and through turn i (where they end), and diffing token
    counts against the whole rendering. This works with any template, including ones without
    `{% generation %}` markers (SmolLM2's has none). The span includes the turn's end-of-turn token, so
    the model learns to stop. An assistant turn with nothing before it has no prompt and is not trained.
    """
    messages = conversation.messages
    if not messages:
        return None
    input_ids = _render(tokenizer, messages, prompt=False)
    labels = [IGNORE_INDEX] * len(input_ids)
    for index, message in enumerate(messages):
        if message["role"] != "assistant" or index == 0 or index in conversation.untrained:
            continue
        # Common prefixes rather than plain lengths: if a tokenizer merges across the boundary, the
        # merged token is counted in the turn rather than shifting every later label.
        start = _common_prefix(_render(tokenizer, messages[:index], prompt=True), input_ids)
        end = _common_prefix(_render(tokenizer, messages[: index + 1], prompt=False), input_ids)
        labels[start:end] = input_ids[start:end]
    example = Example(tuple(input_ids[:max_seq_len]), tuple(labels[:max_seq_len]))
    return example if example.trainable_tokens else None


def load_training_data(path: Path, tokenizer: PreTrainedTokenizerBase, *, max_seq_len: int) -> TrainingData:
    """Read and tokenise a JSONL file; raise `DataError` if it is unreadable or leaves nothing to train on."""
    conversations = read_conversations(path)
    if not conversations:
        raise DataError(f"training data {path.name} holds no records")
    examples = []
    for conversation in conversations:
        example = encode_conversation(conversation, tokenizer, max_seq_len=max_seq_len)
        if example is not None:
            examples.append(example)
    if not examples:
        raise DataError(
            f"training data {path.name}: none of its {len(conversations)} records has an assistant token "
            f"to train on within max_seq_len={max_seq_len}"
        )
    return TrainingData(
        tuple(examples), records=len(conversations), skipped=len(conversations) - len(examples)
    )


def pad_id(tokenizer: PreTrainedTokenizerBase) -> int:
    """The id batches are padded with: the tokenizer's pad token, else its end of text, else 0."""
    # Padded positions are masked out of attention and loss, so any id will do.
    for candidate in (tokenizer.pad_token_id, tokenizer.eos_token_id):
        if candidate is not None:
            return int(candidate)
    return 0


def collate(examples: Sequence[Example], pad: int, device: torch.device) -> dict[str, torch.Tensor]:
    """Right-pad a batch to its longest example; padding is masked from attention and labelled -100."""
    import torch

    width = max(len(example.input_ids) for example in examples)
    input_ids, labels, attention = [], [], []
    for example in examples:
        padding = width - len(example.input_ids)
        input_ids.append(list(example.input_ids) + [pad] * padding)
        labels.append(list(example.labels) + [IGNORE_INDEX] * padding)
        attention.append([1] * len(example.input_ids) + [0] * padding)
    return {
        "input_ids": torch.tensor(input_ids, dtype=torch.long, device=device),
        "labels": torch.tensor(labels, dtype=torch.long, device=device),
        "attention_mask": torch.tensor(attention, dtype=torch.long, device=device),
    }
