"""Training-file validation: every malformed shape gets a message with its line number."""

from __future__ import annotations

import hashlib
import io
import json

import pytest

from gateway.errors import InvalidInput
from gateway.formats import (
    InputLimits,
    TrainingFile,
    parse_training_jsonl,
    read_training_records,
    to_jsonl,
    validate_training_jsonl,
)
from gateway.settings import Settings

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


# --- input limits: refused before anything is analysed, naming the limit, the place, never the value ----

SECRET = "jane.doe@example.com "  # a value that must never appear in a refusal


def chat_with(content: object, **extra: object) -> dict[str, object]:
    return {
        "messages": [{"role": "user", "content": content}, {"role": "assistant", "content": "ok"}],
        **extra,
    }


SMALL = InputLimits(max_string_chars=100, max_record_bytes=2_000, max_record_depth=8)


def nested(depth: int) -> object:
    value: object = "x"
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    "record, limit, where",
    [
        (chat_with(SECRET * 5), "max_string_chars", "line 2 (record 2), field messages[0].content,"),
        (
            chat_with("hi", metadata={"note": {"text": SECRET * 5}}),
            "max_string_chars",
            "field metadata.note.text,",
        ),
        (chat_with("hi", metadata={SECRET * 5: 1}), "max_string_chars", "field metadata.{key},"),
        (chat_with("hi", metadata=[SECRET] * 120), "max_record_bytes", "line 2 (record 2) is over"),
        (chat_with("hi", metadata=nested(8)), "max_record_depth", "field metadata[0][0][0][0][0][0][0],"),
        (
            chat_with("hi", metadata={"a": {"b": {"c": nested(6)}}}),
            "max_record_depth",
            "field metadata.a.b.c[0][0][0][0],",  # the 9th container: record, metadata, a, b, 5 lists
        ),
    ],
)
def test_a_record_over_a_limit_is_refused_with_its_place(record: object, limit: str, where: str) -> None:
    with pytest.raises(InvalidInput) as info:
        validate_training_jsonl(io.BytesIO(lines(CHAT, record)), limits=SMALL)
    message = info.value.message
    assert where in message and f"FTGATE_{limit.upper()}" in message
    assert info.value.details["limit"] == limit and info.value.details["line"] == 2
    assert SECRET.strip() not in message and SECRET.strip() not in json.dumps(info.value.details)


@pytest.mark.parametrize(
    "record",
    [
        chat_with("a" * 100),  # a string at the limit
        chat_with("hi", metadata=nested(6)),  # 8 levels: record, metadata, 6 lists
        chat_with("hi", metadata={"x": '[[[[[[[[[[[[[[[[[[[[{{{{{{{{{{\\"[[['}),  # brackets inside a string
    ],
)
def test_a_record_within_the_limits_is_accepted(record: object) -> None:
    assert validate_training_jsonl(io.BytesIO(lines(CHAT, record)), limits=SMALL).records == 2


def test_numbers_count_records_not_lines() -> None:
    data = lines(CHAT) + b"\n\n" + lines(chat_with("b" * 101))
    with pytest.raises(InvalidInput, match=r"line 4 \(record 2\)"):
        validate_training_jsonl(io.BytesIO(data), limits=SMALL)


def test_ten_thousand_nested_lists_are_refused_without_recursion() -> None:
    # json.loads raises RecursionError on this; the depth is read from the raw text first.
    line = b'{"messages": [], "metadata": ' + b"[" * 10_000 + b"]" * 10_000 + b"}\n"
    with pytest.raises(
        InvalidInput, match=r"field metadata(\[0\]){11}\.\.\., nests deeper than the limit of 64"
    ):
        validate_training_jsonl(io.BytesIO(line))


def test_default_limits() -> None:
    assert InputLimits() == InputLimits(
        max_string_chars=100_000, max_record_bytes=1 << 20, max_record_depth=64
    )
    validate_training_jsonl(io.BytesIO(lines(chat_with("a" * 100_000))))
    with pytest.raises(InvalidInput, match="FTGATE_MAX_STRING_CHARS"):
        validate_training_jsonl(io.BytesIO(lines(chat_with("a" * 100_001))))
    with pytest.raises(InvalidInput, match="FTGATE_MAX_RECORD_BYTES"):
        validate_training_jsonl(io.BytesIO(lines(chat_with(["a" * 50_000] * 21))))


def test_a_long_line_is_not_read_whole() -> None:
    # Refused after max_record_bytes + 2 bytes of it, not the 64 MiB a line may have at most.
    source = io.BytesIO(lines(CHAT) + b'{"prompt": "' + b"a" * (8 << 20) + b'"}\n')
    with pytest.raises(InvalidInput, match="FTGATE_MAX_RECORD_BYTES"):
        validate_training_jsonl(source, limits=SMALL)
    assert source.tell() < 10_000


def test_limits_come_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FTGATE_MAX_STRING_CHARS", "10")
    monkeypatch.setenv("FTGATE_MAX_RECORD_DEPTH", "5")
    assert InputLimits.from_settings(Settings()) == InputLimits(max_string_chars=10, max_record_depth=5)


@pytest.mark.parametrize("values", [{"max_string_chars": 0}, {"max_record_bytes": (64 << 20) + 1}])
def test_limits_are_checked(values: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        InputLimits(**values)
