"""spaCy's layers through numpy's BLAS (`engine.BlasOps`): the same products and analysis, one thread."""

from __future__ import annotations

import json
from itertools import product

import numpy
import pytest
from presidio_analyzer import AnalyzerEngine
from thinc.api import NumpyOps, get_current_ops
from threadpoolctl import threadpool_info

from gateway.redaction.analysis import one_blas_thread
from gateway.redaction.engine import SMALL_MODEL, BlasOps, create_nlp_engine
from gateway.settings import REPO_ROOT


@pytest.mark.parametrize(("trans1", "trans2"), list(product([False, True], repeat=2)))
def test_blas_ops_multiply_as_thincs_own_ops_do(trans1: bool, trans2: bool) -> None:
    rng = numpy.random.default_rng(11)
    x = rng.standard_normal((19, 37) if trans1 else (37, 19), dtype=numpy.float32)
    y = rng.standard_normal((23, 19) if trans2 else (19, 23), dtype=numpy.float32)
    expected = NumpyOps().gemm(x, y, trans1=trans1, trans2=trans2)
    got = BlasOps().gemm(x, y, trans1=trans1, trans2=trans2)
    assert got.shape == expected.shape == (37, 23) and got.dtype == numpy.float32
    numpy.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    out = numpy.empty((37, 23), dtype=numpy.float32)
    assert BlasOps().gemm(x, y, out=out, trans1=trans1, trans2=trans2) is out
    numpy.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_the_analyzer_runs_on_blas_ops_and_leaves_the_current_ops_alone(analyzer: AnalyzerEngine) -> None:
    nlp = analyzer.nlp_engine.nlp["en"]  # type: ignore[attr-defined]
    for name in ("tok2vec", "parser", "ner"):
        assert isinstance(nlp.get_pipe(name).model.ops, BlasOps), name
    assert not isinstance(get_current_ops(), BlasOps)


def test_blas_ops_read_the_corpus_as_thincs_own_ops_do() -> None:
    corpus = json.loads((REPO_ROOT / "tests/data/pii/synth_dataset_v2.json").read_text())
    texts = [sample["full_text"] for sample in corpus[:200]]

    def read(blas: bool) -> list[list[tuple[object, ...]]]:
        nlp = create_nlp_engine(SMALL_MODEL, blas=blas).nlp["en"]  # type: ignore[attr-defined]
        with one_blas_thread():
            docs = list(nlp.pipe(texts))
        return [[(t.ent_iob_, t.ent_type_, t.dep_, t.head.i, t.tag_) for t in doc] for doc in docs]

    assert read(blas=True) == read(blas=False)


def test_one_blas_thread_inside_the_block_and_the_limit_restored_after() -> None:
    numpy.ones((2, 2)) @ numpy.ones((2, 2))  # numpy's BLAS is loaded

    def threads() -> list[int]:
        return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]

    before = threads()
    assert before
    with one_blas_thread():
        assert set(threads()) == {1}
    assert threads() == before
