"""Training-file validation: every malformed shape gets a message with its line number."""

from __future__ import annotations

import hashlib
import io
import json

import pytest

from gateway.errors import InvalidInput
from gateway.formats import (
    TrainingFile,
    parse_training_jsonl,
    read_training_records,
    to_jsonl,
    validate_training_jsonl,
)

CHAT = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}
PC = {"prompt": "2+2?", "completion": "4"}


def lines(*records: object) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode()


@pytest.mark.parametrize(
    "data, fmt, count",
    [
        (lines(CHAT, CHAT), "chat", 2),
        (lines(PC), "prompt_completion", 1),
        (b"\xef\xbb\xbf" + lines(PC), "prompt_completion", 1),  # UTF-8 BOM
        (lines(CHAT) + b"\n\n" + lines(CHAT), "chat", 2),  # blank lines
        (lines({**CHAT, "metadata": {"ticket": "T-1"}}), "chat", 1),
    ],
)
def test_valid_files(data: bytes, fmt: str, count: int) -> None:
    records, found = parse_training_jsonl(data)
    assert (found, len(records)) == (fmt, count)


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"  \n\n", "empty"),
        (b"\xff\xfe\x00", "not valid UTF-8"),
        (b'{"prompt": "a"', "line 1: not valid JSON"),
        (lines(CHAT) + b"[1, 2]\n", "line 2: a record must be a JSON object"),
        (lines({"text": "x"}), "needs 'messages'"),
        (lines({"messages": []}), "non-empty list"),
        (lines({"messages": [{"role": "wizard", "content": "x"}]}), "role must be one of"),
        (lines({"messages": [{"role": "user", "content": 3}]}), "content must be a string"),
        (lines({"messages": [{"role": "user", "content": "only a question"}]}), "at least one assistant"),
        (lines({"prompt": "", "completion": "x"}), "'prompt' must be a non-empty string"),
        (lines(CHAT, PC), "mixes chat records and prompt/completion"),
    ],
)
def test_invalid_files(data: bytes, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_training_jsonl(data)


def test_errors_list_line_numbers() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_training_jsonl(lines(PC, {"prompt": 1}, PC, {"x": 1}))
    assert [e.split(":")[0] for e in info.value.details["errors"]] == ["line 2", "line 2", "line 4"]


def test_round_trip_keeps_key_order_and_unicode() -> None:
    record = {"prompt": "café ✓", "completion": "ok", "a": 1}
    assert (
        to_jsonl([record]) == (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
    )


def test_validating_pass_hashes_copies_and_counts() -> None:
    data = b"\xef\xbb\xbf" + lines(CHAT) + b"\n" + lines(CHAT, CHAT)
    copy = io.BytesIO()
    checked = validate_training_jsonl(io.BytesIO(data), copy_to=copy)
    assert checked == TrainingFile("chat", 3, hashlib.sha256(data).hexdigest(), len(data))
    assert copy.getvalue() == data
    assert list(read_training_records(copy)) == [CHAT, CHAT, CHAT]


@pytest.mark.parametrize(
    "data, message",
    [
        (b"\xef\xbb\xbf\n", "empty"),  # a byte-order mark alone holds no record
        (lines(*[PC] * 2999) + b'{"prompt": "a"\n' + lines(PC), "line 3000: not valid JSON"),
        (lines(PC) + b'{"prompt": "\xff"}\n', rf"not valid UTF-8 \(byte {len(lines(PC)) + 12}\)"),
    ],
)
def test_streamed_errors_name_their_place(data: bytes, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        validate_training_jsonl(io.BytesIO(data))


def test_a_line_separator_inside_a_string_is_not_a_line_break() -> None:
    # JSON Lines ends a line at \n only; json.dumps(ensure_ascii=False) writes U+2028 raw.
    record = {"prompt": "one\u2028two\x85three", "completion": "ok"}
    records, fmt = parse_training_jsonl(to_jsonl([record]))
    assert (records, fmt) == ([record], "prompt_completion")
