"""Disguise decoding: what the analyzer reads for one text, and how its findings map back.

Presidio's recognizers read text as written, so disguised values slip past them. For each text the
analyzer reads its normalised view (`normalize`: NFKC, invisible characters, homoglyphs, split digits,
with an offset map back) and the decoded text of each base64, hex or URL-encoded segment in it
(`encoded_segments`). A finding in the view maps back to the original characters, disguise included;
a finding in a decoded segment takes the whole segment, since a part of an encoding left in place would
still decode to part of the value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from presidio_analyzer import RecognizerResult

from gateway.redaction.findings import DECODED_VALUE_KEY, decoded_value, is_ner, make_result, with_kind
from gateway.redaction.normalize import Normalized, Segment, encoded_segments, normalize

# Keeps the findings of one readable text that count (thresholds, allow-list, ...).
Keep = Callable[[str, list[RecognizerResult]], list[RecognizerResult]]


@dataclass(frozen=True)
class Reading:
    """One original text as the analyzer reads it: its normalised view and its decoded segments."""

    view: Normalized
    segments: tuple[tuple[Segment, str], ...]  # each encoded segment and its normalised decoded text

    def texts(self) -> list[str]:
        """The texts to analyse for it: the view, then each decoded segment."""
        return [self.view.text, *(decoded for _, decoded in self.segments)]

    def findings(
        self, found: dict[str, list[RecognizerResult]], keep: Keep, kind: Callable[[RecognizerResult], str]
    ) -> list[RecognizerResult]:
        """The kept findings of `found` (readable text -> results) at original offsets, kinds stamped.

        `kind(result)` says whether a result of the view is an NER guess or a pattern finding.
        """
        kept: list[RecognizerResult] = []
        for r in keep(self.view.text, found[self.view.text]):
            start, end = self.view.original_span(r.start, r.end)
            kept.append(with_kind(r, kind(r), start, end))  # type: ignore[arg-type]
        for segment, decoded in self.segments:
            hits = keep(decoded, found[decoded])
            if not hits:
                continue
            # A checked pattern names the segment before an NER guess on decoded text.
            best = max(hits, key=lambda r: (kind(r) != "ner", r.score))
            # Score 1: a decoded finding is checked evidence, so it must win over an NER guess that
            # reads the encoded run as a name.
            kept.append(
                make_result(
                    best.entity_type,
                    segment.start,
                    segment.end,
                    1.0,
                    "encoded",
                    recognizer=f"encoded-{segment.encoding}",
                    **{DECODED_VALUE_KEY: decoded[best.start : best.end]},
                )
            )
        return _drop_ner_over_segments(kept)


def read(text: str) -> Reading:
    """How the analyzer reads `text`."""
    segments = tuple((segment, normalize(segment.decoded).text) for segment in encoded_segments(text))
    return Reading(normalize(text), segments)


def _drop_ner_over_segments(results: list[RecognizerResult]) -> list[RecognizerResult]:
    """An NER guess overlapping a decoded segment is spaCy reading the encoding as a word: drop it."""
    segments = [r for r in results if decoded_value(r) is not None]
    if not segments:
        return results
    return [
        r for r in results if not (is_ner(r) and any(s.start < r.end and r.start < s.end for s in segments))
    ]
