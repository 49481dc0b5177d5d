"""The streaming scan: read in chunks, it redacts and reports exactly as a scan of the whole list, and
analyses each distinct string once however often it recurs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from presidio_analyzer import AnalyzerEngine, RecognizerResult

from gateway.errors import InvalidInput, RedactionError
from gateway.formats import to_jsonl
from gateway.redaction import Scanner
from gateway.redaction.analysis import Detector
from gateway.redaction.config import DEFAULT_ENTITIES, parse_config

from .conftest import KEY

PHONE = "212 555 0178"
EMAIL = "UtaKortig@jourrapide.com"
CARD = 4454794511390933  # a JSON integer
SSN = "460-89-9847"


def pc(prompt: str, completion: str = "ok", **extra: Any) -> dict[str, Any]:
    return {"prompt": prompt, "completion": completion, **extra}


# Chosen so that, read three at a time, every cross-record rule crosses a chunk boundary.
RECORDS: list[dict[str, Any]] = [
    pc(f"Noted: {PHONE}"),  # a bare repeat, found only through record 7's sentence
    pc("Thanks, Schwarz."),  # a name part, found only through record 5's full name
    pc("Update my card on file.", meta={"card": CARD, "count": 3, "ratio": 0.5, "ok": True}),
    pc("Explain binary search.", tags=["alpha", "beta", None]),
    pc(f"My social security number is {SSN}."),  # dropped under DROP_SSN
    pc("My name is Sara Schwarz and I need help.", "Thanks, Schwarz."),
    {"prompt": "Write to me.", "completion": "ok", EMAIL: {"owner": "Jamie Pratt"}},  # PII in a key
    pc(f"My phone number is {PHONE}, call me after lunch."),
    pc("Explain binary search."),  # a repeat with no finding
    pc(f"Hi, I am Jamie Pratt, my mail is {EMAIL}.", "Noted, Ms Pratt."),
    pc("Thanks, Schwarz.", meta={"card": CARD}),
    pc(f"Call {PHONE} or write to {EMAIL}."),
]

DROP_SSN = {**DEFAULT_ENTITIES, "US_SSN": {"operator": "drop_record"}, "PHONE_NUMBER": {"threshold": 0.5}}


class CountingScanner(Scanner):
    """The real scanner, counting every string handed to the one analysis entry point, per detector."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.analysed: dict[str, Counter[tuple[str, bool]]] = {"main": Counter(), "residual": Counter()}
        self.fail_after: int | None = None

    def analyze(
        self, units: list[tuple[str, bool]], detector: Detector
    ) -> dict[tuple[str, bool], list[RecognizerResult]]:
        self.analysed[detector].update(units)
        if self.fail_after is not None and sum(self.analysed["main"].values()) > self.fail_after:
            raise MemoryError("simulated scanner crash")
        return super().analyze(units, detector)


def stream(scanner: Scanner, records: list[dict[str, Any]], **options: Any) -> tuple[bytes, dict[str, Any]]:
    out: list[dict[str, Any]] = []
    report = scanner.scan_stream(lambda: iter(records), out.append, **options)
    return to_jsonl(out), report.model_dump()


@pytest.mark.parametrize("rounds", [1, 2, 3])
@pytest.mark.parametrize("entities", [None, DROP_SSN], ids=["default", "drop-ssn"])
@pytest.mark.parametrize("chunk_size", [1, 3, 5])
def test_stream_equals_whole_list_scan(
    analyzer: AnalyzerEngine, rounds: int, entities: dict[str, Any] | None, chunk_size: int
) -> None:
    config = parse_config({"entities": entities}) if entities else None
    scanner = Scanner(pseudonym_key=KEY, analyzer=analyzer, config=config, redaction_rounds=rounds)
    whole = scanner.scan(RECORDS)
    streamed, report = stream(scanner, RECORDS, chunk_size=chunk_size)
    assert streamed == to_jsonl(whole.redacted)
    assert report == whole.report.model_dump()


def test_cross_chunk_rules_reach_back(analyzer: AnalyzerEngine) -> None:
    """What a later chunk finds is redacted in an earlier one: the first chunk is not written early."""
    scanner = Scanner(pseudonym_key=KEY, analyzer=analyzer, config=parse_config({"entities": DROP_SSN}))
    streamed, report = stream(scanner, RECORDS, chunk_size=3)
    text = streamed.decode()
    lines = text.splitlines()
    assert lines[0] == '{"prompt":"Noted: <PHONE_NUMBER_1>","completion":"ok"}'
    assert lines[1] == '{"prompt":"Thanks, <PERSON_1>.","completion":"ok"}'
    assert SSN not in text and PHONE not in text and EMAIL not in text and str(CARD) not in text
    assert report["records"] == len(RECORDS) and report["records_dropped"] == 1
    assert len(lines) == len(RECORDS) - 1


def test_each_distinct_string_is_analysed_once(analyzer: AnalyzerEngine) -> None:
    scanner = CountingScanner(pseudonym_key=KEY, analyzer=analyzer)
    records = [*RECORDS, *RECORDS, *RECORDS]
    stream(scanner, records, chunk_size=2)
    originals = {unit: n for unit, n in scanner.analysed["main"].items() if "<" not in unit[0]}
    assert originals and max(originals.values()) == 1
    assert ("Explain binary search.", False) in originals
    # The residual check reads each distinct string of the output once, the unchanged ones too.
    checked = scanner.analysed["residual"]
    assert checked and max(checked.values()) == 1
    assert ("Explain binary search.", False) in checked


def test_progress_reports_each_pass(analyzer: AnalyzerEngine) -> None:
    calls: list[tuple[str, int, int | None]] = []
    scanner = Scanner(pseudonym_key=KEY, analyzer=analyzer)
    stream(scanner, RECORDS, chunk_size=5, progress=lambda *call: calls.append(call))
    phases = list(dict.fromkeys(phase for phase, _, _ in calls))
    assert phases[:3] == ["analysing", "indexing", "redacting"] and phases[-1] == "writing"
    for phase in ("analysing", "indexing", "redacting", "writing"):
        done = [d for p, d, _ in calls if p == phase]
        assert done == sorted(done) and done[-1] == len(RECORDS)
    # Totals are known once the first pass has counted.
    assert all(t == len(RECORDS) for p, _, t in calls if p in ("indexing", "redacting", "writing"))


def test_a_failure_part_way_writes_nothing(analyzer: AnalyzerEngine) -> None:
    scanner = CountingScanner(pseudonym_key=KEY, analyzer=analyzer)
    scanner.fail_after = 8  # within the second chunk of the first pass
    written: list[dict[str, Any]] = []
    with pytest.raises(RedactionError, match="scanner failed: MemoryError"):
        scanner.scan_stream(lambda: iter(RECORDS), written.append, chunk_size=3)
    assert written == []


def test_what_the_callers_callbacks_raise_passes_through_unchanged(analyzer: AnalyzerEngine) -> None:
    """Not a `RedactionError`: a caller stops a scan from `progress`, and a full disk is a full disk."""
    scanner = Scanner(pseudonym_key=KEY, analyzer=analyzer)

    class Stop(Exception):
        pass

    def progress(phase: str, done: int, total: int | None) -> None:
        raise Stop(phase)

    with pytest.raises(Stop, match="^analysing$"):
        scanner.scan_stream(lambda: iter(RECORDS), lambda record: None, progress=progress, chunk_size=3)

    def write(record: dict[str, Any]) -> None:
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        scanner.scan_stream(lambda: iter(RECORDS), write, chunk_size=3)


def test_a_record_that_is_not_an_object_is_refused(analyzer: AnalyzerEngine) -> None:
    scanner = Scanner(pseudonym_key=KEY, analyzer=analyzer)

    def records() -> Iterator[Any]:
        yield from RECORDS[:4]
        yield ["not", "an", "object"]

    with pytest.raises(InvalidInput, match="record 4 is not a JSON object"):
        scanner.scan_stream(records, lambda record: None, chunk_size=2)
