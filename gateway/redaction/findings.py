"""What a finding carries besides its span: the kind of evidence behind it.

The scanner treats findings differently by where they come from: an NER guess (spaCy's statistical
model) is cut around checked pattern findings inside it, spreads across a dataset only when it has two
words or more, and loses to a decoded segment it overlaps. Presidio names the recognizer object in a
result's metadata, which means nothing outside the process that made it; so the analysis stamps each
finding with its kind instead, and that survives the trip back from a worker process.
"""

from __future__ import annotations

from typing import Any, Literal

from presidio_analyzer import RecognizerResult

KIND_KEY = "ftgate_kind"
# Where the value inside an encoded segment came from, so the segment gets the placeholder its decoded
# value would get.
DECODED_VALUE_KEY = "ftgate_decoded_value"

# ner: spaCy's NER; pattern: a regex, checksum or rule recognizer; encoded: a base64/hex/URL-encoded
# segment whose decoded text holds a finding; recurrence: a value found elsewhere in the dataset;
# field: the value of a field whose key names a person or a place; answer: a value in a chat turn that
# answers a question for it (answers.py).
Kind = Literal["ner", "pattern", "encoded", "recurrence", "field", "answer"]


def kind_of(result: RecognizerResult) -> str | None:
    return (result.recognition_metadata or {}).get(KIND_KEY)


def is_ner(result: RecognizerResult) -> bool:
    return kind_of(result) == "ner"


def decoded_value(result: RecognizerResult) -> str | None:
    return (result.recognition_metadata or {}).get(DECODED_VALUE_KEY)


def make_result(
    entity_type: str, start: int, end: int, score: float, kind: Kind, **metadata: Any
) -> RecognizerResult:
    """A finding of `kind`, with `metadata` added to what Presidio records."""
    recognition_metadata = {
        RecognizerResult.RECOGNIZER_NAME_KEY: metadata.pop("recognizer", kind),
        KIND_KEY: kind,
        **metadata,
    }
    return RecognizerResult(entity_type, start, end, score, recognition_metadata=recognition_metadata)


def with_kind(result: RecognizerResult, kind: Kind, start: int, end: int) -> RecognizerResult:
    """`result` moved to `[start, end)` and stamped with `kind`, its other metadata kept but the
    recognizer object's identifier, which means nothing outside the process that made it."""
    metadata = {**(result.recognition_metadata or {}), KIND_KEY: kind}
    metadata.pop(RecognizerResult.RECOGNIZER_IDENTIFIER_KEY, None)
    return RecognizerResult(result.entity_type, start, end, result.score, recognition_metadata=metadata)
