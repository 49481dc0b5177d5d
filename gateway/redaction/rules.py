"""The base of ftgate's rule recognizers: hand-written rules over the text, in Presidio's plug-in style.

Presidio's `LocalRecognizer` asks for a name, the entities, `load` and `analyze`; every rule recognizer
(addresses, place cues, person cues, postcodes) reports its findings the same way, with the rule that
fired as the explanation, so that is written once here.
"""

from __future__ import annotations

from typing import Any

from presidio_analyzer import AnalysisExplanation, LocalRecognizer, RecognizerResult


class RuleRecognizer(LocalRecognizer):
    """A recognizer of rules; subclasses set `NAME`, `ENTITIES` and `EXPLAINS`, and write `analyze`."""

    NAME = "RuleRecognizer"
    ENTITIES: tuple[str, ...] = ()
    EXPLAINS = "a finding"  # what a finding is, for its explanation: "a postal address"

    def __init__(self, *, supported_language: str = "en", score: float = 0.6, **kwargs: Any) -> None:
        self.score = score
        super().__init__(
            supported_entities=list(self.ENTITIES),
            name=self.NAME,
            supported_language=supported_language,
            **kwargs,
        )

    def load(self) -> None:
        pass  # rules hold no model

    def result(
        self, start: int, end: int, why: str, *, entity: str | None = None, score: float | None = None
    ) -> RecognizerResult:
        """A finding of `entity` (the first of `ENTITIES` by default) by the rule `why`."""
        score = self.score if score is None else score
        return RecognizerResult(
            entity_type=entity or self.ENTITIES[0],
            start=start,
            end=end,
            score=score,
            analysis_explanation=AnalysisExplanation(
                recognizer=self.NAME,
                original_score=score,
                pattern_name=why,
                textual_explanation=f"{self.EXPLAINS} ({why})",
            ),
            recognition_metadata={
                RecognizerResult.RECOGNIZER_NAME_KEY: self.NAME,
                RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
            },
        )
