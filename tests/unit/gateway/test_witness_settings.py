"""FTGATE_WITNESSES and FTGATE_WITNESS_QUORUM are validated when the settings are read, with messages
that name the variable."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from audit.witness import cosigner_for
from gateway.settings import Settings

W1 = cosigner_for("w1.test", Ed25519PrivateKey.generate()).encode()
W2 = cosigner_for("w2.test", Ed25519PrivateKey.generate()).encode()


@pytest.mark.parametrize(
    "witnesses, quorum, error",
    [
        ([], None, None),
        ([{"vkey": W1, "url": "http://127.0.0.1:7380/"}], None, None),
        ([{"vkey": W1, "url": "http://a"}, {"vkey": W2, "url": "https://b/w"}], 1, None),
        ([{"vkey": W1, "url": "http://a"}], 2, "FTGATE_WITNESS_QUORUM is 2 but only 1"),
        ([{"vkey": W1, "url": "http://a"}, {"vkey": W1, "url": "http://b"}], None, "names a witness twice"),
        ([{"vkey": W1[:-4] + "AAAA", "url": "http://a"}], None, "FTGATE_WITNESSES: witness key"),
        ([{"vkey": W1, "url": "ftp://a"}], None, "must be http:// or https://"),
        ([{"url": "http://a"}], None, "vkey"),
        ([{"vkey": W1, "url": "http://a"}], 0, "greater than or equal to 1"),
    ],
)
def test_witness_settings(
    monkeypatch: pytest.MonkeyPatch, witnesses: list[dict[str, Any]], quorum: int | None, error: str | None
) -> None:
    # As an operator sets them: environment variables, the list as JSON.
    monkeypatch.setenv("FTGATE_WITNESSES", json.dumps(witnesses))
    if quorum is not None:
        monkeypatch.setenv("FTGATE_WITNESS_QUORUM", str(quorum))
    if error is not None:
        with pytest.raises(ValidationError, match=error):
            Settings()
        return
    settings = Settings()
    assert settings.quorum == (quorum if quorum is not None else len(witnesses))
    assert [w.vkey for w in settings.witnesses] == [w["vkey"] for w in witnesses]
    assert all(not w.url.endswith("/") for w in settings.witnesses)
