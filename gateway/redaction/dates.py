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

A calendar point about a product rather than a person ("version 5.1 was released on March 3, 2025",
"maintenance Sunday 02:00 UTC") is content too: `is_product_date` (below) says so, and ftgate's NER
recognizer (ner.py) and `ProductAwareDateRecognizer` (Presidio's date patterns) leave those.
"""

from __future__ import annotations

import regex
from presidio_analyzer import RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import DateRecognizer

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


# --- dates about a product, not a person ----------------------------------------------------------
# "Version 5.1 was released on March 3, 2025", "maintenance Sunday 02:00 UTC", "export every Friday at
# 17:00 UTC": a release, a version, a maintenance window or a schedule is content a support model must
# keep; a date of birth, of a visit or of an appointment is a person's and stays redacted. A date
# counts as a product's when its sentence speaks of software, releases or schedules and not of a
# person's life ("born", "appointment", "admitted") or of a third person ("she", "his": whose dates
# they are). "I" and "my" do not count against it: in a support chat the user asks "can I schedule
# the report for Thursday?" about the product. A weekday in a farewell ("have a good Sunday") is
# nobody's date either.
_PRODUCT_WORDS = regex.compile(
    r"\b(?:releas(?:e|ed|es|ing)|launch(?:ed|es|ing)?|version|v\d+(?:\.\d+)*|\d+\.\d+(?:\.\d+)*|changelog"
    r"|roll(?:ed)?[ -]?out|deploy(?:ed|ment|s|ing)?|maintenance|downtime|outage|incident|upgrade[ds]?"
    r"|update[ds]?|patch(?:ed|es)?|fix(?:ed|es)?|hotfix|lts|known issue|deprecat(?:ed|ion|es)"
    r"|end[ -]of[ -]life|eol|sunset(?:ting)?|general(?:ly)? availab(?:le|ility)|beta|api|sdk|firmware|build"
    r"|service window|migration|cutover|go[ -]live|schedul(?:e|ed|es|ing)|weekly|daily|monthly|hourly"
    r"|every|recurring|quiet hours|time ?zone|utc|gmt|cron|automatically|exports?|reports?|digest|sync"
    r"|backups?|orders?|processing|tickets?|invoices?|workspace|subscription renewal)\b",
    regex.IGNORECASE,
)
_PERSONAL_WORDS = regex.compile(
    r"\b(?:born|birth|birthday|dob|died|death|passed away|appointment|visit(?:ed)?|admitted|discharged"
    r"|hospital|surgery|diagnos(?:ed|is)|married|wedding|divorced|hired|fired|graduated|arrested|moved"
    r"|he|him|his|she|her|hers)\b",
    regex.IGNORECASE,
)
_FAREWELL = regex.compile(r"\bhave\s+an?\s+(?:\w+\s+){0,2}$", regex.IGNORECASE)
# A sentence ends at ., ! or ? followed by a space, or at a line break; bounded both ways.
_SENTENCE_END = regex.compile(r"[.!?](?=\s)|\n")
_SENTENCE_REACH = 300


def is_product_date(text: str, start: int, end: int) -> bool:
    """Whether the calendar point at `text[start:end]` is about a release, maintenance or a schedule,
    not a person. Only calendar points: a phrase such as "this month" is `calendar_only`'s business."""
    if not is_calendar_point(text[start:end]):
        return False
    lo = max(0, start - _SENTENCE_REACH)
    ends = [m.end() for m in _SENTENCE_END.finditer(text, lo, start)]
    sentence_start = ends[-1] if ends else lo
    tail = _SENTENCE_END.search(text, end, min(len(text), end + _SENTENCE_REACH))
    sentence_end = tail.start() if tail else min(len(text), end + _SENTENCE_REACH)
    sentence = text[sentence_start:sentence_end]
    if _PERSONAL_WORDS.search(sentence) is not None:
        return False
    farewell = _FAREWELL.search(text, max(0, start - 40), start) is not None
    return farewell or _PRODUCT_WORDS.search(sentence) is not None


class ProductAwareDateRecognizer(DateRecognizer):
    """Presidio's `DateRecognizer`, leaving the dates of releases and maintenance windows (above)."""

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        results = super().analyze(text, entities, nlp_artifacts, regex_flags) or []
        return [r for r in results if not is_product_date(text, r.start, r.end)]
