"""Signing in to the console through an OpenID provider, in a real browser (issue 13; issue 14, item 8):
Playwright driving Debian's chromium against a real `ftgate serve` at `localhost` and a provider on
`127.0.0.1`, another site, so the browser's SameSite rules apply as they would in production: the
sign-in cookie must come back with the provider's cross-site redirect, and the session cookie
(SameSite=Strict) must be there on the first page after it."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest
from ftgate_testing import Home, serve
from oidc_provider import AUDIENCE, ISSUER, Provider

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")
playwright = pytest.importorskip("playwright.sync_api")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(BROWSER is None, reason="no chromium to drive (apt-get install chromium)"),
]


def test_signing_in_through_the_provider_in_a_real_browser(home: Home, tmp_path: Path) -> None:
    provider = Provider()
    provider.add_key("k1")
    provider.claims = {"preferred_username": "erin", "ftgate_role": "approver", "ftgate_team": "compliance"}
    env = {
        **os.environ,
        **home.cli.env,
        "FTGATE_UVICORN_LOG": "warning",
        "FTGATE_SCAN_WORKERS": "1",
        "FTGATE_OIDC_ISSUER": ISSUER,
        "FTGATE_OIDC_AUDIENCE": AUDIENCE,
        "FTGATE_OIDC_JWKS_URL": provider.url,
        "FTGATE_OIDC_AUTHORIZATION_ENDPOINT": f"{provider.base}/auth",
        "FTGATE_OIDC_TOKEN_ENDPOINT": f"{provider.base}/token",
        "FTGATE_OIDC_PROVIDER_NAME": "Acme SSO",
    }
    server, base = serve(env, log=tmp_path / "server.log")
    site = base.replace("127.0.0.1", "localhost")  # the provider stays on 127.0.0.1: another site
    try:
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=BROWSER, args=["--no-sandbox"])
            page = browser.new_context().new_page()
            page.goto(f"{site}/ui/queue")
            page.wait_for_url(f"{site}/ui/login?**")
            page.get_by_role("link", name="Sign in with Acme SSO").click()
            page.wait_for_url(f"{site}/ui/queue")
            playwright.expect(page.locator("body")).to_contain_text("erin")
            cookies = {c["name"]: c for c in page.context.cookies()}
            assert cookies["ftgate_session"]["sameSite"] == "Strict" and cookies["ftgate_session"]["httpOnly"]
            assert "ftgate_sso" not in cookies  # the sign-in's own cookie is gone once used
            assert provider.redeemed and provider.redeemed[-1]["code_verifier"]
            # Signing out and in again takes the same way; a user disabled meanwhile is refused.
            home.cli("users", "disable", "erin", token=home.admin)
            page.goto(f"{site}/ui/queue")
            page.wait_for_url(f"{site}/ui/login?**")
            page.get_by_role("link", name="Sign in with Acme SSO").click()
            playwright.expect(page.get_by_role("alert")).to_contain_text("is disabled")
            browser.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
        provider.server.shutdown()
