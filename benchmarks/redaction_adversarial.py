"""Adversarial inputs against redaction: each refused or scanned in time, and the server answering meanwhile.

    nice .venv/bin/python benchmarks/redaction_adversarial.py [--size 1000000] [--skip-scan] [--skip-server]

Inputs (`--size` characters each, 1 MB by default): repeated separators, base64-looking runs, `%` runs
(and the issue's "a" run before one `%`), dotted runs before `@`, digit runs split by spaces,
capitalised words, and, as a record rather than a string, lists nested 10,000 deep. Each string is the
user turn of a chat record.

1. Refusal: the upload's validating pass (`validate_training_jsonl`) with the default limits
   (FTGATE_MAX_STRING_CHARS 100,000, FTGATE_MAX_RECORD_BYTES 1 MiB, FTGATE_MAX_RECORD_DEPTH 64): which
   limit refuses each input, and how long that takes. Nothing is parsed past the limit.
2. Scanning with the limit raised: each string through `Scanner.scan` (the shipped config, in process,
   no worker pool), in a child process of its own, so that its peak RSS is its own and a run past
   `--scan-timeout` seconds is cut off and reported as such. The model's load is not counted.
3. Before and after: the patterns this change made linear, as they were (`BASELINES`, kept here) and as
   they are, on each input cut to `--baseline-chars` characters (the old ones take minutes on 1 MB;
   each old search stops at `--baseline-timeout` seconds), side by side with the ratio, and the new ones
   on the whole input as well.
4. `/healthz` while adversarial uploads run: an `ftgate serve` on a fresh home (its own scan workers)
   is asked for /healthz every 20 ms while uploads of each input at the string limit (and over it) go
   in one after another; p50, p99 and the slowest answer, and each upload's status and time.

Timings are wall-clock seconds on this machine (2 shared cores when written): compare the columns of one
run, not runs on other machines. Nothing is asserted; tests/unit/redaction/test_linear_time.py checks
growth, and imports `BASELINES` from here to check that the new patterns find what the old ones did.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import regex

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from presidio_analyzer.predefined_recognizers import EmailRecognizer, UrlRecognizer  # noqa: E402

from gateway.errors import InvalidInput  # noqa: E402
from gateway.formats import InputLimits, validate_training_jsonl  # noqa: E402
from gateway.redaction import normalize, recognizers  # noqa: E402
from gateway.redaction.engine import LinearUrlRecognizer, OfflineEmailRecognizer  # noqa: E402
from gateway.redaction.linear_time import PRESIDIO_FLAGS  # noqa: E402

AnyPattern = Any  # re.Pattern[str] | regex.Pattern[str]

# --- the patterns before this change -----------------------------------------------------------------


@dataclass(frozen=True)
class Baseline:
    """A pattern as it was before it was made linear, and the one that replaced it.

    `tokens` and `examples` are for the test that the two find the same spans: random texts are built
    from the tokens, and each example holds a match.
    """

    before: str
    flags: int
    current: Callable[[], AnyPattern]
    tokens: tuple[str, ...]
    examples: tuple[str, ...]


def _street(name: str) -> Callable[[], AnyPattern]:
    def current() -> AnyPattern:
        pattern: Any
        if name == "street_name":
            street: Any = recognizers.StreetNameRecognizer()
            pattern = street.patterns[0]
        else:
            pattern = next(p for p in recognizers.PATTERNS if p.name == name)
        return regex.compile(pattern.regex, STREET_FLAGS)

    return current


def _presidio(recognizer: Any, name: str) -> Callable[[], AnyPattern]:
    def current() -> AnyPattern:
        pattern = next(p for p in recognizer.PATTERNS if p.name == name)
        return regex.compile(pattern.regex, PRESIDIO_FLAGS)

    return current


def _old_street_patterns() -> dict[str, str]:
    """ftgate's street patterns as they were (c99a1dd): the same word lists and fragments, with the
    fragments this change made possessive, skipping or bounded as they were before."""
    r = recognizers
    alt = r._alternation
    num, house, name_word, link, end, street_type = (
        r._NUM,
        r._HOUSE,
        r._NAME_WORD,
        r._LINK,
        r._END,
        r._STREET_TYPE,
    )
    cap = r"\p{Lu}[\p{L}'’\-]*"
    unit = rf"(?:,?\s+(?:{alt(r.UNIT_WORDS)})\.?\s*#?\s*{num}\b)"
    return {
        "number_name_type": rf"{house},?\s+(?:{name_word}\s+){{1,3}}{street_type}{unit}?",
        "romance_type_name": (
            rf"(?:{house},?\s+(?i:{alt(r.PREFIX_TYPES)})\s+{link}?{cap}(?:\s+{link}?{cap}){{0,3}}"
            rf"|(?<!\w)(?:{alt(r.PREFIX_TYPES)})\s+{link}?{cap}(?:\s+{link}?{cap}){{0,3}},?\s+{num}{end}){unit}?"
        ),
        "compound_number": (
            rf"(?<!\w)(?:{cap}\s+)?(?!(?:{alt(r.NOT_STREETS)})\b)\p{{Lu}}\p{{L}}{{2,}}"
            rf"(?:{alt(r.COMPOUND_ENDINGS)})\s+{num}{end}{unit}?"
        ),
        "name_type_number": (
            rf"(?<!\w){cap}(?:\s+\p{{L}}+){{0,2}}\s+(?:{alt(r.SEPARATE_TYPES)})\s+{num}{end}{unit}?"
        ),
        "slavic_prefix": (
            rf"(?<!\w)(?:{alt(r.SLAVIC_PREFIXES)})\s*{cap}(?:\s+{cap}){{0,2}}\s+{num}(?:/{num})?{end}{unit}?"
        ),
        "apartment": rf"(?<!\w)(?:Apartment|Apt)\.?\s*#?\s*{num}{end}",
        "unit": rf"(?<!\w)(?:Suite|Ste|Flat|Unit)\.?\s*#?\s*{num}{end}",
        "city_state_zip": (
            r"(?<!\w)\p{Lu}[\p{L}.'’\-]+(?:\s\p{Lu}[\p{L}.'’\-]+){0,2},\s*[A-Z]{2}\s+\d{5}(?:-\d{4})?\b"
        ),
        "street_name": (rf"(?<![\w-]){cap}(?:\s+{name_word}){{0,2}}\s+(?:{alt(r.STRONG_STREET_TYPES)})\b"),
    }


STREET_FLAGS = regex.MULTILINE | regex.VERSION0
_OLD_STREET = _old_street_patterns()
_STREET_TOKENS = (
    " ", " ", "\n", ",", ".", "-", "'", "’", "#", "1", "12", "1234", "A", "Aa", "x", "O'Brien", "Jean-Luc",
    "Street", "St", "St.", "Rd", "Crescent", "Apt", "Apt.", "Suite", "Unit", "Flat", "Via", "Rue", "de",
    "Hauptstrasse", "Ditscheinergasse", "Renegade", "u.", "útja", "gata", "ul.", "Springfield", "CA",
    "90210", "-1234",
)  # fmt: skip

BASELINES: dict[str, Baseline] = {
    "email": Baseline(
        before=next(p.regex for p in EmailRecognizer.PATTERNS if p.name == "Email (Medium)"),
        flags=PRESIDIO_FLAGS,
        current=_presidio(OfflineEmailRecognizer, "Email (Medium)"),
        tokens=(
            "a",
            "b.c",
            ".",
            "@",
            "-",
            "_",
            "+",
            "$",
            "é",
            " ",
            "\n",
            "example",
            ".com",
            "x-y",
            "@@",
            "..",
            "1",
        ),
        examples=("jane.doe@example.com", "..a$b@x-y.co.uk", "a@b.c$d@e.f"),
    ),
    "url": Baseline(
        before=next(p.regex for p in UrlRecognizer.PATTERNS if p.name == "Non schema URL"),
        flags=PRESIDIO_FLAGS,
        current=_presidio(LinearUrlRecognizer, "Non schema URL"),
        tokens=(
            "example",
            ".",
            "com",
            "org",
            "www",
            "-",
            "a",
            " ",
            "/",
            "x",
            "co",
            "uk",
            "1",
            "community",
            "'",
        ),
        examples=("see www.example.com/path", "a.b.example.org", "x-y.co.uk"),
    ),
    "url_encoded": Baseline(
        before=r"[^\s%]*(?:%[0-9A-Fa-f]{2}[^\s%]*)+",
        flags=0,
        current=lambda: normalize._URL_ENCODED,
        tokens=("a", "%", "41", "zz", "4", "F", " ", "\n", ".", "?u=", "%40"),
        examples=("?u=jane%40example.com", "a%41", "%zz%41b"),
    ),
    **{
        name: Baseline(
            before=_OLD_STREET[name],
            flags=STREET_FLAGS,
            current=_street(name),
            tokens=_STREET_TOKENS,
            examples=examples,
        )
        for name, examples in {
            "number_name_type": ("22 Pollen Crescent", "3911 Fourth Avenue Suite 697", "1668 Glyn St."),
            "romance_type_name": ("56 rue La Boétie", "Via Roma 12", "Avenida Paulista, 1000"),
            "compound_number": ("Ditscheinergasse 80", "Brucker Bundesstrasse 31", "x-Hauptweg 5 Apt 2"),
            "name_type_number": ("Árpád fejedelem útja 62.", "Király u. 15.", "Stensås terrasse 38"),
            "slavic_prefix": ("ul. Miła 53", "ul. Zakrzowska 92 Apt. 399"),
            "apartment": ("Apt. 864", "Apartment  #  12"),
            "unit": ("Suite 578", "Flat 5"),
            "city_state_zip": ("St Georges, QC 54256", "Springfield, IL 62704-1234", "'O'Neill, CA 90210"),
            "street_name": ("lives on Abbey Road", "O'Connell Street", "the corner of Mt. Pleasant Ave"),
        }.items()
    },
}

# --- the inputs ------------------------------------------------------------------------------------


def adversarial_strings(size: int) -> dict[str, str]:
    """The adversarial strings, each about `size` characters."""

    def run(unit: str, tail: str = "") -> str:
        return unit * ((size - len(tail)) // len(unit)) + tail

    return {
        "separators '- '": run("- "),
        "separators '.'": run("."),
        "base64-looking": run("aB3+/x9Z"),
        "'%' run": run("%"),
        "'a' run, then '%'": run("a", "%"),
        "'a.' run, then '@'": run("a.", "@"),
        "digits split by spaces": run("1 "),
        "capitalised words": run("Aa "),
    }


NESTING = 10_000


def record_line(text: str) -> bytes:
    record = {"messages": [{"role": "user", "content": text}, {"role": "assistant", "content": "Noted."}]}
    return (json.dumps(record) + "\n").encode()


def nested_line(depth: int = NESTING) -> bytes:
    chat = '{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "ok"}], '
    return (chat + '"metadata": ' + "[" * depth + "]" * depth + "}\n").encode()


def seconds(action: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


# --- 1. refusal --------------------------------------------------------------------------------------


def refusals(size: int) -> None:
    print(f"\n1. Refusal by the validating pass, default limits ({InputLimits()}):")
    lines = {name: record_line(text) for name, text in adversarial_strings(size).items()}
    lines[f"lists nested {NESTING:,} deep"] = nested_line()
    for name, line in lines.items():

        def validate(line: bytes = line) -> object:
            try:
                validate_training_jsonl(io.BytesIO(line))
            except InvalidInput as exc:
                limit = exc.details.get("limit") if isinstance(exc.details, dict) else None
                return f"refused by {limit or exc.message}"
            return "accepted"

        took, verdict = seconds(validate)
        print(f"   {name:28s} {len(line):>10,} bytes  {verdict!s:28s} in {took * 1e3:8.2f} ms")


# --- 2. scanning with the limit raised -------------------------------------------------------------


def scan_child(name: str, size: int) -> None:
    """In a child process: scan one input, print a JSON line with the figures."""
    from gateway.redaction.config import load_config
    from gateway.redaction.scanner import Scanner
    from gateway.settings import REPO_ROOT

    scanner = Scanner(pseudonym_key=b"bench", config=load_config(REPO_ROOT / "policies"))
    scanner.scan([{"prompt": "Warm up, Sara Schwarz.", "completion": "ok"}])
    loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    text = adversarial_strings(size)[name]
    record = {"messages": [{"role": "user", "content": text}, {"role": "assistant", "content": "Noted."}]}
    took, result = seconds(lambda: scanner.scan([record]))
    report = getattr(result, "report", None)
    entities = dict(getattr(report, "entities", {}) or {})
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": took, "loaded_mb": loaded, "peak_mb": peak, "entities": entities}))


def scans(size: int, timeout: float) -> None:
    print(f"\n2. Scanning with the limit raised: Scanner.scan on one {size:,}-character string, in process")
    print(f"   (a child process per input; the model's load not counted; cut off after {timeout:.0f} s)")
    for name in adversarial_strings(size):
        command = [sys.executable, __file__, "--scan-child", name, "--size", str(size)]
        try:
            # The child loads the models first (under a minute), then scans.
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout + 60)
        except subprocess.TimeoutExpired:
            print(f"   {name:28s} over {timeout:.0f} s (cut off)")
            continue
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        if done.returncode != 0 or not lines:
            last = (done.stderr.strip().splitlines() or ["?"])[-1]
            print(f"   {name:28s} failed (exit {done.returncode}): {last[:120]}")
            continue
        figures = json.loads(lines[-1])
        verdict = "within 2 s" if figures["seconds"] <= 2 else "over 2 s"
        print(
            f"   {name:28s} {figures['seconds']:8.2f} s  ({verdict}; peak RSS {figures['peak_mb']:,.0f} MB, "
            f"{figures['peak_mb'] - figures['loaded_mb']:+,.0f} MB over the loaded model)  "
            f"findings {figures['entities'] or '{}'}"
        )


# --- 3. before and after ---------------------------------------------------------------------------


def search_seconds(pattern: AnyPattern, text: str, timeout: float | None) -> float | None:
    """Seconds to read every match of `pattern` in `text` (the best of three if under 0.1 s, where
    other load on the machine weighs most); None past `timeout` (a `regex` pattern)."""
    best = None
    for _ in range(3):
        started = time.perf_counter()
        try:
            if isinstance(pattern, regex.Pattern):
                for _ in pattern.finditer(text, timeout=timeout):
                    pass
            else:
                for _ in pattern.finditer(text):
                    pass
        except TimeoutError:
            return None
        took = time.perf_counter() - started
        best = took if best is None else min(best, took)
        if took > 0.1:
            break
    return best


def before_and_after(size: int, cap: int, timeout: float) -> None:
    print(f"\n3. The patterns this change made linear, before and after, on each input cut to {cap:,}")
    print(
        f"   characters (an old search stops at {timeout:.0f} s); the new ones on all {size:,} characters too"
    )
    old = {name: regex.compile(b.before, b.flags) for name, b in BASELINES.items()}
    new = {name: b.current() for name, b in BASELINES.items()}
    print(f"   {'input':28s} {'before':>10s} {'after':>10s} {'ratio':>9s}  {'slowest before':22s}", end="")
    print(f" {'after, all':>12s}")
    for name, text in adversarial_strings(size).items():
        cut = text[: cap - 1] + text[-1]  # the tail character is what makes the old patterns fail
        befores = {p: search_seconds(old[p], cut, timeout) for p in old}
        after = sum(search_seconds(new[p], cut, None) or 0.0 for p in new)
        whole = sum(search_seconds(new[p], text, None) or 0.0 for p in new)
        stopped = [p for p, s in befores.items() if s is None]
        before = sum(s if s is not None else timeout for s in befores.values())
        slowest = max(befores, key=lambda p: timeout if befores[p] is None else befores[p] or 0.0)
        mark = ">" if stopped else " "
        print(
            f"   {name:28s} {mark}{before:8.3f} s {after:8.4f} s {mark}{before / max(after, 1e-6):7.0f}x  "
            f"{slowest:22s} {whole:10.3f} s"
        )


# --- 4. /healthz while adversarial uploads run -----------------------------------------------------


@dataclass
class Probe:
    """Asks /healthz every `interval` seconds and keeps each answer's latency."""

    url: str
    interval: float = 0.02
    latencies: list[float] = field(default_factory=list)
    failures: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        import httpx

        with httpx.Client(timeout=30) as client:
            while not self._stop.is_set():
                started = time.perf_counter()
                try:
                    ok = client.get(self.url).status_code == 200
                except httpx.HTTPError:
                    ok = False
                self.latencies.append(time.perf_counter() - started)
                self.failures += not ok
                self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()


def upload(client: Any, base: str, token: str, content: bytes) -> tuple[float, int, str]:
    """POST one file to /v1/datasets and, once it is received (202), wait for its scan to end:
    (seconds, HTTP status or 0 if the client gave up, the error code or the dataset's end state)."""
    import httpx

    form = {"name": "adversarial", "purpose": "style", "classification": "internal"}
    files = {"file": ("d.jsonl", content)}
    headers = {"Authorization": f"Bearer {token}"}
    started = time.perf_counter()
    try:
        r = client.post(f"{base}/v1/datasets", headers=headers, files=files, data=form)
        dataset = r.json() if r.status_code == 202 else {}
        while dataset.get("status") == "scanning":
            time.sleep(0.05)
            dataset = client.get(f"{base}/v1/datasets/{dataset['id']}", headers=headers).json()
    except httpx.TimeoutException:
        return time.perf_counter() - started, 0, "client timed out"
    took = time.perf_counter() - started
    if r.status_code >= 400:
        return took, r.status_code, str(r.json().get("code", ""))
    error = dataset.get("error") or {}
    return took, r.status_code, f"{dataset.get('status', '')} {error.get('code', '')}".strip()


def start_server(home: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    """`ftgate init`, a submitter, `ftgate serve` on a free port: (the process, its URL, the token)."""
    env = {**os.environ, "FTGATE_HOME": str(home), "FTGATE_TOKEN": "", "FTGATE_UVICORN_LOG": "warning"}
    ftgate = [sys.executable, "-m", "gateway.cli.main"]

    def cli(*args: str, token: str = "") -> Any:
        done = subprocess.run(
            [*ftgate, *args, "--json"],
            env={**env, "FTGATE_TOKEN": token},
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(done.stdout)

    admin = cli("init")["token"]
    alice = cli("users", "add", "alice", "--role", "submitter", "--team", "default", token=admin)["token"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    served = subprocess.Popen([*ftgate, "serve", "--port", str(port)], env=env, stderr=subprocess.DEVNULL)
    return served, f"http://127.0.0.1:{port}", alice


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def server(upload_chars: int, upload_timeout: float) -> None:
    import httpx

    print(
        f"\n4. /healthz of `ftgate serve` while adversarial uploads run ({upload_chars:,}-character strings,"
    )
    print("   then the 1 MB ones, over the limit); uploads one after another, /healthz every 20 ms")
    filler = b"".join(record_line(f"How do I export report {i} as CSV?") for i in range(9))
    uploads = {
        f"{n} ({upload_chars:,})": record_line(t) for n, t in adversarial_strings(upload_chars).items()
    }
    uploads |= {f"{n} (1 MB)": record_line(t) for n, t in adversarial_strings(1_000_000).items()}
    uploads[f"lists nested {NESTING:,} deep"] = nested_line()
    with tempfile.TemporaryDirectory(prefix="ftgate-adversarial-") as tmp:
        served, base, token = start_server(Path(tmp) / "home")
        probe = Probe(f"{base}/healthz")
        try:
            with httpx.Client(timeout=upload_timeout) as client:
                for _ in range(300):
                    try:
                        if client.get(f"{base}/healthz").status_code == 200:
                            break
                    except httpx.HTTPError:
                        time.sleep(0.2)
                warm_up = filler + record_line("And as PDF?")  # the workers load their models on it
                took, status, _ = upload(client, base, token, warm_up)
                print(f"   warm-up upload: HTTP {status} in {took:.1f} s")
                thread = threading.Thread(target=probe.run, daemon=True)
                thread.start()
                for name, line in uploads.items():
                    took, status, code = upload(client, base, token, filler + line)
                    print(f"   upload {name:40s} HTTP {status} {code:18s} {took:8.2f} s")
                probe.stop()
                thread.join()
        finally:
            served.terminate()
            served.wait(30)
    lat = probe.latencies
    print(
        f"   /healthz: {len(lat)} answers, p50 {percentile(lat, 0.5) * 1e3:.1f} ms, "
        f"p99 {percentile(lat, 0.99) * 1e3:.1f} ms, slowest {max(lat) * 1e3:.1f} ms, "
        f"mean {statistics.fmean(lat) * 1e3:.1f} ms, failed {probe.failures}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000, help="characters of each adversarial string")
    parser.add_argument(
        "--baseline-chars", type=int, default=10_000, help="where the old patterns' input is cut"
    )
    parser.add_argument("--baseline-timeout", type=float, default=30.0, help="seconds an old search may take")
    parser.add_argument("--scan-timeout", type=float, default=120.0, help="seconds a scan may take")
    parser.add_argument("--upload-chars", type=int, default=100_000, help="string length of part 4's uploads")
    parser.add_argument("--upload-timeout", type=float, default=300.0, help="seconds an upload may take")
    parser.add_argument("--skip-scan", action="store_true", help="leave out part 2 (minutes, GBs of memory)")
    parser.add_argument("--skip-server", action="store_true", help="leave out part 4")
    parser.add_argument("--scan-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scan_child:
        scan_child(args.scan_child, args.size)
        return
    refusals(args.size)
    before_and_after(args.size, args.baseline_chars, args.baseline_timeout)
    if not args.skip_scan:
        scans(args.size, args.scan_timeout)
    if not args.skip_server:
        server(args.upload_chars, args.upload_timeout)


if __name__ == "__main__":
    main()
