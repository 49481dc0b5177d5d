"""`/docs` works on a network with no way out: Swagger UI's files are served by ftgate itself (issue 13).

A real `ftgate serve` and Debian's chromium, headless: the page renders every operation from
`/openapi.json` with nothing fetched from anywhere else (the page's CSP would refuse it anyway).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess

import pytest
from ftgate_testing import Home, serve

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.browser
@pytest.mark.skipif(BROWSER is None, reason="no chromium to render with (apt-get install chromium)")
def test_the_api_docs_render_from_the_servers_own_files(home: Home) -> None:
    server, base = serve({**os.environ, **home.cli.env, "FTGATE_UVICORN_LOG": "warning"})
    try:
        dom = subprocess.run(
            [
                str(BROWSER), "--headless", "--no-sandbox", "--disable-gpu",
                "--virtual-time-budget=10000", "--dump-dom", f"{base}/docs",
            ],
            capture_output=True, text=True, timeout=120, check=True,
        ).stdout  # fmt: skip
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
    assert 'class="title">ftgate' in dom
    assert dom.count("opblock-summary-path") >= 30  # every operation of the document
    assert "/v1/datasets/{dataset_id}/events" in dom
