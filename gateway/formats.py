"""Parse and validate training files: JSONL in OpenAI chat form or prompt/completion form."""

from __future__ import annotations

import json
from typing import Any

from gateway.errors import InvalidInput

CHAT_ROLES = {"system", "user", "assistant", "tool"}
MAX_REPORTED_ERRORS = 10


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


def parse_training_jsonl(data: bytes) -> tuple[list[dict[str, Any]], str]:
    """Return (records, format) or raise InvalidInput listing the first errors with line numbers."""
    if not data.strip():
        raise InvalidInput("the file is empty: expected JSONL, one training record per line")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"the file is not valid UTF-8 (byte {exc.start})") from None
    text = text.removeprefix("\ufeff")
    records: list[dict[str, Any]] = []
    errors: list[str] = []
    formats: set[str] = set()
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(f"line {lineno}: not valid JSON ({exc.msg})")
            continue
        if not isinstance(record, dict):
            errors.append(f"line {lineno}: a record must be a JSON object, got {type(record).__name__}")
            continue
        if "messages" in record:
            fmt, problems = "chat", _chat_errors(record)
        elif "prompt" in record or "completion" in record:
            fmt, problems = "prompt_completion", _prompt_completion_errors(record)
        else:
            fmt, problems = "", ["needs 'messages' (chat form) or 'prompt' and 'completion'"]
        errors.extend(f"line {lineno}: {p}" for p in problems)
        if fmt:
            formats.add(fmt)
        records.append(record)
        if len(errors) >= MAX_REPORTED_ERRORS:
            break
    if len(formats) > 1 and not errors:
        errors.append("mixes chat records and prompt/completion records; use one form per file")
    if errors:
        shown = errors[:MAX_REPORTED_ERRORS]
        raise InvalidInput(
            f"{len(shown)} problem(s) in the file, first: {shown[0]}", details={"errors": shown}
        )
    return records, formats.pop()


def to_jsonl(records: list[dict[str, Any]]) -> bytes:
    """Serialise records one per line, keys in their original order."""
    return "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in records).encode()
