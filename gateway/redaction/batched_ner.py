"""spaCy's named-entity recogniser, its greedy decoding done for a batch of documents at once.

spaCy's `EntityRecognizer` finds entities with a transition system (BILUO: begin, in, last, unit,
out; one action per token) and a small network that scores the actions from each state's features.
Its decoding loop (`Parser._parseC`, compiled) steps one state at a time through validity checks
whose calls took most of its time: on the throughput benchmark's texts the loop took a quarter of
the whole scan's CPU (2 s of the analyzer model's 2.9 s NER, 1 s of the small model's 1.4 s), more
than the network itself.

In the NER system every action consumes exactly one token, so at step `t` every state of the batch
reads token `t` of its own document. `BatchedNer` takes that step for all of them at once with numpy:
the same features (the buffer's first token, the open entity's first token and the token before the
buffer), the same precomputed lower layer (spaCy's own `PrecomputableAffine` output) summed in the
same order, the same maxout, the upper layer through the same blis `sgemm` spaCy calls, the same
validity rules (below), the first best valid action, and the same entities set on the document. Its
documents are batched as spaCy batches them (sorted by length, a quarter of the batch at a time), so
every matrix has the shape spaCy's has. tests/unit/redaction/test_batched_ner.py compares its entities
with spaCy's on the labelled corpus, the support chats and edge cases, for both shipped models.

The validity rules are spaCy's (`spacy/pipeline/_parser_internals/ner.pyx`) for documents that hold no
entity annotation before the NER runs, which is every document ftgate analyses; a batch in which any
document holds one (a preset entity constrains the actions) goes to spaCy's own decoding. With none:
- begin: no entity open, at least two tokens left, a label, the next token does not start a sentence,
  the token is not whitespace;
- in: an entity open with this label, at least two tokens left, the next token does not start a
  sentence;
- last: an entity open with this label;
- unit: a label, no entity open, the token is not whitespace;
- out: no entity open.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
from blis.py import gemm
from spacy.attrs import IS_SPACE, SENT_START
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import minibatch

FACTORY = "ftgate_batched_ner"
NAME = "batched_ner"

# Moves, as spaCy's class names spell them ("B-PERSON", "U-", "O").
BEGIN, IN, LAST, UNIT, OUT = range(5)
_MOVES = {"B": BEGIN, "I": IN, "L": LAST, "U": UNIT, "O": OUT}


class BatchedNer:
    """A pipeline component that runs `ner`'s model with batched greedy decoding (see module doc)."""

    def __init__(self, ner: Any) -> None:
        self.ner = ner
        model = ner.model
        self._tok2vec = model.get_ref("tok2vec")
        self._lower = model.get_ref("lower")
        self._upper = model.get_ref("upper")
        names = [ner.moves.get_class_name(i) for i in range(ner.moves.n_moves)]
        moves, labels = [], []
        for name in names:
            move, _, label = name.partition("-")
            moves.append(_MOVES[move])
            labels.append(label)
        self._labels = sorted({label for label in labels if label})
        number = {label: i + 1 for i, label in enumerate(self._labels)}  # 0: no label
        self._move = np.array(moves, dtype=np.int8)
        self._label = np.array([number.get(label, 0) for label in labels], dtype=np.int32)
        self._unseen = sorted(model.attrs.get("unseen_classes", ()))

    @staticmethod
    def supports(ner: Any) -> bool:
        """Whether `ner` is a model this decoding reproduces: spaCy's greedy BILUO NER, 3 features."""
        try:
            model = ner.model
            lower, upper = model.get_ref("lower"), model.get_ref("upper")
            names = [ner.moves.get_class_name(i) for i in range(ner.moves.n_moves)]
            return (
                type(ner).__name__ == "EntityRecognizer"
                and ner.cfg.get("beam_width", 1) == 1
                and model.attrs.get("has_upper") is True
                and lower.name == "precomputable_affine"
                and lower.get_dim("nF") == 3
                and lower.get_dim("nP") >= 2
                and upper.name == "linear"
                and not getattr(ner, "postprocesses", [])
                and all(name.partition("-")[0] in _MOVES for name in names)
            )
        except (AttributeError, KeyError, ValueError):
            return False

    def __call__(self, doc: Doc) -> Doc:
        self._annotate([doc])
        return doc

    def pipe(self, docs: Iterable[Doc], *, batch_size: int = 256) -> Iterator[Doc]:
        """The documents, in order, with their entities set (batched as spaCy's `Parser.pipe`)."""
        for batch in minibatch(docs, size=batch_size):
            in_order = list(batch)
            by_length = sorted(in_order, key=len)
            for part in minibatch(by_length, size=max(batch_size // 4, 2)):
                self._annotate(list(part))
            yield from in_order

    def _annotate(self, docs: list[Doc]) -> None:
        if any(len(doc) and doc.has_annotation("ENT_IOB") for doc in docs):
            # Preset entities constrain the actions: spaCy's own decoding handles them.
            self.ner.set_annotations(docs, self.ner.predict(docs))
            return
        if not any(len(doc) for doc in docs):
            return
        for doc, entities in zip(docs, self._decode(docs), strict=True):
            doc.set_ents(
                [Span(doc, start, end, label=self._labels[label - 1]) for start, end, label in entities],
                default="outside",
            )

    def _decode(self, docs: list[Doc]) -> list[list[tuple[int, int, int]]]:
        """Each document's entities as (start, end, label number), by the greedy BILUO decoding."""
        tokvecs = self._tok2vec.predict(docs)
        cached = self._lower.predict(tokvecs)  # (tokens + 1, 3 features, hidden, pieces); row 0 pads
        bias = self._lower.get_param("b")
        weights, upper_bias = self._upper.get_param("W"), self._upper.get_param("b")
        pieces = cached.shape[3]
        width = cached.shape[2] * pieces
        cached = cached.reshape(cached.shape[0], 3, width)
        bias = bias.reshape(width)

        lengths = np.array([len(doc) for doc in docs], dtype=np.int64)
        offsets = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        n = len(docs)
        space = np.zeros((n, int(lengths.max()) + 1), dtype=bool)
        next_starts = np.zeros_like(space)  # whether token t + 1 starts a sentence
        for i, doc in enumerate(docs):
            if len(doc):
                attrs = doc.to_array([IS_SPACE, SENT_START])
                space[i, : len(doc)] = attrs[:, 0] != 0
                next_starts[i, : len(doc) - 1] = attrs[1:, 1].astype(np.int64) == 1

        move, label = self._move, self._label
        begin, inside, last, unit, out = (move == m for m in (BEGIN, IN, LAST, UNIT, OUT))
        labelled = label != 0
        is_open = np.zeros(n, dtype=bool)
        open_label = np.zeros(n, dtype=np.int32)
        open_start = np.zeros(n, dtype=np.int64)
        alive = np.ones(n, dtype=bool)  # a state with no valid action is final (spaCy's force_final)
        found: list[list[tuple[int, int, int]]] = [[] for _ in docs]
        for t in range(int(lengths.max())):
            states = np.flatnonzero(alive & (lengths > t))
            if not len(states):
                break
            opened = is_open[states]
            # Features as rows of `cached`: a token's row is its batch index + 1, a missing one row 0.
            first = offsets[states] + t + 1
            entity = np.where(opened, offsets[states] + open_start[states] + 1, 0)
            before = np.where(opened, first - 1, 0)
            unmaxed = cached[first, 0] + cached[entity, 1]
            unmaxed += cached[before, 2]
            unmaxed += bias
            hidden = unmaxed.reshape(len(states), -1, pieces).max(axis=2)
            scores = gemm(np.ascontiguousarray(hidden), weights, trans2=True)
            scores += upper_bias
            if self._unseen:
                scores[:, self._unseen] = scores.min()

            two_left = (lengths[states] - t >= 2)[:, None]
            next_start = next_starts[states, t][:, None]
            not_space = ~space[states, t][:, None]
            shut = ~opened[:, None]
            same = opened[:, None] & (open_label[states][:, None] == label[None, :])
            valid = (
                (begin & labelled & shut & two_left & ~next_start & not_space)
                | (inside & same & two_left & ~next_start)
                | (last & same)
                | (unit & labelled & shut & not_space)
                | (out & shut)
            )
            best = np.where(valid, scores, -np.inf).argmax(axis=1)
            alive[states[~valid.any(axis=1)]] = False
            moved, chosen = move[best], label[best]
            acted = alive[states]
            opens = acted & (moved == BEGIN)
            is_open[states[opens]] = True
            open_label[states[opens]] = chosen[opens]
            open_start[states[opens]] = t
            for state in states[acted & (moved == LAST)].tolist():
                found[state].append((int(open_start[state]), t + 1, int(open_label[state])))
                is_open[state] = False
            units = acted & (moved == UNIT)
            for state, unit_label in zip(states[units].tolist(), chosen[units].tolist(), strict=True):
                found[state].append((t, t + 1, unit_label))
        return found


@Language.factory(FACTORY, default_config={"source": "ner"})
def make_batched_ner(nlp: Language, name: str, source: str) -> BatchedNer:
    """The batched decoding of `nlp`'s component `source` (spaCy's factory signature)."""
    return BatchedNer(nlp.get_pipe(source))


def batch_ner_decoding(nlp: Language) -> bool:
    """Run `nlp`'s NER through `BatchedNer` (in its place; `ner` stays, disabled); True if it does."""
    if NAME in nlp.component_names:
        return NAME in nlp.pipe_names
    if "ner" not in nlp.pipe_names or not BatchedNer.supports(nlp.get_pipe("ner")):
        return False
    nlp.add_pipe(FACTORY, name=NAME, after="ner", config={"source": "ner"})
    nlp.disable_pipe("ner")
    return True
