"""One scan of one dataset, as passes over its records read again each time.

The passes, a chunk of records at a time, so a dataset of any size is never held whole:
1. analysis: each distinct unit once, in reading order (`records.walk`), by the main detector; the
   value of a field whose key names a person or a place (`fields.py`) is a finding as a whole; the
   recurring values and names are gathered;
2. recurrence (`recurrence.py`): a value found late recurs early, and a name part found through a later
   record is redacted wherever its string occurs, so nothing is replaced before every record is seen;
3. redaction: round 1 replaces in reading order (so placeholder numbers follow it); then the strings a
   round changed are analysed again, since a replaced name changes the context spaCy sees, and a round
   that finds nothing new ends it (a fixed point, at most `rounds` rounds);
4. residual check: every distinct string of the output (or, with `residual_scope: changed`, every string
   redaction changed) is analysed by the *residual* detector, which is independent of the main one
   (`analysis.py`); what it finds outside the replaced spans is residual;
5. writing: the records are rebuilt in their own shape, each record holding a `drop_record` type is left
   out, and so is each record with a residual finding when compliance chose `residual: drop_record`;
   the counts, the residual findings by record, field path and type, and a sample are reported.

Strings with no finding are not analysed again by the main detector: it is deterministic, so it would
give the same empty answer.
"""

from __future__ import annotations

import heapq
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Protocol

import structlog
from presidio_analyzer import RecognizerResult

from gateway.errors import InvalidInput
from gateway.redaction.analysis import Detector, Findings, TextTooSlow
from gateway.redaction.answers import PHONE_NUMBER, POSTCODE, answer_findings, asked_for, previous_turn
from gateway.redaction.config import RedactionConfig
from gateway.redaction.fields import field_finding
from gateway.redaction.records import KEY_SEGMENT, Occurrence, Redaction, Tally, Unit, digest, rebuild, walk
from gateway.redaction.recurrence import PERSON, Recurrences
from gateway.redaction.replacement import Replacer
from gateway.redaction.report import ResidualFinding, SampleRecord, ScanReport
from gateway.redaction.spans import Mark, outside

log = structlog.get_logger(__name__)

CHUNK_SIZE = 2000  # records read per step of a streaming scan: bounds memory, not the result
SAMPLE_TOP = 3  # records with the most findings in the sample, beside one per entity type
MAX_RESIDUAL_LISTED = 1000  # residual findings listed by place in the report; all are counted

# progress(phase, done, total): called as a streaming scan moves through its passes.
Progress = Callable[[str, int, int | None], None]


class Analyst(Protocol):
    """Where the scan's analysis runs: in this process, or in worker processes."""

    def analyze(self, units: list[Unit], detector: Detector) -> Findings: ...


@dataclass
class _Current:
    """A changed string: its text now, its kind, the spans replaced in it, and its first record."""

    text: str
    bare: bool
    marks: list[Mark]
    entities: Counter[str]
    record: int


@dataclass
class ScanRun:
    """The state of one scan; `run` makes the passes and returns the report."""

    config: RedactionConfig
    analyst: Analyst
    key: bytes  # the pseudonym key: placeholders and surrogates are keyed HMACs of the values
    rounds: int
    description: Callable[[Detector], str]
    read_records: Callable[[], Iterator[Any]]
    write: Callable[[dict[str, Any]], None]
    notify: Progress
    total: int | None
    chunk_size: int = CHUNK_SIZE
    findings: dict[bytes, list[RecognizerResult]] = field(default_factory=dict)
    first_record: dict[bytes, int] = field(default_factory=dict)

    def run(self) -> ScanReport:
        started = time.perf_counter()
        recurrences = Recurrences(persons=PERSON in self.config.enabled())
        distinct, total = self._analysis_pass(recurrences)
        self.total = total
        self._record_pass(recurrences)
        current = self._redaction_passes(recurrences)
        residuals = self._residual_pass(current)
        redactions = {d: Redaction(c.text, c.entities) for d, c in current.items()}
        report = self._writing_pass(redactions, residuals, current)
        log.info(
            "redaction.scanned",
            records=report.records,
            records_changed=report.records_changed,
            records_dropped=report.records_dropped,
            strings=report.strings_scanned,
            distinct_strings=distinct,
            findings=sum(report.entities.values()),
            residual=report.residual_findings,
            seconds=round(time.perf_counter() - started, 3),
        )
        return report

    # -- pass 1 ---------------------------------------------------------------------------------------

    def _analysis_pass(self, recurrences: Recurrences) -> tuple[int, int]:
        """Analyse each distinct unit once; returns the distinct units and the records seen."""
        clean: set[bytes] = set()
        records = 0
        for chunk in _chunks(self.read_records(), self.chunk_size):
            new: dict[Unit, tuple[bytes, int]] = {}
            fielded: list[tuple[Unit, bytes, RecognizerResult]] = []
            for record in chunk:
                if not isinstance(record, dict):
                    raise InvalidInput(f"record {records} is not a JSON object")
                for occurrence in walk(record):
                    key = digest(occurrence.unit)
                    if key not in clean and key not in self.findings and occurrence.unit not in new:
                        new[occurrence.unit] = (key, records)
                    found = field_finding(occurrence, self.config.enabled())
                    if found is not None:
                        fielded.append((occurrence.unit, key, found))
                records += 1
            analysed = self._analyze({unit: record for unit, (_, record) in new.items()}, "main")
            for unit, (key, record) in new.items():
                results = analysed.get(unit)
                if results:
                    self.findings[key] = results
                    self.first_record[key] = record
                else:
                    clean.add(key)
            # Reading order: a chunk's strings are gathered as they first appear.
            for unit, (key, _) in new.items():
                if key in self.findings:
                    recurrences.gather(unit[0], self.findings[key])
            for unit, key, result in fielded:
                existing = self.findings.setdefault(key, [])
                if not any(r.start == result.start and r.end == result.end for r in existing):
                    existing.append(result)
                    recurrences.gather(unit[0], [result])
                clean.discard(key)
            self.notify("analysing", records, self.total)
        recurrences.build()
        return len(clean) + len(self.findings), records

    def _analyze(self, units: dict[Unit, int], detector: Detector) -> Findings:
        """The analyst's findings for `units` (each with the record it came from); a string over the
        time budget refuses that record."""
        try:
            return self.analyst.analyze(list(units), detector)
        except TextTooSlow as slow:
            record = units.get(slow.unit)
            raise InvalidInput(
                f"record {record}: a string took longer than the {slow.seconds:g} s analysis budget; "
                "shorten or split it",
                details={"record": record, "limit": "scan_budget_seconds"},
            ) from None

    # -- pass 2 ---------------------------------------------------------------------------------------

    def _record_pass(self, recurrences: Recurrences) -> None:
        """Add to `findings` every recurrence of a found value and of a name's parts, and the values
        that answer a question for them in the turn before (answers.py)."""
        spread = recurrences.needed()
        asked = [e for e in (POSTCODE, PHONE_NUMBER) if e in self.config.enabled()]
        if not spread and not asked:
            return
        extended: set[bytes] = set()  # strings whose dataset-wide recurrences are already added
        parts: dict[bytes, list[RecognizerResult]] = {}
        done = 0
        for chunk in _chunks(self.read_records(), self.chunk_size):
            for record in chunk:
                members: list[tuple[bytes, str]] = []
                seen: set[bytes] = set()
                turns: dict[str, str] = {}
                for occurrence in walk(record, indexed=True):
                    key = digest(occurrence.unit)
                    if asked and not occurrence.unit[1]:
                        turns[occurrence.path] = occurrence.unit[0]
                        self._answer(occurrence, key, turns, asked, parts, done)
                    if key in seen:
                        continue
                    seen.add(key)
                    members.append((key, occurrence.unit[0]))
                    if key in extended or not spread:
                        continue
                    extended.add(key)
                    base = self.findings.get(key, [])
                    extra = recurrences.dataset_extras(occurrence.unit[0], base)
                    if extra:
                        self.findings[key] = base + extra
                        self.first_record.setdefault(key, done)
                if not spread:
                    done += 1
                    continue
                extras = recurrences.record_extras(
                    [(text, self.findings.get(d, []) + parts.get(d, [])) for d, text in members]
                )
                for (key, _), extra in zip(members, extras, strict=True):
                    if extra:
                        parts[key] = parts.get(key, []) + extra
                        self.first_record.setdefault(key, done)
                done += 1
            self.notify("indexing", done, self.total)
        for key, extra in parts.items():
            self.findings[key] = self.findings.get(key, []) + extra

    def _answer(
        self,
        occurrence: Occurrence,
        key: bytes,
        turns: dict[str, str],
        asked: list[str],
        parts: dict[bytes, list[RecognizerResult]],
        record: int,
    ) -> None:
        """The postcode or phone number in a turn that answers the turn before's question for it."""
        before = previous_turn(occurrence.path)
        question = turns.get(before) if before is not None else None
        if question is None:
            return
        wanted = [e for e in asked_for(question) if e in asked]
        if not wanted:
            return
        text = occurrence.unit[0]
        have = self.findings.get(key, []) + parts.get(key, [])
        found = [
            r
            for r in answer_findings(text, wanted)
            if not any(h.start < r.end and r.start < h.end for h in have)
        ]
        if found:
            parts[key] = parts.get(key, []) + found
            self.first_record.setdefault(key, record)

    # -- pass 3 ---------------------------------------------------------------------------------------

    def _redaction_passes(self, recurrences: Recurrences) -> dict[bytes, _Current]:
        """Redact in rounds until one finds nothing new (at most `rounds`)."""
        replacer = Replacer(config=self.config, key=self.key)
        replacer.avoid_person_names(recurrences.name_parts())
        person_of = recurrences.person_of
        current: dict[bytes, _Current] = {}
        pending: list[bytes] = []
        done = 0
        for chunk in _chunks(self.read_records(), self.chunk_size):
            for record in chunk:
                for occurrence in walk(record):
                    key = digest(occurrence.unit)
                    results = self.findings.pop(key, None)
                    if not results:
                        continue  # no finding, or already replaced at its first occurrence
                    text, counts, marks = replacer.replace(occurrence.unit[0], results, [], person_of)
                    first = self.first_record.get(key, done)
                    current[key] = _Current(text, occurrence.unit[1], marks, counts, first)
                    pending.append(key)
                done += 1
            self.notify("redacting", done, self.total)
        self.first_record = {}

        for round_number in range(2, self.rounds + 1):
            changed: list[bytes] = []
            checked = 0
            for batch in _chunks(iter(pending), self.chunk_size):
                units = {(current[key].text, current[key].bare): key for key in batch}
                found = self._analyze({unit: current[key].record for unit, key in units.items()}, "main")
                for key in batch:
                    state = current[key]
                    results = outside(state.text, state.marks, found.get((state.text, state.bare), []))
                    if not results:
                        continue
                    text, counts, marks = replacer.replace(state.text, results, state.marks, person_of)
                    state.text, state.marks = text, marks
                    state.entities.update(counts)
                    changed.append(key)
                checked += len(batch)
                self.notify(f"round {round_number}", checked, len(pending))
            pending = changed
            if not pending:
                break
        return current

    # -- pass 4 ---------------------------------------------------------------------------------------

    def _residual_pass(self, current: dict[bytes, _Current]) -> dict[bytes, Counter[str]]:
        """What the residual detector finds in the output, outside the replaced spans, per string."""
        residuals: dict[bytes, Counter[str]] = {}
        checked: set[bytes] = set()
        done = 0
        for chunk in _chunks(self.read_records(), self.chunk_size):
            batch: dict[Unit, tuple[bytes, int]] = {}
            for index, record in enumerate(chunk, start=done):
                for occurrence in walk(record):
                    key = digest(occurrence.unit)
                    if key in checked:
                        continue
                    checked.add(key)
                    state = current.get(key)
                    if state is None and self.config.residual_scope == "changed":
                        continue
                    unit = (state.text, state.bare) if state is not None else occurrence.unit
                    batch.setdefault(unit, (key, index))
            found = self._analyze({unit: record for unit, (_, record) in batch.items()}, "residual")
            for unit, (key, _) in batch.items():
                state = current.get(key)
                left = outside(unit[0], state.marks if state is not None else [], found.get(unit, []))
                if left:
                    residuals[key] = Counter(r.entity_type for r in left)
            done += len(chunk)
            self.notify("final check", done, self.total)
        return residuals

    # -- pass 5 ---------------------------------------------------------------------------------------

    def _writing_pass(
        self,
        redactions: dict[bytes, Redaction],
        residuals: dict[bytes, Counter[str]],
        current: dict[bytes, _Current],
    ) -> ScanReport:
        drop = frozenset(e for e in self.config.enabled() if self.config.operator(e) == "drop_record")
        drop_residual = self.config.residual == "drop_record"
        tally = Tally()
        sampler = _Sampler()
        listed: list[ResidualFinding] = []
        residual_records = 0
        records = records_changed = records_dropped = dropped_residual = 0
        for chunk in _chunks(self.read_records(), self.chunk_size):
            for record in chunk:
                record_tally = Tally()
                new_record = rebuild(record, "", redactions, residuals, record_tally, records)
                index = records
                records += 1
                if record_tally.record_residual:
                    residual_records += 1
                    for (path, entity), count in sorted(record_tally.residual_at.items()):
                        if len(listed) < MAX_RESIDUAL_LISTED:
                            finding = ResidualFinding(record=index, field=path, entity=entity, count=count)
                            listed.append(finding)
                dropped = bool(drop & record_tally.entities.keys())
                if not dropped and drop_residual and record_tally.record_residual:
                    dropped = True
                    dropped_residual += 1
                tally.merge(record_tally, dropped=dropped)
                if dropped:
                    records_dropped += 1
                    continue
                self.write(new_record)
                if record_tally.record_changed:
                    records_changed += 1
                    # A record with residual PII could show it: never sample one.
                    if not record_tally.record_residual:
                        sampler.offer(index, new_record, record_tally.entities, record, current)
            self.notify("writing", records, self.total)

        thresholds = {e: self.config.threshold(e) for e in self.config.enabled()}
        return ScanReport(
            records=records,
            records_changed=records_changed,
            records_dropped=records_dropped,
            records_dropped_residual=dropped_residual,
            strings_scanned=tally.strings,
            entities=dict(sorted(tally.entities.items())),
            fields=dict(sorted(tally.fields.items())),
            residual_findings=sum(tally.residual.values()),
            residual_entities=dict(sorted(tally.residual.items())),
            residual_records=residual_records,
            residual=listed,
            residual_action=self.config.residual,
            residual_check=f"{self.description('residual')}; strings read: {self.config.residual_scope}",
            score_threshold=self.config.default_threshold,
            thresholds=dict(sorted(thresholds.items())),
            operators={entity: self.config.operator(entity) for entity in sorted(tally.entities)},
            config_sha256=self.config.sha256(),
            analyzer=self.description("main"),
            sample=sampler.sample(),
        )


class _Sampler:
    """The records a reviewer should see: one per entity type found, and those with the most findings.

    Streaming: it keeps, per entity type, the record with the most findings of that type, and the
    `SAMPLE_TOP` records with the most findings overall, so memory holds a few records, whatever the
    dataset's size.
    """

    def __init__(self) -> None:
        self._by_type: dict[str, tuple[int, int]] = {}  # entity -> (count, record index)
        self._top: list[tuple[int, int]] = []  # min-heap of (findings, -record index)
        self._kept: dict[int, SampleRecord] = {}

    def offer(
        self,
        index: int,
        redacted: dict[str, Any],
        entities: Counter[str],
        original: dict[str, Any],
        current: dict[bytes, _Current],
    ) -> None:
        total = sum(entities.values())
        wanted = False
        for entity, count in entities.items():
            best = self._by_type.get(entity)
            if best is None or count > best[0]:
                self._by_type[entity] = (count, index)
                wanted = True
        if len(self._top) < SAMPLE_TOP:
            heapq.heappush(self._top, (total, -index))
            wanted = True
        elif total > self._top[0][0]:
            heapq.heapreplace(self._top, (total, -index))
            wanted = True
        if wanted:
            self._kept[index] = SampleRecord(
                record=index,
                findings=total,
                entities=dict(sorted(entities.items())),
                redacted=redacted,  # rebuilt afresh: shares nothing mutable with the input
                marks=_marks(original, current),
            )
        self._forget()

    def _forget(self) -> None:
        needed = {index for _, index in self._by_type.values()} | {-neg for _, neg in self._top}
        for index in [i for i in self._kept if i not in needed]:
            del self._kept[index]

    def sample(self) -> list[SampleRecord]:
        return [self._kept[index] for index in sorted(self._kept)]


def _marks(record: dict[str, Any], current: dict[bytes, _Current]) -> list[dict[str, Any]]:
    """Where the replaced values stand in the redacted record: field path (with list positions), offsets
    in that field's redacted text, and entity type."""
    out: list[dict[str, Any]] = []
    for occurrence in walk(record, renamed=lambda unit: digest(unit) in current, indexed=True):
        state = current.get(digest(occurrence.unit))
        if state is None:
            continue
        for start, end, entity in state.marks:
            mark = {"field": occurrence.path, "start": start, "end": end, "entity": entity}
            if occurrence.path.endswith(KEY_SEGMENT):
                mark["key"] = state.text  # a dict key: its redacted text is how the reader finds it
            out.append(mark)
    return out


def _chunks(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    while chunk := list(islice(items, size)):
        yield chunk
