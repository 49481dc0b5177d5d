"""`make demo`: one governed fine-tune, end to end, on the embedded default (SQLite, regorus, CPU).

It drives the real `ftgate` CLI as three people would: an admin sets up, Alice (ML team) uploads
support chats that contain PII, Bob (compliance) approves the redacted version, Alice's training
request is decided by policy, a worker fine-tunes SmolLM2-135M-Instruct with LoRA, and Carol (audit)
verifies the log and exports the adapter's lineage. Timings by stage are printed at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / ".demo"
FTGATE = str(Path(sys.executable).parent / "ftgate")
timings: dict[str, float] = {}


def ftgate(*args: str, token: str | None = None, expect_ok: bool = True) -> dict:
    env = {**os.environ, "FTGATE_HOME": str(DEMO / "home"), "HF_HUB_OFFLINE": "1"}
    if token:
        env["FTGATE_TOKEN"] = token
    proc = subprocess.run([FTGATE, *args, "--json"], env=env, capture_output=True, text=True)
    if proc.stderr.strip() and "worker" in args:
        sys.stderr.write(proc.stderr)
    if (proc.returncode == 0) != expect_ok:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"ftgate {' '.join(args)}: exit {proc.returncode}")
    return json.loads(proc.stdout)


def stage(name: str):
    class _Timer:
        def __enter__(self) -> None:
            print(f"\n== {name}", flush=True)
            self.t0 = time.perf_counter()

        def __exit__(self, *exc: object) -> None:
            timings[name] = timings.get(name, 0.0) + time.perf_counter() - self.t0

    return _Timer()


def main() -> None:
    shutil.rmtree(DEMO, ignore_errors=True)
    DEMO.mkdir()
    started = time.perf_counter()

    with stage("setup"):
        admin = ftgate("init")["token"]
        alice = ftgate("users", "add", "alice", "--role", "submitter", "--team", "default", token=admin)[
            "token"
        ]
        bob = ftgate("users", "add", "bob", "--role", "approver", "--team", "compliance", token=admin)[
            "token"
        ]
        carol = ftgate("users", "add", "carol", "--role", "auditor", "--team", "audit", token=admin)["token"]
        worker = ftgate("users", "add", "gpu-1", "--role", "worker", "--team", "ops", token=admin)["token"]
        print(
            "admin, alice (submitter), bob (approver), carol (auditor), gpu-1 (worker); "
            "base model smollm2-135m-instruct registered"
        )

    with stage("scan"):
        ds = ftgate(
            "datasets",
            "upload",
            str(ROOT / "examples" / "support_chats.jsonl"),
            "--name",
            "support-chats",
            "--purpose",
            "style",
            "--classification",
            "internal",
            token=alice,
        )
        report = ds["scan_report"]
        print(
            f"dataset {ds['id']}: {ds['records']} records, {report['records_changed']} changed, "
            f"entities {report['entities']}, residual {report['residual_findings']}"
        )
        sample = report["sample"][0]
        print(
            f"sample redacted record (record {sample['record']}, {sample['findings']} values replaced):",
            json.dumps(sample["redacted"]["messages"][1]["content"]),
        )

    with stage("policy"):
        early = ftgate("jobs", "submit", "--dataset", ds["id"], "--dry-run", token=alice, expect_ok=False)
        print("before approval, a dry run is denied:", [r["code"] for r in early["decision"]["reasons"]])
        own = ftgate("datasets", "approve", ds["id"], "--note", "mine", token=alice, expect_ok=False)
        print("alice cannot approve her own data:", own["error"]["code"])
        ftgate("datasets", "approve", ds["id"], "--note", "redaction reviewed; no residual PII", token=bob)
        job = ftgate(
            "jobs",
            "submit",
            "--dataset",
            ds["id"],
            "--base-model",
            "smollm2-135m-instruct",
            "--max-steps",
            "30",
            "--max-seq-len",
            "256",
            "--lr",
            "0.0003",
            "--seed",
            "7",
            token=alice,
        )
        print(f"job {job['id']}: {job['status']} (policy bundle {job['decision']['bundle_sha256'][:16]}...)")

    with stage("training"):
        done = ftgate("worker", "--once", token=worker)["data"][0]
        if done["status"] != "succeeded":
            raise SystemExit(f"training failed: {done['error']}")
        adapter = ftgate("adapters", "show", done["adapter_id"], token=carol)
        m = adapter["metrics"]
        print(
            f"adapter {adapter['id']}: {m['steps']} steps, "
            f"loss {m['loss_first']:.3f} -> {m['loss_last']:.3f}, "
            f"{m['tokens_per_s']:.0f} tokens/s"
        )

    with stage("export"):
        verified = ftgate("audit", "verify", token=carol)
        lineage_path = DEMO / f"lineage-{adapter['id']}.json"
        ftgate(
            "audit",
            "export",
            "--adapter",
            adapter["id"],
            "--format",
            "json",
            "-o",
            str(lineage_path),
            token=carol,
        )
        print(f"audit log verified: {verified['entries']} entries, head {verified['head_hash'][:16]}...")

    stages = dict(timings)
    stamp = ROOT / ".venv" / ".ftgate-installed"
    if stamp.exists() and time.time() - stamp.stat().st_mtime < 600 + time.perf_counter() - started:
        # `make demo` has just created the venv: the install is the first stage.
        for line in stamp.read_text().splitlines():
            if line.startswith("install_seconds="):
                stages = {"install": float(line.split("=", 1)[1]), **stages}
    print("\n== result")
    print(f"adapter: {adapter['path']}")
    print(f"lineage: {lineage_path}")
    # The token in a file only its owner reads, not on a command line (`ps` shows those to everyone).
    token_file = DEMO / "auditor.token"
    token_file.unlink(missing_ok=True)
    fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(carol + "\n")
    print(f"try the CLI as the auditor: export FTGATE_HOME={DEMO / 'home'} FTGATE_TOKEN_FILE={token_file}")
    print(
        "wall time by stage: "
        + ", ".join(f"{k} {v:.1f}s" for k, v in stages.items())
        + f"; total {sum(stages.values()):.1f}s"
    )


if __name__ == "__main__":
    main()
