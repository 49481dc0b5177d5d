"""The rounds of redaction run to a fixed point: driven by a scripted analyst, so each round is certain.

spaCy reads a name differently once a neighbouring name is replaced; which names it picks up in which
round depends on the model. The pass logic is what is under test here, so the analyst is scripted: it
finds "Derek" only in a text that already holds a placeholder, and "Anna" always.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from presidio_analyzer import AnalyzerEngine, RecognizerResult

from gateway.errors import InvalidInput
from gateway.redaction.analysis import Analysis, Detector, Findings, TextTooSlow
from gateway.redaction.config import default_config
from gateway.redaction.findings import make_result
from gateway.redaction.passes import ScanRun
from gateway.redaction.records import Unit

from .conftest import KEY


class ScriptedAnalyst:
    """Implements the scan's `Analyst`: context-dependent findings, and a log of what each round asked."""

    def __init__(self) -> None:
        self.calls: list[tuple[Detector, list[str]]] = []

    def analyze(self, units: list[Unit], detector: Detector) -> Findings:
        self.calls.append((detector, [text for text, _ in units]))
        found: Findings = {}
        for text, bare in units:
            results: list[RecognizerResult] = []
            for name in ("Anna", "Derek"):
                start = text.find(name)
                if start < 0 or detector == "residual" and name == "Anna":
                    continue
                if name == "Derek" and "<PERSON_" not in text and detector == "main":
                    continue  # seen as a name only once another name is replaced
                results.append(make_result("PERSON", start, start + len(name), 0.85, "ner"))
            found[(text, bare)] = results
        return found


def scan(records: list[dict[str, Any]], rounds: int) -> tuple[list[dict[str, Any]], Any, ScriptedAnalyst]:
    analyst = ScriptedAnalyst()
    out: list[dict[str, Any]] = []
    run = ScanRun(
        config=default_config(),
        analyst=analyst,
        key=KEY,
        rounds=rounds,
        description=lambda detector: f"scripted {detector}",
        read_records=lambda: iter(records),
        write=out.append,
        notify=lambda *_: None,
        total=len(records),
    )
    return out, run.run(), analyst


RECORDS = [{"prompt": "Anna met Derek.", "completion": "ok"}]


@pytest.mark.parametrize(
    "rounds, prompt, residual",
    [
        (1, "<PERSON_1> met Derek.", 1),  # one round: the residual check still sees Derek
        (2, "<PERSON_1> met <PERSON_2>.", 0),
        (4, "<PERSON_1> met <PERSON_2>.", 0),
    ],
)
def test_rounds_run_until_nothing_new_is_found(rounds: int, prompt: str, residual: int) -> None:
    out, report, analyst = scan(RECORDS, rounds)
    assert out[0]["prompt"] == prompt
    assert report.residual_findings == residual
    later_rounds = [texts for detector, texts in analyst.calls if detector == "main"][1:]
    # Each round after the first analyses only the strings the last one changed, and the round that
    # changes nothing ends it, whatever the bound.
    assert (
        later_rounds
        == [["<PERSON_1> met Derek."], ["<PERSON_1> met <PERSON_2>."]][: {1: 0, 2: 1, 4: 2}[rounds]]
    )


def test_the_residual_check_reads_every_output_string_once_outside_replaced_spans() -> None:
    records = [
        {"prompt": "Anna met Derek.", "completion": "ok"},
        {"prompt": "Derek alone.", "completion": "ok"},  # the main detector never sees this Derek
    ]
    _, report, analyst = scan(records, 4)
    residual = [texts for detector, texts in analyst.calls if detector == "residual"]
    assert [text for text in residual[0] if text not in ("prompt", "completion")] == [
        "<PERSON_1> met <PERSON_2>.",
        "ok",
        "Derek alone.",
    ]
    assert [r.model_dump() for r in report.residual] == [
        {"record": 1, "field": "prompt", "entity": "PERSON", "count": 1}
    ]


class SlowOn(ScriptedAnalyst):
    """Takes too long on one string, as a worker past its budget reports it."""

    def __init__(self, slow: str) -> None:
        super().__init__()
        self.slow = slow

    def analyze(self, units: list[Unit], detector: Detector) -> Findings:
        for unit in units:
            if unit[0] == self.slow:
                raise TextTooSlow(unit, 20.0)
        return super().analyze(units, detector)


def test_a_string_over_the_time_budget_refuses_its_record_by_number() -> None:
    records = [{"prompt": f"Question {i}", "completion": "ok"} for i in range(5)]
    records[3]["prompt"] = "pathological"
    run = ScanRun(
        config=default_config(),
        analyst=SlowOn("pathological"),
        key=KEY,
        rounds=2,
        description=lambda detector: detector,
        read_records=lambda: iter(records),
        write=lambda record: None,
        notify=lambda *_: None,
        total=len(records),
        chunk_size=2,
    )
    with pytest.raises(InvalidInput, match=r"^record 3: a string took longer than the 20 s analysis budget"):
        run.run()


class SlowAnalysis(Analysis):
    """The real analysis, made slow on one text (a stand-in for a pattern that would backtrack)."""

    def _analyze(self, distinct: Any) -> Findings:
        if any("pathological" in text for text, _ in distinct):
            time.sleep(6)
        return super()._analyze(distinct)


def test_the_analysis_budget_names_the_slow_string(analyzer: AnalyzerEngine) -> None:
    analysis = SlowAnalysis(config=default_config(), analyzer=analyzer)
    units = [("Write to jane@example.com", False), ("a pathological string", False), ("fine", False)]
    fast = [units[0], units[2]]
    expected = analysis.analyze(fast)  # also warms spaCy up: its first documents are slow
    started = time.monotonic()
    with pytest.raises(TextTooSlow) as raised:
        analysis.analyze(units, budget=1.5)
    assert raised.value.unit == ("a pathological string", False)
    assert time.monotonic() - started < 5.5  # interrupted, not waited out
    # Within budget, the same call answers as without one.
    assert analysis.analyze(fast, budget=5.0).keys() == expected.keys()
