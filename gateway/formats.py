"""Parse and validate training files: JSONL in OpenAI chat form or prompt/completion form.

Every record is also held to `InputLimits` (the length of any one string, the size of the record, how
deep it nests) while the file is read, before anything is analysed or stored: redaction reads every
string, and what it costs grows with the string, so an upload must not be able to hand it a string of
a million characters, a record of hundreds of megabytes or ten thousand nested lists (on which
`json.loads` itself fails with RecursionError).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, Protocol

from gateway.errors import InvalidInput

if TYPE_CHECKING:
    from gateway.settings import Settings

CHAT_ROLES = {"system", "user", "assistant", "tool"}
MAX_REPORTED_ERRORS = 10
# The most `InputLimits.max_record_bytes` may be: one line is held in memory whole.
MAX_LINE_BYTES = 64 << 20
PROGRESS_EVERY = 1000
# Path segments an error message shows of a deeply nested field (the rest is elided), and the longest
# key it shows as written (a longer one is data, not a field name).
_SHOWN_SEGMENTS = 12
_SHOWN_KEY_CHARS = 64


@dataclass(frozen=True)
class InputLimits:
    """What one record of an upload may hold (the defaults are `Settings`'s: FTGATE_MAX_...)."""

    max_string_chars: int = 100_000
    max_record_bytes: int = 1 << 20
    max_record_depth: int = 64

    def __post_init__(self) -> None:
        if min(self.max_string_chars, self.max_record_bytes, self.max_record_depth) < 1:
            raise ValueError("input limits must be positive")
        if self.max_record_bytes > MAX_LINE_BYTES:
            raise ValueError(f"max_record_bytes may be at most {MAX_LINE_BYTES} (64 MiB)")

    @classmethod
    def from_settings(cls, settings: Settings) -> InputLimits:
        """The limits the deployment configured."""
        return cls(
            max_string_chars=settings.max_string_chars,
            max_record_bytes=settings.max_record_bytes,
            max_record_depth=settings.max_record_depth,
        )


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


class Sink(Protocol):
    """Where the bytes read are copied: a file, or a blob store writer."""

    def write(self, data: bytes, /) -> object: ...


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
    copy_to: Sink | None = None,
    progress: Callable[[str, int, int | None], None] | None = None,
    limits: InputLimits | None = None,
) -> TrainingFile:
    """Read a training file once: validate every record, hash the raw bytes, count the records.

    Raises InvalidInput listing the first errors with line numbers (as `parse_training_jsonl`). Each
    line is decoded and parsed on its own and then dropped, so memory holds one line. Lines end at
    `\n` (JSON Lines): a raw U+2028 inside a JSON string is part of the record, not a line break.
    `copy_to`, if given, receives every byte read, so later passes can read what was hashed even if
    the original changes meanwhile. A record beyond `limits` (default `InputLimits()`) refuses the
    file at once, naming the limit, the line and record numbers and the field, never its value.
    """
    limits = limits or InputLimits()
    digest = hashlib.sha256()
    size = records = nonblank = 0
    errors: list[str] = []
    formats: set[str] = set()
    seen_text = False
    for lineno, raw in enumerate(_raw_lines(source, limits.max_record_bytes + 2), start=1):
        digest.update(raw)
        if copy_to is not None:
            copy_to.write(raw)
        offset, size = size, size + len(raw)
        nonblank += bool(raw.strip())
        seen_text = seen_text or bool(raw.strip())
        record_bytes = len(raw.removesuffix(b"\n").removesuffix(b"\r"))
        if record_bytes > limits.max_record_bytes:  # checked before decoding: a cut line is longer
            what = f"is over the limit of {limits.max_record_bytes:,} bytes for one record"
            raise _over_limit("max_record_bytes", lineno, nonblank, None, limits.max_record_bytes, None, what)
        try:
            line = _text(raw, lineno)
        except UnicodeDecodeError as exc:
            # Reported before any other problem, as a whole-file decode would.
            raise InvalidInput(f"the file is not valid UTF-8 (byte {offset + exc.start})") from None
        if len(errors) >= MAX_REPORTED_ERRORS or not line.strip():
            continue  # past the errors worth reporting, the rest is only hashed and decoded
        _check_depth(line, limits, lineno, nonblank)
        record, problems, fmt = _check_line(line)
        if record is not None and len(line) > limits.max_string_chars:  # else no string can be longer
            _check_strings(record, limits, lineno, nonblank)
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
    for lineno, raw in enumerate(_raw_lines(source, MAX_LINE_BYTES + 2), start=1):
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


def _raw_lines(source: IO[bytes], most: int) -> Iterator[bytes]:
    """Each line with its `\n`; a line over `most` bytes is cut, and `validate_training_jsonl` refuses it."""
    while raw := source.readline(most):
        yield raw


def _text(raw: bytes, lineno: int) -> str:
    """A raw line as text, without its line ending, nor the first line's UTF-8 byte-order mark."""
    line = raw.decode("utf-8").removesuffix("\n").removesuffix("\r")
    return line.removeprefix("\ufeff") if lineno == 1 else line


def _over_limit(
    limit: str, lineno: int, record: int, path: str | None, maximum: int, actual: int | None, what: str
) -> InvalidInput:
    """The refusal for a record beyond one of `InputLimits`: where, which limit and its setting."""
    where = f"line {lineno} (record {record})" + (f", field {path}," if path else "")
    message = f"{where} {what} (FTGATE_{limit.upper()}); nothing was analysed or stored"
    details = {"limit": limit, "maximum": maximum, "actual": actual, "line": lineno, "record": record}
    return InvalidInput(message, details={**details, "path": path})


def _check_depth(line: str, limits: InputLimits, lineno: int, record: int) -> None:
    """Refuse a record nested deeper than the limit, before it is parsed."""
    deep = _too_deep(line, limits.max_record_depth)
    if deep is not None:
        what = f"nests deeper than the limit of {limits.max_record_depth} levels"
        raise _over_limit(
            "max_record_depth", lineno, record, _path(deep), limits.max_record_depth, None, what
        )


def _check_strings(value: Any, limits: InputLimits, lineno: int, record: int) -> None:
    """Refuse a record holding a string (a dict key included) longer than the limit."""
    for path, length in _long_strings(value, limits.max_string_chars):
        what = f"holds a string of {length:,} characters, over the limit of {limits.max_string_chars:,}"
        raise _over_limit(
            "max_string_chars", lineno, record, _path(path), limits.max_string_chars, length, what
        )


# The characters that make a JSON text's structure; everything else is inside a string or a scalar.
_STRUCTURE = re.compile(r'[\[\]{},:"\\]')

Segment = str | int


def _too_deep(line: str, limit: int) -> list[Segment] | None:
    """The path to the first object or array of `line` that opens deeper than `limit`, else None.

    Read from the raw text, not parsed, so that ten thousand nested lists cost one linear scan and never
    reach `json.loads`'s recursion. A line that is not JSON gives some answer; `_check_line` refuses it.
    """
    if line.count("[") + line.count("{") <= limit:
        return None  # the common case, in C
    open_: list[list[Any]] = []  # per open container: its bracket and the key or index inside it
    in_string, skip, string_start, last_string = False, -1, 0, (0, 0)
    for match in _STRUCTURE.finditer(line):
        at = match.start()
        char = line[at]
        if at == skip:
            continue
        if in_string:
            if char == "\\":
                skip = at + 1  # the escaped character, whatever it is
            elif char == '"':
                in_string, last_string = False, (string_start, at + 1)
        elif char == '"':
            in_string, string_start = True, at
        elif char in "[{":
            if len(open_) >= limit:
                return [segment for _, segment in open_]
            open_.append([char, 0 if char == "[" else "?"])
        elif char in "]}":
            if open_:
                open_.pop()
        elif open_ and char == "," and open_[-1][0] == "[":
            open_[-1][1] += 1
        elif open_ and char == ":" and open_[-1][0] == "{":
            open_[-1][1] = _key(line[last_string[0] : last_string[1]])
    return None


def _key(text: str) -> str:
    try:
        key = json.loads(text)
    except json.JSONDecodeError:
        return "?"
    return key if isinstance(key, str) else "?"


def _long_strings(value: Any, longest: int) -> Iterator[tuple[list[Segment], int]]:
    """(path, length) of each string, dict key included, longer than `longest`; no recursion."""
    stack: list[tuple[list[Segment], Any]] = [([], value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if len(item) > longest:
                yield path, len(item)
        elif isinstance(item, dict):
            for key, child in reversed(item.items()):
                if len(key) > longest:
                    yield path + ["{key}"], len(key)
                stack.append((path + [key], child))
        elif isinstance(item, list):
            stack.extend((path + [i], child) for i, child in reversed(list(enumerate(item))))


def _path(segments: list[Segment]) -> str:
    """`messages[3].content`; a long path shows its first segments, a long key only as `{key}`."""
    shown = "".join(
        f"[{s}]" if isinstance(s, int) else f".{s if len(s) <= _SHOWN_KEY_CHARS else '{key}'}"
        for s in segments[:_SHOWN_SEGMENTS]
    )
    shown = shown.removeprefix(".") or "(the record)"
    return shown + ("..." if len(segments) > _SHOWN_SEGMENTS else "")


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
