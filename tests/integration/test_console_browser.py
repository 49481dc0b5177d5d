"""The console in a real browser (issue 13, item 7): Playwright for Python driving Debian's chromium
against a real `ftgate serve`, its scan workers and a real training worker.

One journey through every role: a submitter uploads (with progress) and, once the scan is done, finds
the review form closed to her with the policy's reason; an approver reviews from the queue with the
keyboard alone; the submitter dry-runs and submits a job; the worker trains it while the job page
follows it live (server-sent events); an approver releases the adapter; an auditor verifies the log
and downloads every export and the proof bundle. Along the way: the session cookie's flags, a POST
without the CSRF token refused, inline script refused by the CSP, and on every page axe-core (its file
injected) with no serious or critical violation and no sideways scroll at 1280 and 390 px wide.

Set FTGATE_SCREENSHOTS to a folder to keep a screenshot of each main page there (docs/console/).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ftgate_testing import Home, serve

from gateway.settings import REPO_ROOT

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")
AXE = REPO_ROOT / "tests" / "vendor" / "axe-core" / "axe.min.js"
EXAMPLE = REPO_ROOT / "examples" / "support_chats.jsonl"
WIDTHS = (1280, 390)
SCAN_TIMEOUT_MS = 240_000

playwright = pytest.importorskip("playwright.sync_api")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(BROWSER is None, reason="no chromium to drive (apt-get install chromium)"),
]


class Pages:
    """Each role's browser context, the pages seen (for the accessibility pass) and the screenshots."""

    def __init__(self, browser: Any, base: str, shots: Path | None) -> None:
        self.browser, self.base, self.shots = browser, base, shots
        self.seen: list[tuple[str, dict[str, Any]]] = []  # (path, the role's storage state)

    def sign_in(self, token: str) -> Any:
        context = self.browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.goto(f"{self.base}/ui/login")
        page.fill("#token", token)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{self.base}/ui/**")
        return page

    def visit(self, page: Any, path: str, shot: str | None = None) -> None:
        page.goto(f"{self.base}{path}")
        self.seen.append((path, page.context.storage_state()))
        if shot and self.shots is not None:
            page.screenshot(path=str(self.shots / f"{shot}.png"), full_page=True)


def keyboard_to(page: Any, element_id: str, limit: int = 120) -> None:
    """Tab from the top of the page until the element has the focus: the keyboard alone gets there."""
    page.locator("body").focus()
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
    raise AssertionError(f"#{element_id} is not reachable with Tab")


def test_the_three_journeys_in_a_real_browser(home: Home, tmp_path: Path) -> None:
    sync_playwright = playwright.sync_playwright
    expect = playwright.expect
    shots = Path(os.environ["FTGATE_SCREENSHOTS"]) if os.environ.get("FTGATE_SCREENSHOTS") else None
    if shots is not None:
        shots.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **home.cli.env, "FTGATE_UVICORN_LOG": "warning", "FTGATE_SCAN_WORKERS": "1"}
    server, base = serve(env, log=tmp_path / "server.log")  # shown by pytest when the test fails
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=BROWSER, args=["--no-sandbox"])
            pages = Pages(browser, base, shots)
            _journeys(pages, home, env, expect)
            _accessibility(pages, browser)
            browser.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)


def _journeys(pages: Pages, home: Home, env: dict[str, str], expect: Any) -> None:
    base = pages.base
    # --- the submitter uploads, with a progress bar; the scan runs on the server's workers.
    alice = pages.sign_in(home.alice)
    cookie = next(c for c in alice.context.cookies() if c["name"] == "ftgate_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/ui"
    assert not cookie["secure"]  # loopback; Secure everywhere else (test_console.py)
    pages.visit(alice, "/ui/datasets/new", "upload")
    alice.set_input_files("#file", str(EXAMPLE))
    alice.fill("#name", "support chats")
    alice.fill("#purpose", "style")
    alice.get_by_role("button", name="Upload and scan").click()
    alice.wait_for_url(f"{base}/ui/datasets/ds_*")
    dataset_path = alice.url.removeprefix(base)
    dataset_id = dataset_path.rsplit("/", 1)[-1]
    expect(alice.locator(".heading-row .status")).to_have_text("pending review", timeout=SCAN_TIMEOUT_MS)
    # Four eyes in the page: the form is closed to the uploader, and says why.
    expect(alice.get_by_role("button", name="Approve")).to_be_disabled()
    expect(alice.locator("#why-not")).to_contain_text("may not")
    # CSRF: the same session, a POST without the token, is refused and changes nothing.
    refused = alice.request.post(
        f"{base}/ui/datasets/{dataset_id}/review", form={"verdict": "approved", "note": "mine"}
    )
    assert refused.status == 403 and "CSRF" in refused.text()
    # The CSP: script injected inline does not run.
    alice.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.ran = 1';"
        " document.head.appendChild(s); }"
    )
    assert alice.evaluate("window.ran === undefined")
    pages.visit(alice, dataset_path, "dataset-uploader")

    # --- the approver reviews from the queue, with the keyboard alone.
    bob = pages.sign_in(home.bob)
    pages.visit(bob, "/ui/queue", "queue")
    bob.get_by_role("link", name="support chats").click()
    bob.wait_for_url(f"{base}{dataset_path}")
    pages.visit(bob, dataset_path, "dataset-review")
    keyboard_to(bob, "note")
    bob.keyboard.type("Checked the sample: names, emails and phones are placeholders.")
    bob.keyboard.press("Tab")
    assert bob.evaluate("document.activeElement.textContent.trim()") == "Approve"
    bob.keyboard.press("Enter")
    bob.wait_for_url(f"{base}{dataset_path}?reviewed=approved")
    expect(bob.locator(".heading-row .status")).to_have_text("approved")

    # --- the submitter dry-runs, then submits; the worker trains while the page follows it.
    pages.visit(alice, f"/ui/jobs/new?dataset={dataset_id}")
    alice.select_option("#dataset_id", dataset_id)
    alice.select_option("#base_model", "tiny-llama")
    alice.fill("#max_steps", "2")
    alice.fill("#max_seq_len", "64")
    alice.get_by_role("button", name="Dry run: what would the policy say?").click()
    expect(alice.locator("#dry-h")).to_contain_text("allowed")
    if pages.shots is not None:
        alice.screenshot(path=str(pages.shots / "submit-dry-run.png"), full_page=True)
    alice.get_by_role("button", name="Submit", exact=True).click()
    alice.wait_for_url(f"{base}/ui/jobs/job_*")
    job_path = alice.url.removeprefix(base)
    worker = subprocess.run(
        [sys.executable, "-m", "gateway.cli.main", "worker", "--once"],
        env={**env, "FTGATE_TOKEN": home.admin},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert worker.returncode == 0, worker.stderr
    # The page was open while the job ran: its event stream saw the end and reloaded it.
    expect(alice.locator("#job-status .status")).to_have_text("succeeded", timeout=60_000)
    expect(alice.locator("#eval-after")).not_to_have_text("—")
    pages.visit(alice, job_path, "job")
    adapter_path = alice.locator("p.meta a[href^='/ui/adapters/']").get_attribute("href")
    assert adapter_path

    # --- an approver releases the adapter.
    pages.visit(bob, adapter_path)
    bob.fill("#rel-note", "Eval loss went down; samples read well.")
    bob.get_by_role("button", name="Release").click()
    expect(bob.locator(".heading-row .status")).to_have_text("released")

    # --- the auditor verifies the log and downloads every export and the proof bundle.
    carol = pages.sign_in(home.carol)
    pages.visit(carol, "/ui/audit")
    carol.get_by_role("button", name="Verify the whole log").click()
    expect(carol.locator("#badge")).to_contain_text("Verified")
    if pages.shots is not None:
        carol.screenshot(path=str(pages.shots / "audit.png"), full_page=True)
    pages.visit(carol, adapter_path, "adapter-lineage")
    assert carol.locator("svg.graph .node").count() >= 5  # dataset ... release
    links = carol.locator("a[href*='/export/'], a[href$='/proof']")
    assert links.count() >= 6
    for i in range(links.count()):
        with carol.expect_download() as download:
            links.nth(i).click()
        target = Path(download.value.path())
        body = target.read_bytes()
        assert body, links.nth(i).get_attribute("href")
        name = download.value.suggested_filename
        if name.endswith(".json"):
            json.loads(body)
        elif name.endswith(".jsonl"):
            assert all(json.loads(line) for line in body.splitlines())
    pages.visit(carol, "/ui/adapters")
    pages.visit(carol, "/ui/audit/state")
    admin = pages.sign_in(home.admin)
    pages.visit(admin, "/ui/admin", "admin")
    pages.visit(alice, "/ui/datasets", "datasets")
    pages.visit(alice, "/ui/jobs")


def _accessibility(pages: Pages, browser: Any) -> None:
    """axe-core on every page seen, as each role saw it, at both widths; and no sideways scroll."""
    axe = AXE.read_text()
    problems: list[str] = []
    for path, state in pages.seen:
        for width in WIDTHS:
            # axe is injected as a script: only a context that lets it past the pages' CSP can run it.
            context = browser.new_context(
                storage_state=state, bypass_csp=True, viewport={"width": width, "height": 900}
            )
            page = context.new_page()
            page.goto(f"{pages.base}{path}")
            page.add_script_tag(content=axe)
            result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
            for v in result["violations"]:
                if v["impact"] in ("serious", "critical"):
                    targets = [n["target"] for n in v["nodes"][:3]]
                    problems.append(f"{path} @{width}px: {v['id']} ({v['impact']}): {v['help']} {targets}")
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            if overflow > 1:
                problems.append(f"{path} @{width}px: the page scrolls sideways by {overflow}px")
            context.close()
    assert not problems, "\n".join(problems)
