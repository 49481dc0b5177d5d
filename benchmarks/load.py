"""Load on loopback: many clients mixing reads, reviews, submits and uploads against `ftgate serve`.

    .venv/bin/python benchmarks/load.py [--clients 50] [--seconds 60] [--store sqlite|postgres|both]

For each store (the embedded SQLite file, and a fresh database on the PostgreSQL server at
`FTGATE_BENCH_PG_URL`, default postgresql://postgres@127.0.0.1:5432/test): a fresh home (`ftgate
init`, a submitter, two approvers, an auditor), a dataset uploaded and approved, then `ftgate serve`
in its own process and `--clients` concurrent clients for `--seconds` seconds, each picking its next
request by weight:
- reads: `/healthz`, `GET /v1/datasets`, one dataset, `GET /v1/jobs` (two thirds of the requests);
- reviews: an approver approves a dataset uploaded during the run (the second try on one is a 409);
- submits: training requests on the approved dataset, dry runs and real ones (queued, no worker runs);
- uploads: small valid files, malformed ones (422) and oversized ones (413, over a 256 KiB limit set
  for the run);
- mistakes: an unknown token (401), an unknown dataset (404).
With `--reads-only`, only the four reads (the mix the issue measured at 20 clients).
By default each client sends its next request as soon as the last is answered (a closed loop: the
server is saturated, and latency is mostly the queue in front of it). With `--rate R` the clients
together send R requests/s on a fixed schedule (an open loop, as wrk2 does): each request's latency is
counted from the moment it was due, so a server that falls behind is charged for the wait it causes
(no coordinated omission); this is what a latency goal at a given traffic means.
The loop is bounded by the clock and stops by itself. Printed: requests/s, p50 and p99 per route, the
count of 5xx (goal 0), p99 of the reads (goal under 100 ms) and of `/healthz` (goal under 50 ms), the
decision rows written, and whether `ftgate audit verify` passes afterwards. The rate limit is off for
the run (one token per role, fifty clients); nothing is asserted.

The clients share the machine with the server: on a small machine their own CPU is part of the load.
They use aiohttp, which costs about 0.3-0.6 ms of CPU a request; httpx, used here before, cost 3-8 ms
with fifty connections, so the clients took a whole core and most of each latency measured was their
own queue.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import httpx

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "support_chats.jsonl"
PG_SERVER = os.environ.get("FTGATE_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
UPLOAD_LIMIT = 256 * 1024
READS = ("GET /healthz", "GET /v1/datasets", "GET /v1/datasets/{id}", "GET /v1/jobs")
SMALL = b"".join(EXAMPLE.read_bytes().splitlines(keepends=True)[:12])  # the policy wants 10 or more
MALFORMED = b'{"messages": [{"role": "user", "content": "hi"}\n'
OVERSIZED = SMALL * (UPLOAD_LIMIT // len(SMALL) + 2)


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    sent: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))  # s into the run
    statuses: dict[str, dict[int, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    failures: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # no answer at all

    def add(self, route: str, seconds: float, status: int, sent: float) -> None:
        self.latencies[route].append(seconds)
        self.sent[route].append(sent)
        self.statuses[route][status] += 1

    def latencies_after(self, routes: tuple[str, ...], start: float) -> list[float]:
        """The latencies of `routes`' requests sent `start` seconds or more into the run."""
        return [
            seconds
            for route in routes
            for seconds, sent in zip(self.latencies.get(route, []), self.sent.get(route, []), strict=True)
            if sent >= start
        ]


@dataclass
class Home:
    env: dict[str, str]
    tokens: dict[str, str]
    dataset: str = ""
    uploaded: list[str] = field(default_factory=list)


def cli(env: dict[str, str], *args: str, token: str = "") -> Any:
    done = subprocess.run(
        [sys.executable, "-m", "gateway.cli.main", *args, "--json"],
        env={**env, "FTGATE_TOKEN": token},
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if done.returncode != 0:
        raise SystemExit(f"ftgate {' '.join(args)} failed: {done.stdout}{done.stderr}")
    return json.loads(done.stdout)


def make_home(path: Path, database_url: str | None) -> Home:
    env = {
        **os.environ,
        "FTGATE_HOME": str(path),
        "FTGATE_POLICY_DIR": str(ROOT / "policies"),
        "FTGATE_TOKEN": "",
        "FTGATE_UVICORN_LOG": "warning",
        "FTGATE_RATE_LIMIT_PER_MINUTE": "0",
        "FTGATE_MAX_UPLOAD_BYTES": str(UPLOAD_LIMIT),
    }
    if database_url:
        env["FTGATE_DATABASE_URL"] = database_url
    admin = cli(env, "init")["token"]
    tokens = {"admin": admin}
    for name, role, team in (
        ("alice", "submitter", "default"),
        ("bob", "approver", "compliance"),
        ("dave", "approver", "compliance"),
        ("carol", "auditor", "audit"),
    ):
        tokens[name] = cli(env, "users", "add", name, "--role", role, "--team", team, token=admin)["token"]
    return Home(env=env, tokens=tokens)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def auth(home: Home, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {home.tokens[who]}"}


def upload_form(body: bytes, name: str) -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("file", body, filename="data.jsonl", content_type="application/jsonl")
    for key, value in (("name", name), ("purpose", "style"), ("classification", "internal")):
        form.add_field(key, value)
    form.add_field("licence", "CC-BY-4.0")
    return form


@dataclass
class Answer:
    status: int
    body: Any = None  # the JSON document, where the loop needs it


async def call(
    client: aiohttp.ClientSession, method: str, path: str, *, keep: bool = False, **kwargs: Any
) -> Answer:
    async with client.request(method, path, **kwargs) as r:
        data = await r.read()
        return Answer(r.status, json.loads(data) if keep else None)


async def prepare(client: aiohttp.ClientSession, home: Home) -> None:
    """One dataset uploaded and approved, to read and to submit on (this also starts the scan workers)."""
    long = aiohttp.ClientTimeout(total=600)
    r = await call(
        client,
        "POST",
        "/v1/datasets",
        keep=True,
        headers=auth(home, "alice"),
        timeout=long,
        data=upload_form(EXAMPLE.read_bytes(), "chats"),
    )
    assert r.status == 202, r
    home.dataset = r.body["id"]
    deadline = time.monotonic() + 600
    while r.body["status"] == "scanning" and time.monotonic() < deadline:  # a scan worker scans it
        await asyncio.sleep(0.5)
        r = await call(client, "GET", f"/v1/datasets/{home.dataset}", keep=True, headers=auth(home, "alice"))
        assert r.status == 200, r
    r = await call(
        client,
        "POST",
        f"/v1/datasets/{home.dataset}/approve",
        headers=auth(home, "bob"),
        json={"note": "looks fine"},
    )
    assert r.status == 201, r


async def one_request(
    client: aiohttp.ClientSession, home: Home, rng: random.Random, reads_only: bool
) -> tuple[str, Answer]:
    roll = rng.random() * (0.66 if reads_only else 1.0)
    if roll < 0.16:
        return "GET /healthz", await call(client, "GET", "/healthz")
    if roll < 0.34:
        return "GET /v1/datasets", await call(client, "GET", "/v1/datasets", headers=auth(home, "alice"))
    if roll < 0.50:
        return "GET /v1/datasets/{id}", await call(
            client, "GET", f"/v1/datasets/{home.dataset}", headers=auth(home, "alice")
        )
    if roll < 0.66:
        return "GET /v1/jobs", await call(client, "GET", "/v1/jobs", headers=auth(home, "alice"))
    if roll < 0.72:
        target = rng.choice(home.uploaded or [home.dataset])
        who = rng.choice(("bob", "dave"))
        return "POST /v1/datasets/{id}/approve", await call(
            client,
            "POST",
            f"/v1/datasets/{target}/approve",
            headers=auth(home, who),
            json={"note": "reviewed in the load run"},
        )
    if roll < 0.82:
        body = {"dataset_id": home.dataset, "dry_run": rng.random() < 0.5}
        return "POST /v1/jobs", await call(client, "POST", "/v1/jobs", headers=auth(home, "alice"), json=body)
    if roll < 0.94:
        kind = rng.random()
        payload = SMALL if kind < 0.5 else MALFORMED if kind < 0.8 else OVERSIZED
        r = await call(
            client,
            "POST",
            "/v1/datasets",
            keep=kind < 0.5,
            headers=auth(home, "alice"),
            data=upload_form(payload, f"load {uuid.uuid4().hex[:8]}"),
        )
        if r.status == 202:  # received; approving it is a 409 until its scan has ended
            home.uploaded.append(r.body["id"])
        return "POST /v1/datasets", r
    if roll < 0.97:
        return "GET /v1/datasets (bad token)", await call(
            client, "GET", "/v1/datasets", headers={"Authorization": "Bearer not-a-token"}
        )
    return "GET /v1/datasets/{id} (unknown)", await call(
        client, "GET", "/v1/datasets/ds_0000000000000000", headers=auth(home, "alice")
    )


async def run_clients(
    base: str, home: Home, clients: int, seconds: float, reads_only: bool, rate: float | None
) -> tuple[Stats, float]:
    stats = Stats()
    connector = aiohttp.TCPConnector(limit=clients)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(base, connector=connector, timeout=timeout) as client:
        await prepare(client, home)
        deadline = time.perf_counter() + seconds

        first = time.perf_counter()

        async def one_client(n: int) -> None:
            rng = random.Random(n)
            # Open loop: client n is due at first + (n + k * clients) / rate, whatever came back.
            due = first + n / rate if rate else 0.0
            while time.perf_counter() < deadline:  # bounded by the clock
                if rate:
                    wait = due - time.perf_counter()
                    if wait > 0:
                        await asyncio.sleep(wait)
                    started, due = due, due + clients / rate  # latency counts from when it was due
                    if started >= deadline:
                        break
                else:
                    started = time.perf_counter()
                try:
                    route, r = await one_request(client, home, rng, reads_only)
                except (aiohttp.ClientError, TimeoutError) as exc:
                    stats.failures[type(exc).__name__] += 1
                    continue
                stats.add(route, time.perf_counter() - started, r.status, started - first)

        started = time.perf_counter()
        await asyncio.gather(*(one_client(n) for n in range(clients)))
        return stats, time.perf_counter() - started


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def decision_rows(home: Home) -> int:
    """Rows in policy_decisions, read through ftgate's own engine."""
    code = (
        "from sqlalchemy import func; from sqlmodel import select;"
        "from gateway.models import PolicyDecisionRecord; from gateway.runtime import Runtime;"
        "from gateway.settings import Settings;"
        "rt = Runtime(Settings());"
        "s = rt.session().__enter__();"
        "print(s.exec(select(func.count()).select_from(PolicyDecisionRecord)).one())"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=home.env, capture_output=True, text=True, cwd=ROOT
    )
    return int(done.stdout.strip() or -1)


def report(
    store: str, stats: Stats, elapsed: float, verified: dict[str, Any], rows: tuple[int, int], warmup: float
) -> None:
    total = sum(len(v) for v in stats.latencies.values())
    print(f"\n## {store}: {total} requests in {elapsed:.1f} s, {total / elapsed:.1f} requests/s")
    print(f"{'route':<36}{'n':>7}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}  statuses")
    for route in sorted(stats.latencies):
        lat = stats.latencies[route]
        codes = ", ".join(f"{code}: {n}" for code, n in sorted(stats.statuses[route].items()))
        print(
            f"{route:<36}{len(lat):>7}{len(lat) / elapsed:>8.1f}"
            f"{percentile(lat, 0.5) * 1e3:>9.1f}{percentile(lat, 0.99) * 1e3:>9.1f}  {codes}"
        )
    errors = sum(n for route in stats.statuses for code, n in stats.statuses[route].items() if code >= 500)
    print(f"5xx: {errors} (goal 0); requests with no answer: {dict(stats.failures) or 0}")
    for what, routes, goal in (
        ("reads (lists and one dataset)", READS[1:], 100),
        ("/healthz", READS[:1], 50),
    ):
        steady = percentile(stats.latencies_after(routes, warmup), 0.99) * 1e3
        whole = percentile(stats.latencies_after(routes, 0.0), 0.99) * 1e3
        print(
            f"p99 of {what}: {steady:.1f} ms after the first {warmup:g} s (goal < {goal} ms);"
            f" {whole:.1f} ms with them"
        )
    print(f"policy decision rows: {rows[0]} before the run, {rows[1]} after (read allows in batches)")
    print(f"audit verify afterwards: {verified.get('status', verified)}, {verified.get('entries')} entries")


def run_store(
    store: str,
    clients: int,
    seconds: float,
    reads_only: bool,
    rate: float | None,
    server_log: Any,
    warmup: float,
) -> None:
    with tempfile.TemporaryDirectory(prefix="ftgate-load-") as tmp:
        database = url = None
        if store == "postgres":
            import psycopg

            database = f"ftgate_load_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(PG_SERVER, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{database}"')
            url = PG_SERVER.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
            url = f"{url}/{database}"
        try:
            home = make_home(Path(tmp) / "home", url)
            port = free_port()
            served = subprocess.Popen(
                [sys.executable, "-m", "gateway.cli.main", "serve", "--port", str(port)],
                env=home.env,
                cwd=ROOT,
                stderr=server_log,
            )
            base = f"http://127.0.0.1:{port}"
            try:
                for _ in range(600):
                    try:
                        if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                            break
                    except httpx.HTTPError:
                        time.sleep(0.1)
                before = decision_rows(home)
                stats, elapsed = asyncio.run(run_clients(base, home, clients, seconds, reads_only, rate))
            finally:
                served.send_signal(signal.SIGTERM)  # a clean shutdown writes the buffered read decisions
                served.wait(timeout=60)
            verified = cli(home.env, "audit", "verify", token=home.tokens["carol"])
            report(store, stats, elapsed, verified, (before, decision_rows(home)), warmup)
        finally:
            if database:
                import psycopg

                with psycopg.connect(PG_SERVER, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument(
        "--warmup",
        type=float,
        default=5.0,
        help="seconds at the start left out of the latency goals (the clients all start at once)",
    )
    parser.add_argument("--store", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument(
        "--reads-only", action="store_true", help="only the four reads (no writes, no uploads)"
    )
    parser.add_argument(
        "--rate", type=float, help="requests/s the clients send together, on a schedule (open loop)"
    )
    parser.add_argument("--server-log", type=Path, help="append the servers' stderr to this file")
    args = parser.parse_args(argv)
    server_log = args.server_log.open("ab") if args.server_log else subprocess.DEVNULL
    loop = f"open loop at {args.rate:g} requests/s" if args.rate else "closed loop"
    print(f"# {args.clients} clients for {args.seconds:g} s on loopback, {loop}; {os.cpu_count()} CPUs")
    print(f"# load average {os.getloadavg()[0]:.2f} (1 min) before the runs")
    for store in ("sqlite", "postgres") if args.store == "both" else (args.store,):
        run_store(store, args.clients, args.seconds, args.reads_only, args.rate, server_log, args.warmup)
    return 0


if __name__ == "__main__":
    sys.exit(main())
