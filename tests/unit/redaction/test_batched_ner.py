"""spaCy's NER decoded a batch at a time (`batched_ner.BatchedNer`): the entities spaCy's own loop finds."""

from __future__ import annotations

import json
from typing import Any

import pytest
import spacy
from spacy.tokens import Doc, Span

from gateway.redaction.analysis import one_blas_thread
from gateway.redaction.batched_ner import NAME, BatchedNer, batch_ner_decoding
from gateway.redaction.config import default_config
from gateway.redaction.engine import SMALL_MODEL, build_analyzer, create_nlp_engine, residual_analyzer_for
from gateway.settings import REPO_ROOT

# What the decoding's rules turn on: whitespace tokens (no entity starts on one), sentence starts (no
# entity runs across one), one-token and empty documents, an entity on the last token.
EDGE_TEXTS = [
    "",
    " ",
    "\n\n\t",
    "Hi",
    "Paris",
    "John Smith",
    "Call John Smith",
    "  John   Smith  lives in  New York \n\n Paris",
    "I met Angela Merkel. Berlin was cold.\nNew York City Hall\n\nMaria Garcia",
    "Ask for Dr. Ana Silva.She moved to Rio de Janeiro.Then Lisbon",
    "Send it to Hannah Müller, Chloé Dubois and José Álvarez on 3 March 2025 at 10:30.",
    "a" * 300,
    " ".join(["Paris London Berlin Madrid Rome"] * 40),
]


def corpus_texts(limit: int) -> list[str]:
    corpus = json.loads((REPO_ROOT / "tests/data/pii/synth_dataset_v2.json").read_text())
    chats = [
        json.loads(line)
        for path in ("examples/support_chats.jsonl", "tests/data/redaction/pii_support_chats.jsonl")
        for line in (REPO_ROOT / path).read_text().splitlines()
        if line.strip()
    ]
    turns = [m["content"] for chat in chats for m in chat["messages"] if isinstance(m.get("content"), str)]
    return [sample["full_text"] for sample in corpus[:limit]] + turns + EDGE_TEXTS


def entities(docs: list[Doc]) -> list[list[tuple[str, str]]]:
    return [[(token.ent_iob_, token.ent_type_) for token in doc] for doc in docs]


def both_ways(nlp: Any, texts: list[str], batch_size: int = 256) -> tuple[list[Doc], list[Doc]]:
    """The documents through spaCy's own NER and through `BatchedNer`, from the same parsed copies."""
    with one_blas_thread():
        parsed = list(nlp.pipe(texts, disable=[NAME]))  # `ner` is disabled too: no entities yet
        assert not any(len(doc) and doc.has_annotation("ENT_IOB") for doc in parsed)
        spacy_docs = list(nlp.get_pipe("ner").pipe([doc.copy() for doc in parsed], batch_size=batch_size))
        batched = list(nlp.get_pipe(NAME).pipe([doc.copy() for doc in parsed], batch_size=batch_size))
    return spacy_docs, batched


def pipelines() -> dict[str, Any]:
    return {
        "analyzer": build_analyzer().nlp_engine.nlp["en"],  # type: ignore[attr-defined]
        "residual": residual_analyzer_for(default_config()).nlp_engine.nlp["en"],  # type: ignore[attr-defined]
    }


@pytest.mark.parametrize("which", ["analyzer", "residual"])
def test_both_models_run_their_ner_batched(which: str) -> None:
    nlp = pipelines()[which]
    assert NAME in nlp.pipe_names and "ner" not in nlp.pipe_names and "ner" in nlp.component_names
    assert isinstance(nlp.get_pipe(NAME), BatchedNer)
    assert BatchedNer.supports(nlp.get_pipe("ner"))


@pytest.mark.parametrize("which", ["analyzer", "residual"])
def test_the_same_entities_as_spacys_own_decoding(which: str) -> None:
    nlp = pipelines()[which]
    texts = corpus_texts(400)
    spacy_docs, batched = both_ways(nlp, texts)
    expected = entities(spacy_docs)
    assert sum(len(doc.ents) for doc in spacy_docs) > 900  # the comparison has entities to compare
    assert entities(batched) == expected
    assert [[(e.start, e.end, e.label_) for e in doc.ents] for doc in batched] == [
        [(e.start, e.end, e.label_) for e in doc.ents] for doc in spacy_docs
    ]
    # Other batch sizes make other matrices: the same answers.
    for size in (1, 7):
        assert entities(both_ways(nlp, texts[:60] + EDGE_TEXTS, batch_size=size)[1]) == entities(
            both_ways(nlp, texts[:60] + EDGE_TEXTS, batch_size=size)[0]
        )


def test_no_entity_starts_on_whitespace_or_crosses_a_sentence_start() -> None:
    nlp = pipelines()["analyzer"]
    _, batched = both_ways(nlp, EDGE_TEXTS)
    for doc in batched:
        for ent in doc.ents:
            assert not ent[0].is_space
            assert not any(token.is_sent_start for token in ent[1:]), (ent.text, doc.text)
    assert [e.text for e in batched[5].ents] == ["John Smith"]


def test_a_document_with_preset_entities_goes_to_spacys_own_decoding() -> None:
    nlp = pipelines()["analyzer"]
    text = "Yesterday Ana Silva flew from Lisbon to Paris with Tom."
    with one_blas_thread():
        parsed = nlp(text, disable=[NAME])

        def preset() -> Doc:
            doc = parsed.copy()
            doc.set_ents([Span(doc, 1, 3, label="ORG")], default="unmodified")  # a preset, blocked elsewhere
            return doc

        expected = nlp.get_pipe("ner")(preset())
        got = nlp.get_pipe(NAME)(preset())
    spans = [(e.start, e.end, e.label_) for e in got.ents]
    assert spans == [(e.start, e.end, e.label_) for e in expected.ents]
    assert (1, 3, "ORG") in spans


def test_the_whole_pipeline_reads_texts_as_spacys_does() -> None:
    """`nlp(text)` and `nlp.pipe` with the batched component: the entities of spaCy's own pipeline."""
    nlp = pipelines()["analyzer"]
    texts = corpus_texts(60)
    with one_blas_thread():
        batched = list(nlp.pipe(texts))
        nlp.disable_pipe(NAME)
        nlp.enable_pipe("ner")
        try:
            own = list(nlp.pipe(texts))
        finally:
            nlp.disable_pipe("ner")
            nlp.enable_pipe(NAME)
        single = [nlp(text) for text in texts[:20]]
    assert entities(batched) == entities(own)
    assert entities(single) == entities(own[:20])


def test_only_a_greedy_bilou_ner_is_batched() -> None:
    blank = spacy.blank("en")
    assert batch_ner_decoding(blank) is False  # no NER at all
    nlp = pipelines()["analyzer"]
    assert not BatchedNer.supports(nlp.get_pipe("parser"))  # arc-eager moves, 8 features
    assert batch_ner_decoding(nlp) is True  # already in place: nothing added twice
    assert nlp.component_names.count(NAME) == 1


def test_the_naive_baseline_keeps_spacys_own_ner() -> None:
    nlp = create_nlp_engine(SMALL_MODEL, blas=False).nlp["en"]  # type: ignore[attr-defined]
    assert "ner" in nlp.pipe_names and NAME not in nlp.component_names
