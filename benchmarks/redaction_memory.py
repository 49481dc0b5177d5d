"""Peak memory of an upload's data path, streamed against whole-file, side by side.

    nice .venv/bin/python benchmarks/redaction_memory.py [--records 100000] [--chunk 2000]

A chat JSONL file of `--records` records is written first (texts of the labelled corpus
tests/data/pii/synth_dataset_v2.json as the user turn, a record number appended so every string
is distinct and nothing is saved by deduplication). Then each way runs in a fresh subprocess, which
loads the shipped redaction config and the spaCy model, and reports its peak RSS (getrusage
ru_maxrss), the RSS once the model was loaded, and the wall and CPU seconds from opening the file to a
stored blob (records/s is per CPU second, which other load on the machine does not inflate):

- streamed: what `upload_dataset` does now. One validating pass hashes the raw bytes and copies them
  to an anonymous temporary file; `Scanner.scan_stream` reads the records from it chunk by chunk and
  hands each redacted record to a `BlobWriter` that hashes while it writes.
- whole-file: what it did before. Read the bytes, parse them to a list, `Scanner.scan(list)`,
  `to_jsonl`, `BlobStore.put(bytes)`.

Both must store the same redacted bytes: the two hashes are compared and printed. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gateway.formats import (  # noqa: E402
    jsonl_line,
    parse_training_jsonl,
    read_training_records,
    to_jsonl,
    validate_training_jsonl,
)
from gateway.redaction.config import load_config  # noqa: E402
from gateway.redaction.engine import build_analyzer  # noqa: E402
from gateway.redaction.scanner import CHUNK_SIZE, Scanner  # noqa: E402
from gateway.settings import REPO_ROOT  # noqa: E402
from gateway.store.blobs import BlobStore  # noqa: E402

CORPUS = REPO_ROOT / "tests" / "data" / "pii" / "synth_dataset_v2.json"
REPLY = "Thanks, I have noted it and will get back to you."


def write_dataset(path: Path, n: int) -> None:
    texts = [s["full_text"] for s in json.loads(CORPUS.read_text())]
    with path.open("wb") as f:
        for i in range(n):
            text = f"{texts[i % len(texts)]} (ref {i})"
            record = {
                "messages": [{"role": "user", "content": text}, {"role": "assistant", "content": REPLY}]
            }
            f.write((json.dumps(record) + "\n").encode())


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    """User + system time of this process: unlike wall time, not inflated by other load on the machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child(kind: str, path: Path, store_dir: Path, chunk: int) -> dict[str, Any]:
    scanner = Scanner(
        pseudonym_key=b"bench", config=load_config(REPO_ROOT / "policies"), analyzer=build_analyzer()
    )
    scanner.scan([{"prompt": "Warm up, Sara Schwarz.", "completion": "ok"}])
    loaded = peak_rss_mb()
    store = BlobStore(store_dir)
    started, cpu_started = time.perf_counter(), cpu_seconds()
    if kind == "streamed":
        with path.open("rb") as source, tempfile.TemporaryFile(dir=store_dir.parent) as raw:
            blob = store.writer()
            validate_training_jsonl(source, copy_to=raw)
            raw.flush()
            report = scanner.scan_stream(
                lambda: read_training_records(raw), lambda r: blob.write(jsonl_line(r)), chunk_size=chunk
            )
            sha256, _ = blob.commit()
    else:
        data = path.read_bytes()
        records, _ = parse_training_jsonl(data)
        hashlib.sha256(data).hexdigest()
        del data
        result = scanner.scan(records)
        del records
        report = result.report
        sha256, _ = store.put(to_jsonl(result.redacted))
    seconds = time.perf_counter() - started
    return {
        "cpu_seconds": cpu_seconds() - cpu_started,
        "peak_rss_mb": peak_rss_mb(),
        "loaded_rss_mb": loaded,
        "seconds": seconds,
        "sha256": sha256,
        "records": report.records,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--chunk", type=int, default=CHUNK_SIZE, help="records per chunk, streamed")
    parser.add_argument("--only", choices=["streamed", "whole-file"], help="run one way only")
    parser.add_argument("--child", nargs=3, metavar=("KIND", "FILE", "STORE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        kind, path, store = args.child
        print(json.dumps(child(kind, Path(path), Path(store), args.chunk)))
        return 0

    with tempfile.TemporaryDirectory(prefix="ftgate-bench-") as tmp:
        data = Path(tmp) / "upload.jsonl"
        write_dataset(data, args.records)
        size_mb = data.stat().st_size / 1e6
        print(
            f"# Upload data path, {args.records} distinct chat records ({size_mb:.1f} MB), fresh process each"
        )
        header = f"{'':<12}{'peak MB':>9}{'model MB':>10}{'seconds':>9}{'CPU s':>8}{'records/s':>11}"
        print(f"{header}  redacted sha256")
        results: dict[str, dict[str, Any]] = {}
        for kind in [args.only] if args.only else ["streamed", "whole-file"]:
            command = [sys.executable, __file__, "--chunk", str(args.chunk), "--child", kind, str(data)]
            out = subprocess.run(
                [*command, str(Path(tmp) / f"store-{kind}")], capture_output=True, text=True, check=False
            )
            if out.returncode != 0:
                print(f"{kind:<12} failed (exit {out.returncode}): {out.stderr.strip()[-500:]}")
                continue
            r = results[kind] = json.loads(out.stdout.strip().splitlines()[-1])
            print(
                f"{kind:<12}{r['peak_rss_mb']:>9.0f}{r['loaded_rss_mb']:>10.0f}{r['seconds']:>9.0f}"
                f"{r['cpu_seconds']:>8.0f}{args.records / r['cpu_seconds']:>11.0f}  {r['sha256'][:16]}"
            )
        if len(results) == 2:
            streamed, whole = results["streamed"], results["whole-file"]
            print(f"peak RSS whole-file / streamed: {whole['peak_rss_mb'] / streamed['peak_rss_mb']:.2f}x")
            above = [r["peak_rss_mb"] - r["loaded_rss_mb"] for r in (whole, streamed)]
            print(f"above the loaded model: whole-file {above[0]:.0f} MB, streamed {above[1]:.0f} MB")
            print(f"same redacted bytes: {streamed['sha256'] == whole['sha256']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
