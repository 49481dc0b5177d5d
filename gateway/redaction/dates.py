"""Which of spaCy's dates name a point in the calendar (`DATE_TIME`'s `calendar_only`, on by default).

spaCy's small English model tags as DATE or TIME everything temporal: "this morning", "next week",
"8+ years", "the first three months", "46 years old". None of that identifies anyone, and redacting it
wrecks instructions ("reply within <DATE_TIME_1>"); on the benchmark corpus 84% of the DATE_TIME spans
plain Presidio reports are such phrases. What can identify someone is a point in the calendar: a date
("2/8/1935", "2000-04-16", "March 3rd": HIPAA's Safe Harbor removes every date element but the year),
a year ("born in 1977": with a town and a job, a year of birth narrows it to a few people), a clock time
("09:00") or a weekday ("last Sunday"), which the corpus's labels count as well.

With `calendar_only` (the default) the scanner keeps an NER DATE_TIME finding only when
`is_calendar_point` says so; Presidio's regex `DateRecognizer` findings are dates already and always
kept. Compliance sets `"DATE_TIME": {"calendar_only": false}` to redact every temporal phrase.
"""

from __future__ import annotations

import regex

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
