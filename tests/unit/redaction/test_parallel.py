"""The analysis pool: real worker processes, each with the real spaCy model and Presidio.

One pool of 2 workers serves the module (each worker loads spaCy: seconds); the test that kills a
worker runs last and checks that the pool starts fresh workers afterwards.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from presidio_analyzer import RecognizerResult

from gateway.errors import ConfigError, RedactionError
from gateway.redaction.analysis import Analysis, Detector
from gateway.redaction.config import EntityRule, RedactionConfig, load_config
from gateway.redaction.findings import is_ner
from gateway.redaction.parallel import AnalysisPool, Unit, partition
from gateway.redaction.scanner import Scanner
from gateway.settings import REPO_ROOT

KEY = b"unit-test-pseudonym-key"

TEXTS = [
    "My name is Sara Schwarz and I live in Berlin.",
    "Call me on 212-555-0199 or write to jane.doe@example.com tomorrow.",
    "Card 4111 1111 1111 1111, IBAN DE89 3704 0044 0532 0130 00.",
    "Ｊａｎｅ＠ｅｘａｍｐｌｅ．ｃｏｍ wrote back",  # fullwidth
    "reach me at j\u200ba\u200bn\u200be@example.com",  # zero-width characters
    "SSN 0 7 8 - 0 5 - 1 1 2 0 on file",  # split digits
    f"payload {base64.b64encode(b'bob.jones@example.org').decode()} attached",
    "token 6a616e6540746573742e636f6d in the log",  # hex of jane@test.com
    "link mailto%3Aalice%40example.net sent",
    "The weather is nice today; nothing to see here.",
    "Ms Schwarz said Sara would call back from Munich.",
    "Server 192.168.10.24 and MAC 00:1B:44:11:3A:B7 are down.",
    "Employee EMP-123456 badge renewed.",
    "Thanks, I have noted it and will get back to you.",
]
UNITS: list[Unit] = [
    *((text, False) for text in TEXTS),
    ("jane@example.com", True),  # a key: every recognizer but NER
    ("metadata", True),
    ("4111111111111111", True),  # a number's text
    ("user name", False),
    ("   ", False),  # blank: never analysed
    (TEXTS[0], False),  # a duplicate
]


def comparable(found: dict[Unit, list[RecognizerResult]]) -> dict[Unit, list[tuple[Any, ...]]]:
    return {
        unit: sorted(
            (r.entity_type, r.start, r.end, r.score, sorted((r.recognition_metadata or {}).items()))
            for r in results
        )
        for unit, results in found.items()
    }


@pytest.fixture(scope="module")
def config() -> RedactionConfig:
    # The shipped config: custom recognizers too.
    return load_config(REPO_ROOT / "policies")


@pytest.fixture(scope="module")
def scanner(config: RedactionConfig) -> Scanner:
    return Scanner(pseudonym_key=KEY, config=config)


@pytest.fixture(scope="module")
def pool(scanner: Scanner) -> Iterator[AnalysisPool]:
    with AnalysisPool(
        config=scanner.config, language=scanner.language, workers=2, min_units=1, start_units=1
    ) as p:
        yield p
    assert not p.started


def test_pool_answers_as_the_scanner_does(scanner: Scanner, pool: AnalysisPool) -> None:
    expected = scanner.analyze(UNITS, "main")
    found = pool.analyze(UNITS)
    assert pool.started
    assert comparable(found) == comparable(expected)
    assert ("   ", False) not in found
    # Both kinds of findings came back, stamped as such: nothing refers to a worker's objects.
    assert any(is_ner(r) for results in found.values() for r in results)
    assert any(not is_ner(r) for results in found.values() for r in results)
    assert any(r.entity_type == "EMAIL_ADDRESS" for r in found[("jane@example.com", True)])
    assert not found[("metadata", True)]


def test_the_residual_detector_runs_in_the_workers_too(scanner: Scanner, pool: AnalysisPool) -> None:
    expected = scanner.analyze(UNITS, "residual")
    assert comparable(pool.analyze(UNITS, detector="residual")) == comparable(expected)
    assert pool.describe("residual") != pool.describe("main")
    assert "en_core_web_sm" in pool.describe("residual") and "en_core_web_md" in pool.describe("main")


def test_more_chunks_than_workers_are_all_answered(scanner: Scanner, pool: AnalysisPool) -> None:
    # 280 units: 4 chunks, so each worker is sent a second chunk when it answers its first.
    units = [(f"{text} (ticket {i})", False) for i in range(20) for text in TEXTS]
    found = pool.analyze(units)
    assert comparable(found) == comparable(scanner.analyze(units, "main"))


def test_a_scan_through_the_pool_equals_the_in_process_scan(scanner: Scanner, pool: AnalysisPool) -> None:
    records: list[dict[str, Any]] = [
        {"messages": [{"role": "user", "content": text}, {"role": "assistant", "content": TEXTS[-1]}]}
        for text in TEXTS
    ]
    records.append({"jane@example.com": "contact", "amount": 4111111111111111, "note": "Sara again"})
    pooled = Scanner(pseudonym_key=KEY, config=scanner.config, pool=pool)
    ours, theirs = pooled.scan(records), scanner.scan(records)
    assert ours.redacted == theirs.redacted
    assert ours.report.model_dump() == theirs.report.model_dump()
    assert ours.report.records_changed > 5


def test_small_inputs_stay_in_process(scanner: Scanner, pool: AnalysisPool) -> None:
    calls: list[int] = []

    def local(units: list[Unit], detector: Detector) -> dict[Unit, list[RecognizerResult]]:
        calls.append(len(units))
        return scanner.analyze(units, detector)

    cold = AnalysisPool(config=scanner.config, workers=2)  # default thresholds, never started
    found = cold.analyze(UNITS[:3], local=local)
    assert calls == [3]
    assert not cold.started  # no worker spawned for three strings
    assert comparable(found) == comparable(scanner.analyze(UNITS[:3], "main"))
    # Warm workers too are skipped below min_units: sending costs more than it saves.
    pool.min_units = 10
    try:
        pool.analyze(UNITS[:4], local=local)
    finally:
        pool.min_units = 1
    assert calls == [3, 4]


def test_a_server_scanner_never_analyses_in_its_own_process(
    scanner: Scanner, pool: AnalysisPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`in_process=False` (the HTTP server): even one short note goes to the workers."""

    def nowhere(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("analysed in the serving process")

    # Only this process's analysis is replaced: the workers were forked from the fork server before.
    monkeypatch.setattr(Analysis, "analyze", nowhere)
    server = Scanner(pseudonym_key=KEY, config=scanner.config, pool=pool, in_process=False)
    pool.min_units = 10  # would keep small inputs local, if the scanner let it
    try:
        assert server.entities_in(["mail jane.doe@example.com"]) == [["EMAIL_ADDRESS"]]
        report = server.scan([{"prompt": "Write to jane.doe@example.com", "completion": "ok"}]).report
    finally:
        pool.min_units = 1
    assert report.entities == {"EMAIL_ADDRESS": 1} and report.analyzer == pool.describe("main")
    with pytest.raises(ConfigError, match="needs a pool"):
        Scanner(pseudonym_key=KEY, config=scanner.config, in_process=False)


@pytest.mark.parametrize(
    "lengths, parts",
    [([], 2), ([5], 3), ([1, 1, 1, 1], 2), ([100, 1, 1, 1, 50, 50], 2), ([7, 3, 9, 2, 8, 1, 4], 3)],
)
def test_partitions_are_balanced_and_keep_order(lengths: list[int], parts: int) -> None:
    units = [("x" * n + str(i), False) for i, n in enumerate(lengths)]
    out = partition(units, parts)
    assert len(out) == parts
    assert sorted(u for part in out for u in part) == sorted(units)
    for part in out:
        assert part == [u for u in units if u in part]  # each in the caller's order
    loads = [sum(len(u[0]) + 1 for u in part) for part in out]
    assert max(loads) - min(loads) <= max((len(u[0]) + 1 for u in units), default=0)


def test_bad_arguments_are_refused(config: RedactionConfig) -> None:
    with pytest.raises(ConfigError):
        AnalysisPool(config=config, workers=0)
    with pytest.raises(ConfigError):
        AnalysisPool(config=config, start_method="fork")  # type: ignore[arg-type]


def test_a_worker_that_cannot_build_its_scanner_fails_closed() -> None:
    # spawn here (the module's pool uses the default, forkserver): both start methods are exercised.
    # Valid as a file, refused by the scanner the worker builds: no recognizer finds the entity.
    broken = RedactionConfig(entities={"NO_SUCH_ENTITY": EntityRule()})
    with (
        AnalysisPool(config=broken, workers=1, min_units=1, start_units=1, start_method="spawn") as p,
        pytest.raises(ConfigError, match="NO_SUCH_ENTITY"),  # as an in-process scanner says it
    ):
        p.start()
    assert not p.started


def test_a_killed_worker_fails_the_call_and_the_next_call_starts_afresh(
    scanner: Scanner, pool: AnalysisPool
) -> None:
    pool.start()
    victim = pool._procs[1]
    victim.kill()
    victim.join()
    with pytest.raises(RedactionError, match="scanner failed"):
        pool.analyze(UNITS)
    assert not pool.started  # the other worker is gone too: nothing half-answered survives
    found = pool.analyze(UNITS)
    assert comparable(found) == comparable(scanner.analyze(UNITS, "main"))
