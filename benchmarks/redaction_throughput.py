"""Redaction throughput, side by side: a naive Presidio loop, ftgate's scanner, and the scanner on workers.

    .venv/bin/python benchmarks/redaction_throughput.py [--records 1500] [--workers N] [--repeat 1]
    .venv/bin/python benchmarks/redaction_throughput.py --sweep      # where the pool starts to pay

1. records/s on chat records built from the labelled corpus (tests/data/pii/
   synth_dataset_v2.json, each text as the user turn of a two-turn chat with a fixed assistant reply),
   same machine, same process:
   - naive: the loop a Presidio user writes, `AnalyzerEngine.analyze` on every string of every record,
     plain Presidio (its predefined recognizers, no ftgate ones) on the full spaCy pipeline, with thinc's
     default operations (blis) and spaCy's attribute-ruler `Matcher` (ftgate loads its models with
     `engine.BlasOps` and `attribute_rules.RuleIndex`, which give the same analysis faster);
   - ftgate in-process: `Scanner.scan` with the shipped config (spaCy batches through `nlp.pipe`, each
     distinct string once, normalising, decoding, recurrence, a second pass);
   - ftgate with N worker processes: the same scan, its analysis split over an `AnalysisPool`
     (gateway/redaction/parallel.py). The workers are started and warmed before the clock starts, as a
     server holds them; their start-up time is printed on its own line, and a ratio with it included.
   With `--repeat R` the variants run R times, interleaved, and the fastest run of each counts: other
   processes on the machine only ever slow a run down. The load average is printed with the figures.
2. Findings check: every naive finding at or above 0.5, of a type ftgate redacts, must lie inside a span
   ftgate acts on (of any type): the count of those that do not is printed, and of those, the count
   whose labelled value (the part of the finding the corpus labels) is not covered; and the pooled scanner's
   findings must equal the in-process scanner's, exactly. Counted on lines apart, because ftgate leaves
   them by design: spaCy DATE_TIME spans that name no calendar point ("next week"; `calendar_only`,
   gateway/redaction/dates.py), and naive findings where the corpus labels nothing of their type (the
   organisations, products and ids that ftgate's NER checks, gateway/redaction/ner.py, refuse to call
   people or places).
3. `--sweep`: for inputs of 8 to 512 distinct units, the in-process analysis against the warm pool, to
   choose `DEFAULT_MIN_UNITS`. Nothing is asserted anywhere.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import structlog

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from presidio_analyzer import RecognizerResult  # noqa: E402

from gateway.redaction.config import load_config  # noqa: E402
from gateway.redaction.dates import DATE_TIME, is_calendar_point  # noqa: E402
from gateway.redaction.engine import create_analyzer, create_nlp_engine  # noqa: E402
from gateway.redaction.parallel import AnalysisPool  # noqa: E402
from gateway.redaction.scanner import Scanner  # noqa: E402
from gateway.settings import REPO_ROOT  # noqa: E402

CORPUS = REPO_ROOT / "tests" / "data" / "pii" / "synth_dataset_v2.json"
REPLY = "Thanks, I have noted it and will get back to you."


def records(n: int, *, distinct: bool = False) -> list[dict[str, Any]]:
    """`n` chat records; with `distinct`, texts past the corpus size get a record number appended."""
    texts = [s["full_text"] for s in json.loads(CORPUS.read_text())]
    out = []
    for i in range(n):
        text = texts[i % len(texts)]
        if distinct and i >= len(texts):
            text = f"{text} (ref {i})"
        out.append({"messages": [{"role": "user", "content": text}, {"role": "assistant", "content": REPLY}]})
    return out


# Corpus labels as the scanner's types (as benchmarks/redaction_efficacy.py maps them).
LABELS = {"GPE": "LOCATION", "STREET_ADDRESS": "LOCATION", "ZIP_CODE": "LOCATION"}


def gold() -> dict[str, list[tuple[str, int, int]]]:
    """Each corpus text's labelled spans, by type: which naive findings are real."""
    return {
        sample["full_text"]: [
            (
                LABELS.get(span["entity_type"], span["entity_type"]),
                span["start_position"],
                span["end_position"],
            )
            for span in sample.get("spans") or []
        ]
        for sample in json.loads(CORPUS.read_text())
    }


def strings(record: dict[str, Any]) -> list[str]:
    return [m["content"] for m in record["messages"]]


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} CPUs"


def cpu_seconds(pids: list[int]) -> list[float]:
    """CPU time (user + system) of this process, then of each given live child (Linux /proc)."""
    out = [time.process_time()]
    ticks = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        out.append((int(fields[11]) + int(fields[12])) / ticks)  # utime, stime
    return out


def comparable(found: list[list[RecognizerResult]]) -> list[list[tuple[Any, ...]]]:
    return [sorted((r.entity_type, r.start, r.end, r.score) for r in results) for results in found]


def sweep(scanner: Scanner, pool: AnalysisPool) -> None:
    texts = [s["full_text"] for s in json.loads(CORPUS.read_text())]
    pool.min_units = 1
    print(f"# In-process analysis against the warm pool ({pool.workers} workers); {load()}")
    print(f"{'units':>6}{'in-process ms':>15}{'pool ms':>10}")
    for n in (8, 16, 32, 64, 128, 256, 512):
        units = [(f"{text} #{n}", False) for text in texts[:n]]  # never seen before by either
        started = time.perf_counter()
        scanner.analyze(units, "main")
        local_s = time.perf_counter() - started
        units = [(f"{text} ##{n}", False) for text in texts[:n]]
        started = time.perf_counter()
        pool.analyze(units)
        pool_s = time.perf_counter() - started
        print(f"{n:>6}{local_s * 1000:>15.0f}{pool_s * 1000:>10.0f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=1500)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="pool size (default: CPUs)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per variant; the fastest counts")
    parser.add_argument("--sweep", action="store_true", help="only the in-process/pool sweep")
    args = parser.parse_args(argv)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))

    config = load_config(REPO_ROOT / "policies")
    scanner = Scanner(pseudonym_key=b"bench", config=config)
    pool = AnalysisPool(config=scanner.config, language=scanner.language, workers=args.workers)
    pooled = Scanner(pseudonym_key=b"bench", config=config, pool=pool)
    started = time.perf_counter()
    pool.start()
    start_s = time.perf_counter() - started
    try:
        if args.sweep:
            sweep(scanner, pool)
            return 0
        return compare(args, config, scanner, pooled, pool, start_s)
    finally:
        pool.close()


def compare(
    args: argparse.Namespace,
    config: Any,
    scanner: Scanner,
    pooled: Scanner,
    pool: AnalysisPool,
    start_s: float,
) -> int:
    data = records(args.records)
    # Plain Presidio on the full spaCy pipeline, its own copy of the model.
    naive_analyzer = create_analyzer(create_nlp_engine(blas=False), with_ftgate_recognizers=False)
    scanner.scan(data[:20])  # warm up: spaCy's first documents are slower
    pooled.scan(data[:20])
    for record in data[:20]:
        for text in strings(record):
            naive_analyzer.analyze(text, language="en")

    best = {"naive": float("inf"), "ftgate": float("inf"), "pooled": float("inf")}
    cpu = dict.fromkeys(best, float("inf"))
    critical = dict.fromkeys(best, float("inf"))
    split: dict[str, list[float]] = {}
    naive: list[list[list[RecognizerResult]]] = []
    workers = [proc.pid for proc in pool._procs if proc.pid is not None]

    def timed(kind: str, run: Any) -> Any:
        cpu_before, started = cpu_seconds(workers), time.perf_counter()
        out = run()
        best[kind] = min(best[kind], time.perf_counter() - started)
        used = [after - before for after, before in zip(cpu_seconds(workers), cpu_before, strict=True)]
        cpu[kind] = min(cpu[kind], sum(used))
        # The caller waits while the workers analyse: its own CPU plus the busiest worker's.
        if used[0] + max(used[1:], default=0.0) < critical[kind]:
            critical[kind] = used[0] + max(used[1:], default=0.0)
            split[kind] = used
        return out

    load_before = load()
    for _ in range(args.repeat):
        naive = timed(
            "naive", lambda: [[naive_analyzer.analyze(t, language="en") for t in strings(r)] for r in data]
        )
        timed("ftgate", lambda: scanner.scan(data))
        timed("pooled", lambda: pooled.scan(data))
    load_after = load()

    # Findings: what ftgate acts on, per distinct string, against the naive loop's.
    flat = [text for record in data for text in strings(record)]
    in_process = scanner.analyze_texts(flat)
    on_pool = pooled.analyze_texts(flat)
    ours = dict(zip(flat, on_pool, strict=True))
    enabled = set(config.enabled())
    total = missing = by_design = 0
    calendar_only = config.dates_calendar_only()
    missing_by_type: dict[str, int] = {}
    value_missing_by_type: dict[str, int] = {}
    unlabelled_by_type: dict[str, int] = {}
    labels = gold()
    for record, results in zip(data, naive, strict=True):
        for text, found in zip(strings(record), results, strict=True):
            for r in found:
                if r.score < 0.5 or r.entity_type not in enabled:
                    continue
                total += 1
                if any(o.start <= r.start and r.end <= o.end for o in ours[text]):
                    continue
                surface = text[r.start : r.end]
                if calendar_only and r.entity_type == DATE_TIME and not is_calendar_point(surface):
                    by_design += 1  # "next week", "8+ years": spaCy's dates that name no calendar point
                    continue
                if text in labels and not any(
                    t == r.entity_type and s < r.end and r.start < e for t, s, e in labels[text]
                ):
                    # Nothing of that type is labelled there: a guess ftgate's checks drop (item 3 of
                    # issue 11: organisations, products, UI words, ids are not people or places).
                    unlabelled_by_type[r.entity_type] = unlabelled_by_type.get(r.entity_type, 0) + 1
                    continue
                missing += 1
                missing_by_type[r.entity_type] = missing_by_type.get(r.entity_type, 0) + 1
                # The labelled part of it: plain Presidio's span often runs past the value ("Bryan
                # Maclean's", "Anna Josefsen\nAddress"); what matters is whether ftgate covers the value.
                parts = [
                    (max(s, r.start), min(e, r.end))
                    for t, s, e in labels.get(text, [])
                    if t == r.entity_type and s < r.end and r.start < e
                ]
                if not all(any(o.start <= s and e <= o.end for o in ours[text]) for s, e in parts):
                    value_missing_by_type[r.entity_type] = value_missing_by_type.get(r.entity_type, 0) + 1

    n = len(data)
    naive_s = best["naive"]
    print(f"# Throughput: {n} chat records ({n * 2} strings), same process; fastest of {args.repeat}")
    print(f"# before: {load_before}; after: {load_after}")
    print("# CPU s: CPU time of this process and its workers, which other processes' load does not inflate")
    print(f"{'':<34}{'seconds':>9}{'records/s':>11}{'x naive':>9}{'CPU s':>8}{'x naive':>9}")
    rows = [
        ("naive analyze() loop", "naive"),
        ("ftgate Scanner.scan, in-process", "ftgate"),
        (f"ftgate Scanner.scan, {pool.workers} workers", "pooled"),
    ]
    for name, kind in rows:
        seconds = best[kind]
        print(
            f"{name:<34}{seconds:>9.2f}{n / seconds:>11.1f}{naive_s / seconds:>8.2f}x"
            f"{cpu[kind]:>8.2f}{cpu['naive'] / cpu[kind]:>8.2f}x"
        )
    print(
        f"projected on idle cores (CPU on the critical path: this process + the busiest worker): pooled "
        f"{critical['pooled']:.2f}s, {critical['naive'] / critical['pooled']:.2f}x naive "
        f"(CPU s: this process {split['pooled'][0]:.2f}, "
        f"workers {', '.join(f'{w:.2f}' for w in split['pooled'][1:])})"
    )
    print(
        f"worker start-up (once per process): {start_s:.2f}s; one scan including it: "
        f"{naive_s / (best['pooled'] + start_s):.2f}x naive"
    )
    print(
        f"\n# Findings: {total} naive findings >= 0.5 of enabled types; not covered by ftgate: {missing} "
        f"{missing_by_type or ''}"
    )
    print(
        f'  of which the labelled value itself is not covered (the rest run past it: "Bryan Maclean\'s", '
        f"a name and the next line's label): {sum(value_missing_by_type.values())} "
        f"{value_missing_by_type or ''}"
    )
    print(
        f"  left by the config: {by_design} DATE_TIME spans that name no calendar point "
        "(calendar_only, gateway/redaction/dates.py), not counted above"
    )
    print(
        f"  left by ftgate's NER checks where the corpus labels nothing of that type (plain Presidio's "
        f"false positives): {sum(unlabelled_by_type.values())} {unlabelled_by_type or ''}, not counted above"
    )
    same = comparable(on_pool) == comparable(in_process)
    print(f"pooled findings identical to in-process: {'yes' if same else 'NO'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
