"""Redaction throughput and memory, side by side: ftgate's `Scanner.scan` and a naive per-record loop.

    .venv/bin/python benchmarks/redaction_throughput.py [--records 1500] [--rss-records 100000]

1. records/s on chat records built from the labelled corpus (/work/shared/data/pii/
   synth_dataset_v2.json, each text as the user turn of a two-turn chat with a fixed assistant reply):
   ftgate's scanner (shipped config, batching through spaCy's `nlp.pipe`, each distinct string once,
   normalising, decoding, recurrence, a second pass) against the naive loop a Presidio user writes,
   `AnalyzerEngine.analyze` on every string of every record, same model, same machine, same process.
   Ratio printed.
2. Findings check: every naive finding at or above 0.5, of a type ftgate redacts, must lie inside a
   span ftgate replaced (of any type): the count of those that do not is printed.
3. Peak RSS of a scan of `--rss-records` records (corpus texts with a record number appended, so every
   string is distinct and nothing is saved by deduplication), each in a fresh subprocess: ftgate's
   scan, and for scale the naive loop over the same records. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gateway.redaction.config import load_config  # noqa: E402
from gateway.redaction.engine import create_analyzer, create_nlp_engine  # noqa: E402
from gateway.redaction.scanner import Scanner  # noqa: E402
from gateway.settings import REPO_ROOT  # noqa: E402

CORPUS = Path("/work/shared/data/pii/synth_dataset_v2.json")
REPLY = "Thanks, I have noted it and will get back to you."


def records(n: int, *, distinct: bool) -> list[dict[str, Any]]:
    texts = [s["full_text"] for s in json.loads(CORPUS.read_text())]
    out = []
    for i in range(n):
        text = texts[i % len(texts)]
        if distinct and i >= len(texts):
            text = f"{text} (ref {i})"
        out.append({"messages": [{"role": "user", "content": text}, {"role": "assistant", "content": REPLY}]})
    return out


def strings(record: dict[str, Any]) -> list[str]:
    return [m["content"] for m in record["messages"]]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_child(kind: str, n: int) -> None:
    data = records(n, distinct=True)
    nlp_engine = create_nlp_engine()
    before = peak_rss_mb()
    started = time.perf_counter()
    if kind == "ftgate":
        scanner = Scanner(
            pseudonym_key=b"bench",
            config=load_config(REPO_ROOT / "policies"),
            analyzer=create_analyzer(nlp_engine),
        )
        scanner.scan(data)
    else:
        analyzer = create_analyzer(nlp_engine)
        for record in data:
            for text in strings(record):
                analyzer.analyze(text, language="en")
    seconds = time.perf_counter() - started
    print(json.dumps({"peak_rss_mb": peak_rss_mb(), "loaded_rss_mb": before, "seconds": seconds}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=1500)
    parser.add_argument("--rss-records", type=int, default=100_000, help="0 skips the RSS runs")
    parser.add_argument("--rss-naive", action="store_true", help="also run the naive loop over --rss-records")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        rss_child(args.child[0], int(args.child[1]))
        return 0

    data = records(args.records, distinct=False)
    nlp_engine = create_nlp_engine()
    analyzer = create_analyzer(nlp_engine)
    config = load_config(REPO_ROOT / "policies")
    scanner = Scanner(pseudonym_key=b"bench", config=config, analyzer=create_analyzer(nlp_engine))
    scanner.scan(data[:20])  # warm both: spaCy's first docs are slower
    for record in data[:20]:
        for text in strings(record):
            analyzer.analyze(text, language="en")

    started = time.perf_counter()
    naive = [[analyzer.analyze(text, language="en") for text in strings(record)] for record in data]
    naive_s = time.perf_counter() - started
    started = time.perf_counter()
    scanner.scan(data)
    ftgate_s = time.perf_counter() - started

    # Findings: what ftgate acts on, per distinct string, against the naive loop's.
    flat = [text for record in data for text in strings(record)]
    ours = dict(zip(flat, scanner.analyze_texts(flat), strict=True))
    enabled = set(config.enabled())
    total = missing = 0
    missing_by_type: dict[str, int] = {}
    for record, results in zip(data, naive, strict=True):
        for text, found in zip(strings(record), results, strict=True):
            for r in found:
                if r.score < 0.5 or r.entity_type not in enabled:
                    continue
                total += 1
                if not any(o.start <= r.start and r.end <= o.end for o in ours[text]):
                    missing += 1
                    missing_by_type[r.entity_type] = missing_by_type.get(r.entity_type, 0) + 1

    n = len(data)
    print(f"# Throughput: {n} chat records ({n * 2} strings), same process, same model")
    print(f"{'':<28}{'seconds':>9}{'records/s':>11}")
    print(f"{'naive analyze() loop':<28}{naive_s:>9.2f}{n / naive_s:>11.1f}")
    print(f"{'ftgate Scanner.scan':<28}{ftgate_s:>9.2f}{n / ftgate_s:>11.1f}")
    print(f"ratio ftgate / naive: {naive_s / ftgate_s:.2f}x")
    print(
        f"\n# Findings: {total} naive findings >= 0.5 of enabled types; not covered by ftgate: {missing} "
        f"{missing_by_type or ''}"
    )

    if args.rss_records:
        kinds = ["ftgate", "naive"] if args.rss_naive else ["ftgate"]
        print(f"\n# Peak RSS, {args.rss_records} distinct records, fresh process each")
        for kind in kinds:
            out = subprocess.run(
                [sys.executable, __file__, "--child", kind, str(args.rss_records)],
                capture_output=True,
                text=True,
                check=True,
            )
            result = json.loads(out.stdout.strip().splitlines()[-1])
            print(
                f"{kind:<8} peak {result['peak_rss_mb']:8.0f} MB "
                f"(model loaded: {result['loaded_rss_mb']:.0f} MB), "
                f"{result['seconds']:.0f}s, {args.rss_records / result['seconds']:.0f} records/s"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
