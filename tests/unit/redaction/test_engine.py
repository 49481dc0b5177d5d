"""The analyzer: the packaged spaCy model, Presidio's recognizers, and never a network call."""

from __future__ import annotations

import contextlib
from importlib.metadata import version

import pytest
import tldextract
import tldextract.tldextract
from presidio_analyzer import AnalyzerEngine
from presidio_analyzer.nlp_engine import SpacyNlpEngine
from presidio_analyzer.predefined_recognizers import EmailRecognizer
from tldextract.suffix_list import SuffixListNotFound

from gateway.redaction import Scanner, build_analyzer
from gateway.redaction.engine import (
    OfflineEmailRecognizer,
    create_analyzer,
    describe_analyzer,
    ner_model_path,
    offline_tld_extractor,
)

from .conftest import KEY, NetworkBlocked, all_entities


def _stock_extractor() -> tldextract.TLDExtract:
    """What `tldextract.extract` uses by default, minus the disk cache: it fetches the list on first use."""
    return tldextract.TLDExtract(
        cache_dir=None, suffix_list_urls=tldextract.tldextract.PUBLIC_SUFFIX_LIST_URLS
    )


def test_build_analyzer_is_cached_per_process(analyzer: AnalyzerEngine) -> None:
    assert build_analyzer() is analyzer
    assert Scanner(pseudonym_key=KEY).analyzer_name == describe_analyzer(analyzer)


def test_analyzer_runs_the_packaged_spacy_model(analyzer: AnalyzerEngine) -> None:
    assert isinstance(analyzer.nlp_engine, SpacyNlpEngine)
    # spaCy's en_core_web_md, loaded from the directory its PyPI package installs.
    assert analyzer.nlp_engine.models == [{"lang_code": "en", "model_name": ner_model_path()}]
    assert describe_analyzer(analyzer) == (
        f"presidio-analyzer {version('presidio-analyzer')} / en_core_web_md 3.8.0"
    )


def test_email_recognizer_is_the_offline_one(analyzer: AnalyzerEngine) -> None:
    email = [r for r in analyzer.registry.recognizers if "EMAIL_ADDRESS" in r.supported_entities]
    assert [type(r) for r in email] == [OfflineEmailRecognizer]
    assert not any(type(r) is EmailRecognizer for r in analyzer.registry.recognizers)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("UtaKortig@jourrapide.com", True),
        ("SzaszJanka@cuvox.de", True),
        ("someone@mail.example.co.uk", True),
        ("root@localhost.invalidtld", False),  # not a public suffix: Presidio's rule rejects it
    ],
)
def test_offline_email_validation_matches_presidio_rule(text: str, expected: bool) -> None:
    assert OfflineEmailRecognizer().validate_result(text) is expected


def test_guard_catches_presidio_stock_email_path(
    network_attempts: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Control: the stock recognizer with an empty tldextract cache does try to fetch; the guard sees it."""
    monkeypatch.setattr(tldextract.tldextract, "TLD_EXTRACTOR", _stock_extractor())
    with contextlib.suppress(NetworkBlocked, SuffixListNotFound):
        EmailRecognizer().analyze("write to UtaKortig@jourrapide.com", entities=["EMAIL_ADDRESS"])
    assert network_attempts, "the socket guard saw no attempt: it would prove nothing"


def test_offline_extractor_uses_the_bundled_snapshot(network_attempts: list[str]) -> None:
    extractor = offline_tld_extractor()
    assert extractor.suffix_list_urls == ()
    assert extractor("UtaKortig@jourrapide.com").fqdn == "jourrapide.com"
    assert network_attempts == []


def test_loading_and_scanning_never_touch_the_network(
    network_attempts: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Arm Presidio's own path: were anything to call tldextract.extract, it would try to fetch.
    monkeypatch.setattr(tldextract.tldextract, "TLD_EXTRACTOR", _stock_extractor())
    fresh = create_analyzer()  # spaCy load, registry and recognizers from scratch, under the guard
    result = Scanner(pseudonym_key=KEY, analyzer=fresh, config=all_entities(fresh)).scan(
        [
            {"prompt": "Mail UtaKortig@jourrapide.com or see http://AnonymousEar.fr/ today."},
            {"metadata": {"SzaszJanka@cuvox.de": "reviewer"}},
        ]
    )
    assert result.redacted[0]["prompt"].startswith("Mail <EMAIL_ADDRESS_1> or see <URL_1>")
    assert "<EMAIL_ADDRESS_2>" in result.redacted[1]["metadata"]
    assert network_attempts == []
