"""Chat records built from the labelled corpus: the 3,000-record file of issue 11, built on demand.

    from make_corpus_chats import build_chats      # or load this file by path
    records = build_chats(3000)

    .venv/bin/python tests/data/redaction/make_corpus_chats.py --out /tmp/corpus_chats.jsonl [--records 3000]

Record i: a fixed benign system prompt, a corpus text as the user turn and another corpus text as the
assistant turn (`tests/data/pii/synth_dataset_v2.json`, presidio-research, MIT). The texts are taken in
rounds: each round shuffles the corpus (fixed seed) and pairs every text, as the user turn, with the
next one in that order as the assistant turn, so within a round each text is used once in each role and
never answers itself. 3,000 records from the 1,500 texts are two full rounds: every text is a user turn
twice and an assistant turn twice. `metadata` names the two sample numbers, so a finding in record i
can be traced back to the corpus.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).resolve().parents[1] / "pii" / "synth_dataset_v2.json"
SYSTEM_PROMPT = "You are a helpful customer support assistant. Answer briefly and politely."
SEED = 11
RECORDS = 3000


def build_chats(
    n: int = RECORDS, *, seed: int = SEED, corpus: Path = CORPUS, system_prompt: str = SYSTEM_PROMPT
) -> list[dict[str, Any]]:
    """`n` chat records from the corpus texts, the same for the same arguments."""
    texts = [sample["full_text"] for sample in json.loads(corpus.read_text(encoding="utf-8"))]
    if len(texts) < 2:
        raise ValueError(f"{corpus} needs at least two texts, has {len(texts)}")
    rng = random.Random(seed)
    records: list[dict[str, Any]] = []
    order: list[int] = []
    for i in range(n):
        position = i % len(texts)
        if position == 0:
            order = list(range(len(texts)))
            rng.shuffle(order)
        user, assistant = order[position], order[(position + 1) % len(texts)]
        records.append(
            {
                "messages": [
                    {"role": "system", "content": system_prompt},
                    {"role": "user", "content": texts[user]},
                    {"role": "assistant", "content": texts[assistant]},
                ],
                "metadata": {"source": corpus.name, "user_sample": user, "assistant_sample": assistant},
            }
        )
    return records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True, help="JSONL file to write (not committed)")
    parser.add_argument("--records", type=int, default=RECORDS)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    records = build_chats(args.records, seed=args.seed)
    args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    print(f"wrote {len(records)} records to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
