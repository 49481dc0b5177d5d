"""Shared fixtures: one tiny Llama per test session, and JSONL writing."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from trainer.models import BaseModelRef, build_tiny_model

WriteJsonl = Callable[[list[Any]], Path]


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> BaseModelRef:
    """A tiny random Llama on disk; built once, since extracting its tokenizer takes seconds."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"), seed=0)


@pytest.fixture
def write_jsonl(tmp_path: Path) -> WriteJsonl:
    """Write records (dicts are JSON-encoded, strings written as they are) one per line; return the path."""
    counter = iter(range(1_000_000))

    def write(records: list[Any]) -> Path:
        path = tmp_path / f"data-{next(counter)}.jsonl"
        lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    return write


CHAT_RECORDS: list[dict[str, Any]] = [
    {
        "messages": [
            {"role": "system", "content": "Answer in one word."},
            {"role": "user", "content": "What colour is the sky?"},
            {"role": "assistant", "content": "Blue."},
        ]
    },
    {"prompt": "Capital of France?", "completion": "Paris."},
    {
        "messages": [
            {"role": "user", "content": "Say hello."},
            {"role": "assistant", "content": "Hello!"},
            {"role": "user", "content": "Again, louder."},
            {"role": "assistant", "content": "HELLO!"},
        ]
    },
    {"prompt": "2 + 2 =", "completion": "4"},
]


@pytest.fixture
def chat_data(write_jsonl: WriteJsonl) -> Path:
    """A small JSONL file mixing chat and prompt/completion records."""
    return write_jsonl(CHAT_RECORDS)
