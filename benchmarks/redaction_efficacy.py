"""Redaction efficacy, side by side: ftgate's scanner and a plain Presidio `AnalyzerEngine`.

    .venv/bin/python benchmarks/redaction_efficacy.py [--corpus PATH] [--limit N] [--policies DIR]

1. Precision, recall and F2 per entity type on the labelled corpus (presidio-research's synthetic set,
   /work/shared/data/pii/synth_dataset_v2.json), for ftgate (shipped config,
   policies/ftgate/redaction/data.json) and for plain Presidio: the same spaCy model and predefined
   recognizers (the email one reading the offline public-suffix snapshot, as everywhere here; none of
   ftgate's own recognizers), default settings, `analyze(text, language="en")` with its default score
   threshold 0.
2. The CORE and ALL rows again for the two halves of the corpus by `template_id`: even ("tuned on":
   the only samples looked at while ftgate's recognizers and config were tuned) and odd ("held out").
   A gain that holds on the odd half is not the corpus's sentences learnt by heart.
3. Recall on the labelled evasion set (benchmarks/redaction_evasion.py), per disguise, for both.

Matching. Corpus labels map onto Presidio's types (GPE and STREET_ADDRESS -> LOCATION, and ftgate's
STREET_ADDRESS predictions count as LOCATION too: plain Presidio has no address type, so its LOCATION is
the only fair comparison; labels Presidio has no recognizer for, ORGANIZATION, TITLE, AGE, ZIP_CODE,
DOMAIN_NAME, are left out). A labelled
span is recalled when a prediction of its type overlaps it; a prediction is correct when it overlaps a
labelled span of its type; predictions of types outside the evaluated ones are ignored. For the
evasion set a case counts only if same-type predictions cover every letter and digit of the disguised
span (a partly found value still leaks). F2 weighs recall twice as much as precision, as a privacy
team would. Nothing is asserted; the figures are printed.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from presidio_analyzer import AnalyzerEngine, RecognizerResult

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gateway.redaction.config import load_config  # noqa: E402
from gateway.redaction.engine import create_analyzer, create_nlp_engine  # noqa: E402
from gateway.redaction.scanner import Scanner  # noqa: E402
from gateway.settings import REPO_ROOT  # noqa: E402

CORPUS = Path("/work/shared/data/pii/synth_dataset_v2.json")
LABEL_MAP = {
    "PERSON": "PERSON",
    "GPE": "LOCATION",
    "STREET_ADDRESS": "LOCATION",
    "EMAIL_ADDRESS": "EMAIL_ADDRESS",
    "PHONE_NUMBER": "PHONE_NUMBER",
    "CREDIT_CARD": "CREDIT_CARD",
    "IBAN_CODE": "IBAN_CODE",
    "US_SSN": "US_SSN",
    "IP_ADDRESS": "IP_ADDRESS",
    "DATE_TIME": "DATE_TIME",
    "NRP": "NRP",
    "US_DRIVER_LICENSE": "US_DRIVER_LICENSE",
}
GOAL_TYPES = ["EMAIL_ADDRESS", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "IP_ADDRESS", "PHONE_NUMBER"]
# What ftgate redacts by default; US_DRIVER_LICENSE is off (see config.py).
CORE_TYPES = ["PERSON", "LOCATION", "DATE_TIME", "NRP", *GOAL_TYPES]

# Predicted types counted as another: ftgate's addresses are places (the corpus's STREET_ADDRESS labels
# are mapped to LOCATION above).
PREDICTION_MAP = {"STREET_ADDRESS": "LOCATION"}

Span = tuple[str, int, int]


def load_evasion() -> Any:
    path = Path(__file__).resolve().parent / "redaction_evasion.py"
    spec = importlib.util.spec_from_file_location("redaction_evasion", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def gold_spans(sample: dict[str, Any]) -> list[Span]:
    return [
        (LABEL_MAP[s["entity_type"]], s["start_position"], s["end_position"])
        for s in sample.get("spans") or []
        if s["entity_type"] in LABEL_MAP
    ]


def to_spans(results: list[RecognizerResult]) -> list[Span]:
    spans = [(PREDICTION_MAP.get(r.entity_type, r.entity_type), r.start, r.end) for r in results]
    return [span for span in spans if span[0] in LABEL_MAP.values()]


def overlaps(a: Span, b: Span) -> bool:
    return a[0] == b[0] and a[1] < b[2] and b[1] < a[2]


def score(gold: list[list[Span]], predicted: list[list[Span]]) -> dict[str, dict[str, float]]:
    """Per type: gold count, recall, precision, F2."""
    found: Counter[str] = Counter()
    total: Counter[str] = Counter()
    correct: Counter[str] = Counter()
    made: Counter[str] = Counter()
    for g_spans, p_spans in zip(gold, predicted, strict=True):
        for g in g_spans:
            total[g[0]] += 1
            found[g[0]] += any(overlaps(g, p) for p in p_spans)
        for p in p_spans:
            made[p[0]] += 1
            correct[p[0]] += any(overlaps(p, g) for g in g_spans)
    table: dict[str, dict[str, float]] = {}
    for entity in sorted(set(total) | set(made)):
        table[entity] = _prf(total[entity], found[entity], made[entity], correct[entity])
    for name, types in (("ALL (mapped)", list(LABEL_MAP.values())), ("CORE (on by default)", CORE_TYPES)):
        keys = set(types)
        table[name] = _prf(
            sum(total[k] for k in keys),
            sum(found[k] for k in keys),
            sum(made[k] for k in keys),
            sum(correct[k] for k in keys),
        )
    return table


def _prf(total: int, found: int, made: int, correct: int) -> dict[str, float]:
    recall = found / total if total else float("nan")
    precision = correct / made if made else float("nan")
    f2 = 5 * precision * recall / (4 * precision + recall) if made and total and (precision + recall) else 0.0
    return {"n": total, "recall": recall, "precision": precision, "f2": f2}


def covered(case: Any, results: list[RecognizerResult]) -> bool:
    """Every letter and digit of the disguised span lies inside a prediction of the case's type."""
    spans = [(r.start, r.end) for r in results if r.entity_type == case.entity]
    needed = [i for i in range(case.start, case.end) if case.text[i].isalnum()]
    return bool(needed) and all(any(s <= i < e for s, e in spans) for i in needed)


def fmt(x: float) -> str:
    return "  n/a" if x != x else f"{x:5.2f}"


def ratio(a: float, b: float) -> str:
    if a != a or b != b:
        return "   n/a"
    return f"{a - b:+6.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--limit", type=int, default=0, help="first N samples only (0: all)")
    parser.add_argument(
        "--policies",
        type=Path,
        default=REPO_ROOT / "policies",
        help="policy directory whose ftgate/redaction/data.json ftgate runs with (default: the shipped one)",
    )
    args = parser.parse_args(argv)

    samples = json.loads(args.corpus.read_text())
    if args.limit:
        samples = samples[: args.limit]
    texts = [s["full_text"] for s in samples]
    gold = [gold_spans(s) for s in samples]

    nlp_engine = create_nlp_engine()
    plain: AnalyzerEngine = create_analyzer(nlp_engine, with_ftgate_recognizers=False)
    config = load_config(args.policies)
    scanner = Scanner(
        pseudonym_key=b"benchmark",
        config=config,
        analyzer=create_analyzer(nlp_engine, phone=config.phone),
    )

    started = time.perf_counter()
    plain_pred = [to_spans(plain.analyze(text, language="en")) for text in texts]
    plain_s = time.perf_counter() - started
    started = time.perf_counter()
    ftgate_pred = [to_spans(results) for results in scanner.analyze_texts(texts)]
    ftgate_s = time.perf_counter() - started

    ours, theirs = score(gold, ftgate_pred), score(gold, plain_pred)
    print(
        f"# Corpus: {args.corpus.name}, {len(samples)} samples ({ftgate_s:.1f}s ftgate, {plain_s:.1f}s plain)"
    )
    print(f"ftgate config sha256 {scanner.config_sha256[:16]}, plain Presidio score_threshold 0 (default)\n")
    header = (
        f"{'entity':<22}{'n':>5} | {'ftgate R':>8} {'P':>5} {'F2':>5} | {'plain R':>7} {'P':>5} {'F2':>5}"
    )
    print(header + f" | {'dR':>6} {'dP':>6} {'dF2':>6}")
    print("-" * (len(header) + 24))
    for entity in [
        *sorted(k for k in ours if not k.startswith(("ALL", "CORE"))),
        "CORE (on by default)",
        "ALL (mapped)",
    ]:
        a, b = ours.get(entity), theirs.get(entity)
        if a is None or b is None:
            continue
        print(
            f"{entity:<22}{int(a['n']):>5} | {fmt(a['recall']):>8} {fmt(a['precision'])} {fmt(a['f2'])} | "
            f"{fmt(b['recall']):>7} {fmt(b['precision'])} {fmt(b['f2'])} | "
            + " ".join(ratio(a[k], b[k]) for k in ("recall", "precision", "f2"))
        )

    print("\n# Halves by template_id: even = tuned on, odd = held out (not used for tuning)")
    print(
        f"{'half':<10}{'rows':<22}{'n':>5} | {'ftgate R':>8} {'P':>5} | {'plain R':>7} {'P':>5} | "
        f"{'dR':>6} {'dP':>6}"
    )
    for half, parity in (("even", 0), ("odd", 1)):
        idx = [i for i, s in enumerate(samples) if s.get("template_id", 0) % 2 == parity]
        g = [gold[i] for i in idx]
        a_half = score(g, [ftgate_pred[i] for i in idx])
        b_half = score(g, [plain_pred[i] for i in idx])
        for row in ("CORE (on by default)", "ALL (mapped)", "PHONE_NUMBER", "LOCATION", "PERSON"):
            a, b = a_half.get(row), b_half.get(row)
            if a is None or b is None:
                continue
            print(
                f"{half:<10}{row:<22}{int(a['n']):>5} | {fmt(a['recall']):>8} {fmt(a['precision'])} | "
                f"{fmt(b['recall']):>7} {fmt(b['precision'])} | "
                + " ".join(ratio(a[k], b[k]) for k in ("recall", "precision"))
            )

    evasion = load_evasion()
    cases = evasion.build_evasion_set()
    ftgate_hits = [
        covered(c, r) for c, r in zip(cases, scanner.analyze_texts([c.text for c in cases]), strict=True)
    ]
    plain_hits = [covered(c, plain.analyze(c.text, language="en")) for c in cases]
    print(f"\n# Evasion set: {len(cases)} cases (benchmarks/redaction_evasion.py)")
    print(f"{'disguise':<16}{'n':>4} | {'ftgate':>6} | {'plain':>6}")
    for disguise in evasion.DISGUISES:
        idx = [i for i, c in enumerate(cases) if c.disguise == disguise]
        hit_ours = sum(ftgate_hits[i] for i in idx) / len(idx)
        hit_plain = sum(plain_hits[i] for i in idx) / len(idx)
        print(f"{disguise:<16}{len(idx):>4} | {hit_ours:6.2f} | {hit_plain:6.2f}")
    ours_all, plain_all = sum(ftgate_hits) / len(cases), sum(plain_hits) / len(cases)
    difference = ours_all - plain_all
    print(f"{'ALL':<16}{len(cases):>4} | {ours_all:6.2f} | {plain_all:6.2f}   (difference {difference:+.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
