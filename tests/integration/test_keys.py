"""The public keys a verifier needs (issue 14, item 2): published without a token, by API and CLI."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from ftgate_testing import Home

from audit.checkpoint import Verifier
from gateway.api.app import create_app
from gateway.runtime import Runtime


def test_keys_are_published_without_a_token_and_match_the_checkpoints(home: Home, tmp_path: Path) -> None:
    client = TestClient(create_app(runtime=Runtime(home.settings())))
    published = client.get("/v1/keys")
    assert published.status_code == 200
    keys = published.json()
    # No adapter signed yet in this home: no adapter-signing key to publish.
    assert keys["adapter_signing"] is None and keys["witnesses"] == []
    checkpoint = home.cli("audit", "checkpoint", "-o", str(tmp_path / "cp.txt"), token=home.carol)
    assert keys["log"]["verifier_key"] == checkpoint["verifier_key"]
    assert Verifier.parse(keys["log"]["verifier_key"]).name == keys["log"]["origin"]

    # The CLI: the same document, the verifier key alone, and a clear refusal for a key not made yet.
    assert home.cli("keys", "export") == keys
    assert home.cli("keys", "export", "--which", "log") == {"key": keys["log"]["verifier_key"]}
    missing = home.cli("keys", "export", "--which", "adapter", ok=False)
    assert missing["error"]["code"] == "not_found"
    assert "no adapter has been signed" in missing["error"]["message"]
    written = home.cli("keys", "export", "--which", "log", "-o", str(tmp_path / "log.key"))
    assert written["status"] == "exported"
    assert (tmp_path / "log.key").read_text() == keys["log"]["verifier_key"] + "\n"
