"""`recognizers.ContextEnhancer`: Presidio's lemma enhancer's scores, with less work per string."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from presidio_analyzer import AnalysisExplanation, AnalyzerEngine, EntityRecognizer, RecognizerResult
from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer
from presidio_analyzer.nlp_engine import NlpArtifacts

from gateway.redaction.recognizers import ContextEnhancer, TokenReading, copy_results
from gateway.settings import REPO_ROOT

CONTEXT_TEXTS = [
    "call me on 9472 7916",
    "555 0199 (office)",
    "+44 20 7946 0958 fax",
    "My card is 4454 7945 1139 0933, thanks",
    "She lives on Abbey Road near the corner",
    "SSN: 078-05-1120.",
    "   \n 212-555-0100   \n\n",
    "Email jane.doe@example.com or phone 212 555 0100 (mobile), ip 10.0.0.1",
]


class PresidioLoop(ContextEnhancer):
    """The reference: Presidio's own loop (deep copy, walk over the tokens) on this enhancer's keywords."""

    def enhance_using_context(
        self,
        text: str,
        raw_results: list[RecognizerResult],
        nlp_artifacts: NlpArtifacts,
        recognizers: list[EntityRecognizer],
        context: list[str] | None = None,
    ) -> list[RecognizerResult]:
        view = self.reading(nlp_artifacts, recognizers).artifacts if nlp_artifacts is not None else None
        return LemmaContextAwareEnhancer.enhance_using_context(
            self, text, raw_results, view, recognizers, context
        )  # type: ignore[arg-type]

    def _surrounding(self, reading: TokenReading, word: str, start: int) -> list[str]:
        artifacts = reading.artifacts
        if not artifacts.tokens:
            return [""]
        find = LemmaContextAwareEnhancer._find_index_of_match_token
        first = find(word, start, artifacts.tokens, artifacts.tokens_indices)
        last = find(word, start + max(len(word), 1) - 1, artifacts.tokens, artifacts.tokens_indices)
        keywords = artifacts.keywords
        before = self._add_n_words_backward(first, self.context_prefix_count, artifacts.lemmas, keywords)
        after = self._add_n_words_forward(last, self.context_suffix_count, artifacts.lemmas, keywords)
        return list(set(before + after))


def described(results: list[RecognizerResult]) -> list[tuple[Any, ...]]:
    return sorted(
        (
            r.entity_type,
            r.start,
            r.end,
            r.score,
            json.dumps(r.recognition_metadata, sort_keys=True, default=str),
            json.dumps(
                vars(r.analysis_explanation) if r.analysis_explanation else None, sort_keys=True, default=str
            ),
        )
        for r in results
    )


def test_the_same_findings_scores_and_explanations_as_presidios_loop(
    analyzer: AnalyzerEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert isinstance(analyzer.context_aware_enhancer, ContextEnhancer)
    corpus = json.loads((REPO_ROOT / "tests/data/pii/synth_dataset_v2.json").read_text())
    texts = [*CONTEXT_TEXTS, *(sample["full_text"] for sample in corpus[:150])]

    def analyze() -> list[list[tuple[Any, ...]]]:
        return [
            described(analyzer.analyze(text, language="en", return_decision_process=True, context=["office"]))
            for text in texts
        ]

    ours = analyze()
    monkeypatch.setattr(analyzer, "context_aware_enhancer", PresidioLoop())
    assert ours == analyze()
    assert any("supportive_context_word" in str(found) for found in ours)  # some scores were lifted


def test_the_token_under_a_character_is_the_one_presidio_walks_to(analyzer: AnalyzerEngine) -> None:
    for text in CONTEXT_TEXTS:
        artifacts = analyzer.nlp_engine.process_text(text, "en")
        reading = TokenReading(artifacts)
        for start in range(len(text)):
            expected = LemmaContextAwareEnhancer._find_index_of_match_token(
                "x", start, artifacts.tokens, artifacts.tokens_indices
            )
            assert reading.token_at(start) == expected, (text, start)
        assert len(text) == 0 or artifacts.tokens[-1].idx + len(artifacts.tokens[-1]) == len(text)
        with pytest.raises(ValueError):
            reading.token_at(len(text))


def test_results_are_copied_as_deepcopy_copies_them() -> None:
    shared = AnalysisExplanation(recognizer="R", original_score=0.4, pattern_name="p", pattern="\\d+")
    first = RecognizerResult("PHONE_NUMBER", 0, 4, 0.4, shared, {"recognizer_identifier": "R_1"})
    second = RecognizerResult("PHONE_NUMBER", 5, 9, 0.4, shared, {"recognizer_identifier": "R_1"})
    third = RecognizerResult("PERSON", 1, 2, 0.85, None, None)  # type: ignore[arg-type]
    results = [first, second, first, third]
    copied, deep = copy_results(results), copy.deepcopy(results)
    assert described(copied) == described(deep)
    assert all(c is not r for c, r in zip(copied, results, strict=True))
    assert copied[0] is copied[2] and copied[0].analysis_explanation is copied[1].analysis_explanation
    assert copied[0].analysis_explanation is not shared
    assert copied[0].recognition_metadata is not first.recognition_metadata
    copied[0].analysis_explanation.set_improved_score(0.75)
    assert shared.score == 0.4
