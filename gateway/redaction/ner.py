"""spaCy's named entities as ftgate reads them: a DATE_TIME must name a point in the calendar.

spaCy's small English model tags as DATE or TIME everything temporal: "this morning", "next week",
"8+ years", "the first three months", "46 years old". None of that identifies anyone, and redacting it
wrecks instructions ("reply within <DATE_TIME_1>"); on the benchmark corpus 84% of the DATE_TIME spans
plain Presidio reports are such phrases. What can identify someone is a point in the calendar: a date
("2/8/1935", "2000-04-16", "March 3rd": HIPAA's Safe Harbor removes every date element but the year),
a year ("born in 1977": with a town and a job, a year of birth narrows it to a few people), a clock time
("09:00") or a weekday ("last Sunday"), which the corpus's labels count as well.

`CalendarNerRecognizer` is Presidio's `SpacyRecognizer` keeping a DATE_TIME span only when it contains
one of those, and every other entity as spaCy gave it. Presidio's regex `DateRecognizer` is untouched:
its patterns are dates already.
"""

from __future__ import annotations

from typing import Any

import regex
from presidio_analyzer import RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import SpacyRecognizer

DATE_TIME = "DATE_TIME"

_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december"
    "|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)
_WEEKDAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"

# One of these inside a DATE_TIME span makes it a calendar point.
CALENDAR_ANCHOR = regex.compile(
    r"""
    (?<![\d.,])(?:1[6-9]\d\d|20\d\d)(?![\d.,]|'?s\b)  # a year, not a decade ("1990s") nor in a number
    | (?<!\d)\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}(?!\d)     # 2/8/1935, 2000-04-16, 16.04.2000
    | (?<!\d)[0-2]?\d:[0-5]\d(?!\d)                    # 09:00, 14:11:22
    | \b(?:MONTHS)\.?\s+\d{1,2}(?:st|nd|rd|th)?\b       # March 3, Sept. 21st
    | \b\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:MONTHS)\b  # 3 March, 21st of September
    | \b(?:WEEKDAYS)\b
    """.replace("MONTHS", _MONTHS).replace("WEEKDAYS", _WEEKDAYS),
    regex.IGNORECASE | regex.VERBOSE,
)


def is_calendar_point(text: str) -> bool:
    """Whether a temporal phrase names a year, date, clock time or weekday (see the module's doc)."""
    return CALENDAR_ANCHOR.search(text) is not None


class CalendarNerRecognizer(SpacyRecognizer):
    """Presidio's `SpacyRecognizer`, keeping a DATE_TIME only when it names a calendar point."""

    @classmethod
    def replacing(cls, recognizer: SpacyRecognizer) -> CalendarNerRecognizer:
        """The same recognizer (entities, language, score), with the DATE_TIME filter."""
        return cls(
            supported_language=recognizer.supported_language,
            supported_entities=list(recognizer.supported_entities),
            ner_strength=recognizer.ner_strength,
            context=recognizer.context,
            name=recognizer.name,
        )

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None, **kwargs: Any
    ) -> list[RecognizerResult]:
        results = super().analyze(text, entities, nlp_artifacts)
        return [r for r in results if r.entity_type != DATE_TIME or is_calendar_point(text[r.start : r.end])]
