"""The attribute ruler's matches through `attribute_rules.RuleIndex`: the same as spaCy's `Matcher` finds."""

from __future__ import annotations

import json
from typing import Any, cast

import pytest
import spacy
from presidio_analyzer import AnalyzerEngine
from spacy.pipeline import AttributeRuler

from gateway.redaction.analysis import one_blas_thread
from gateway.redaction.attribute_rules import RuleIndexMatch, index_attribute_ruler
from gateway.redaction.engine import SMALL_MODEL, create_nlp_engine
from gateway.settings import REPO_ROOT

ODD_TEXTS = [
    "",
    "   ",
    "\n\n\t",
    "I'm gonna call y'all, ain't that right? Nothin' doing.",
    "Dear <PERSON_1>, call <PHONE_NUMBER_2> or write to <EMAIL_ADDRESS_3>.",
    "that if because while since so whether although though unless",
    "Is it? 's 're 've n't nt n’t",
]


def corpus_texts(limit: int) -> list[str]:
    corpus = json.loads((REPO_ROOT / "tests/data/pii/synth_dataset_v2.json").read_text())
    return [sample["full_text"] for sample in corpus[:limit]] + ODD_TEXTS


def matches_both_ways(nlp: Any, texts: list[str]) -> tuple[list[Any], list[Any]]:
    """The ruler's matches by its index and by spaCy's own `AttributeRuler.match` (the Matcher)."""
    ruler = nlp.get_pipe("attribute_ruler")
    with one_blas_thread(), nlp.select_pipes(disable=["attribute_ruler", "lemmatizer", "ner"]):
        docs = list(nlp.pipe(texts))
    return [ruler.match(doc) for doc in docs], [AttributeRuler.match(ruler, doc) for doc in docs]


def test_the_analyzer_models_rules_are_indexed_and_match_as_the_matcher_does(
    analyzer: AnalyzerEngine,
) -> None:
    nlp = analyzer.nlp_engine.nlp["en"]  # type: ignore[attr-defined]
    assert isinstance(nlp.get_pipe("attribute_ruler").match, RuleIndexMatch)
    indexed, matcher = matches_both_ways(nlp, corpus_texts(400))
    assert indexed == matcher
    assert sum(map(len, indexed)) > 5000  # every token has its tag's rule, some an exception too


def test_the_residual_models_rules_match_as_the_matcher_does() -> None:
    nlp = create_nlp_engine(SMALL_MODEL).nlp["en"]  # type: ignore[attr-defined]
    indexed, matcher = matches_both_ways(nlp, corpus_texts(400))
    assert indexed == matcher


def test_the_same_tags_parts_of_speech_morphology_and_lemmas_with_and_without_the_index() -> None:
    texts = corpus_texts(150)

    def read(indexed: bool) -> list[list[tuple[str, ...]]]:
        nlp = create_nlp_engine(SMALL_MODEL, indexed_rules=indexed).nlp["en"]  # type: ignore[attr-defined]
        assert isinstance(nlp.get_pipe("attribute_ruler").match, RuleIndexMatch) == indexed
        with one_blas_thread():
            docs = list(nlp.pipe(texts))
        return [[(t.tag_, t.pos_, str(t.morph), t.lemma_, t.dep_) for t in doc] for doc in docs]

    assert read(indexed=True) == read(indexed=False)


# Rules of every kind the index serves: equalities, IN, NOT_IN, REGEX, flags, two tokens, alternatives
# (two of which match the same span: one match), an index into the span.
RULES: list[dict[str, Any]] = [
    {"patterns": [[{"TAG": "NN"}]], "attrs": {"POS": "NOUN"}},
    {
        "patterns": [[{"LOWER": {"IN": ["call", "phone"]}, "TAG": {"IN": ["VB", "NN"]}}]],
        "attrs": {"LEMMA": "ring"},
    },
    {"patterns": [[{"TAG": {"NOT_IN": ["NN", ""]}, "IS_SPACE": False}]], "attrs": {"MORPH": "Foo=Bar"}},
    {"patterns": [[{"LOWER": {"REGEX": "^n[ou]thin'?$"}}]], "attrs": {"LEMMA": "nothing"}},
    {"patterns": [[{"LOWER": "ai"}, {"LOWER": "n't"}]], "attrs": {"LEMMA": "be"}, "index": 0},
    {"patterns": [[{"LOWER": {"REGEX": "^y'?$"}}, {"LOWER": "all"}]], "attrs": {"LEMMA": "you"}, "index": -1},
    {"patterns": [[{"IS_SPACE": True}], [{"TEXT": "\n"}]], "attrs": {"TAG": "_SP"}},
    {"patterns": [[{"ORTH": "Dear"}], [{"LOWER": "dear"}]], "attrs": {"LEMMA": "dear"}},
    {"patterns": [[{"DEP": "nsubj", "TAG": "PRP"}]], "attrs": {"LEMMA": "-PRON-"}},
]


def test_rules_of_every_kind_the_index_serves_match_as_the_matcher_does() -> None:
    nlp = spacy.load(SMALL_MODEL, exclude=["attribute_ruler", "lemmatizer", "ner"])
    ruler = cast(AttributeRuler, nlp.add_pipe("attribute_ruler"))
    ruler.add_patterns(RULES)
    assert index_attribute_ruler(nlp)
    texts = [*ODD_TEXTS, "Dear dear Nothin' and nuthin ain't it, y all? I'll call the phone.\n\nCall!"]
    docs = list(nlp.pipe(texts, disable=["attribute_ruler"]))
    for doc in docs:
        assert ruler.match(doc) == AttributeRuler.match(ruler, doc)
    assert any(m for doc in docs for m in ruler.match(doc) if m[3] - m[2] == 2)  # the two-token rules fire


@pytest.mark.parametrize(
    "pattern",
    [
        [{"POS": "NOUN"}],  # a symbol, not a string
        [{"LEMMA": "be"}],
        [{"MORPH": "Number=Sing"}],
        [{"LOWER": "a", "OP": "?"}],
        [{"LOWER": {"FUZZY": "call"}}],
        [{"LENGTH": 3}],
        [{}],
    ],
)
def test_a_ruler_with_a_rule_the_index_does_not_serve_keeps_its_matcher(
    pattern: list[dict[str, Any]],
) -> None:
    nlp = spacy.blank("en")
    ruler = cast(AttributeRuler, nlp.add_pipe("attribute_ruler"))
    rule: dict[str, Any] = {"patterns": [pattern], "attrs": {"LEMMA": "x"}}
    ruler.add_patterns([*RULES[:2], rule])
    assert not index_attribute_ruler(nlp)
    assert not isinstance(ruler.match, RuleIndexMatch)
