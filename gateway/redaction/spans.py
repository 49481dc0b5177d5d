"""Span arithmetic on Presidio findings, applied before Presidio's own conflict resolution.

Presidio's anonymizer drops a finding that lies inside a longer one. spaCy's small model sometimes
wraps a number in a longer DATE_TIME ("Card 4454794511390933"), which would turn a Luhn-checked credit
card into a `<DATE_TIME_n>`. NER spans are guesses with a flat score (0.85, Presidio's default for
spaCy), pattern findings are checked matches, so `split_ner_around_patterns` cuts an NER span around
the pattern findings of another type inside it: both keep their type and every character of both is
still replaced; a pattern finding with exactly the NER span takes it whole (md reads a bare SSN as a
date). Any other containment (a phone number around an NER DATE_TIME, say) stays Presidio's to settle.
`outside` makes the same cut around the spans redaction already replaced, so a later round never
rewrites one and the residual check sees only what redaction left.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from presidio_analyzer import RecognizerResult

Span = tuple[int, int]


def subtract(text: str, result: RecognizerResult, holes: Iterable[Span]) -> list[RecognizerResult]:
    """`result` minus `holes`: the pieces left, trimmed to start and end on a letter or digit."""
    pieces: list[RecognizerResult] = []
    cursor = result.start
    for start, end in sorted(holes):
        if end <= cursor or start >= result.end:
            continue
        pieces.extend(_trimmed(text, result, cursor, start))
        cursor = max(cursor, end)
    pieces.extend(_trimmed(text, result, cursor, result.end))
    return pieces


def _trimmed(text: str, result: RecognizerResult, start: int, end: int) -> list[RecognizerResult]:
    while start < end and not text[start].isalnum():
        start += 1
    while end > start and not text[end - 1].isalnum():
        end -= 1
    if start >= end:
        return []
    piece = RecognizerResult(
        entity_type=result.entity_type,
        start=start,
        end=end,
        score=result.score,
        recognition_metadata=result.recognition_metadata,
    )
    return [piece]


def _inside(inner: RecognizerResult, outer: RecognizerResult) -> bool:
    """`inner` lies within `outer` (an equal span included: the checked pattern beats the guess)."""
    return outer.start <= inner.start and inner.end <= outer.end


def split_ner_around_patterns(
    text: str, results: Sequence[RecognizerResult], is_ner: Callable[[RecognizerResult], bool]
) -> list[RecognizerResult]:
    """Cut each NER finding around the non-NER findings of another type that it contains."""
    resolved: list[RecognizerResult] = []
    for result in results:
        holes = []
        if is_ner(result):
            holes = [
                (other.start, other.end)
                for other in results
                if other.entity_type != result.entity_type and not is_ner(other) and _inside(other, result)
            ]
        resolved.extend(subtract(text, result, holes) if holes else [result])
    return resolved


Mark = tuple[int, int, str]  # a replaced span of a redacted text: start, end, entity type


def outside(text: str, marks: Sequence[Mark], results: Sequence[RecognizerResult]) -> list[RecognizerResult]:
    """The parts of findings that lie outside every replaced span; a finding inside one disappears."""
    if not marks:
        return list(results)
    kept: list[RecognizerResult] = []
    for result in results:
        holes = [(start, end) for start, end, _ in marks if start < result.end and result.start < end]
        kept.extend(subtract(text, result, holes) if holes else [result])
    return kept
