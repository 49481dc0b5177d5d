"""Parse and validate training files: JSONL in OpenAI chat form or prompt/completion form."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from gateway.errors import InvalidInput

CHAT_ROLES = {"system", "user", "assistant", "tool"}
MAX_REPORTED_ERRORS = 10
# One record per line: a longer line is refused rather than read into memory whole.
MAX_LINE_BYTES = 64 << 20
PROGRESS_EVERY = 1000


def _chat_errors(record: dict[str, Any]) -> list[str]:
    messages = record["messages"]
    if not isinstance(messages, list) or not messages:
        return ["'messages' must be a non-empty list"]
    errors: list[str] = []
    assistant_turns = 0
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            errors.append(f"messages[{i}] must be an object with 'role' and 'content'")
            continue
        role, content = message.get("role"), message.get("content")
        if role not in CHAT_ROLES:
            errors.append(f"messages[{i}].role must be one of {sorted(CHAT_ROLES)}, got {role!r}")
        if not isinstance(content, str):
            errors.append(f"messages[{i}].content must be a string")
        elif role == "assistant" and content.strip():
            assistant_turns += 1
    if not errors and assistant_turns == 0:
        errors.append("needs at least one assistant message with content to learn from")
    return errors


def _prompt_completion_errors(record: dict[str, Any]) -> list[str]:
    return [
        f"'{key}' must be a non-empty string"
        for key in ("prompt", "completion")
        if not isinstance(record.get(key), str) or not record[key].strip()
    ]


@dataclass(frozen=True)
class TrainingFile:
    """What the validating pass learnt about a training file, without keeping its records."""

    format: str
    records: int
    raw_sha256: str
    raw_bytes: int


def validate_training_jsonl(
    source: IO[bytes],
    *,
    copy_to: IO[bytes] | None = None,
    progress: Callable[[str, int, int | None], None] | None = None,
) -> TrainingFile:
    """Read a training file once: validate every record, hash the raw bytes, count the records.

    Raises InvalidInput listing the first errors with line numbers (as `parse_training_jsonl`). Each
    line is decoded and parsed on its own and then dropped, so memory holds one line. Lines end at
    `\n` (JSON Lines): a raw U+2028 inside a JSON string is part of the record, not a line break.
    `copy_to`, if given, receives every byte read, so later passes can read what was hashed even if
    the original changes meanwhile.
    """
    digest = hashlib.sha256()
    size = records = 0
    errors: list[str] = []
    formats: set[str] = set()
    seen_text = False
    for lineno, raw in enumerate(_raw_lines(source), start=1):
        digest.update(raw)
        if copy_to is not None:
            copy_to.write(raw)
        if len(raw) > MAX_LINE_BYTES:
            raise InvalidInput(f"line {lineno}: longer than {MAX_LINE_BYTES // (1 << 20)} MiB")
        offset, size = size, size + len(raw)
        seen_text = seen_text or bool(raw.strip())
        try:
            line = _text(raw, lineno)
        except UnicodeDecodeError as exc:
            # Reported before any other problem, as a whole-file decode would.
            raise InvalidInput(f"the file is not valid UTF-8 (byte {offset + exc.start})") from None
        if len(errors) >= MAX_REPORTED_ERRORS or not line.strip():
            continue  # past the errors worth reporting, the rest is only hashed and decoded
        record, problems, fmt = _check_line(line)
        errors.extend(f"line {lineno}: {p}" for p in problems)
        if fmt:
            formats.add(fmt)
        if record is not None:
            records += 1
        if progress is not None and records % PROGRESS_EVERY == 0:
            progress("reading", records, None)
    if not seen_text or (not records and not errors):
        raise InvalidInput("the file is empty: expected JSONL, one training record per line")
    if len(formats) > 1 and not errors:
        errors.append("mixes chat records and prompt/completion records; use one form per file")
    if errors:
        shown = errors[:MAX_REPORTED_ERRORS]
        raise InvalidInput(
            f"{len(shown)} problem(s) in the file, first: {shown[0]}", details={"errors": shown}
        )
    if progress is not None:
        progress("reading", records, records)
    return TrainingFile(format=formats.pop(), records=records, raw_sha256=digest.hexdigest(), raw_bytes=size)


def read_training_records(source: IO[bytes]) -> Iterator[dict[str, Any]]:
    """The records of a file `validate_training_jsonl` accepted, read again from its start."""
    source.seek(0)
    for lineno, raw in enumerate(_raw_lines(source), start=1):
        line = _text(raw, lineno)
        if line.strip():
            yield json.loads(line)


def parse_training_jsonl(data: bytes) -> tuple[list[dict[str, Any]], str]:
    """Return (records, format) or raise InvalidInput listing the first errors with line numbers."""
    source = io.BytesIO(data)
    checked = validate_training_jsonl(source)
    return list(read_training_records(source)), checked.format


def jsonl_line(record: dict[str, Any]) -> bytes:
    """One record as a JSONL line, keys in their original order."""
    return (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def to_jsonl(records: list[dict[str, Any]]) -> bytes:
    """Serialise records one per line, keys in their original order."""
    return b"".join(jsonl_line(r) for r in records)


def _raw_lines(source: IO[bytes]) -> Iterator[bytes]:
    """Each line with its `\n`; a line too long to hold is cut, and `validate_training_jsonl` refuses it."""
    while raw := source.readline(MAX_LINE_BYTES + 1):
        yield raw


def _text(raw: bytes, lineno: int) -> str:
    """A raw line as text, without its line ending, nor the first line's UTF-8 byte-order mark."""
    line = raw.decode("utf-8").removesuffix("\n").removesuffix("\r")
    return line.removeprefix("\ufeff") if lineno == 1 else line


def _check_line(line: str) -> tuple[dict[str, Any] | None, list[str], str]:
    """(the record or None, its problems, its format or "") for one non-blank line."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        return None, [f"not valid JSON ({exc.msg})"], ""
    if not isinstance(record, dict):
        return None, [f"a record must be a JSON object, got {type(record).__name__}"], ""
    if "messages" in record:
        return record, _chat_errors(record), "chat"
    if "prompt" in record or "completion" in record:
        return record, _prompt_completion_errors(record), "prompt_completion"
    return record, ["needs 'messages' (chat form) or 'prompt' and 'completion'"], ""
