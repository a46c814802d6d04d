"""Runs from exact dense search, and the evaluators, on the tiny fixtures with the real model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from semkit import Embedder
from semkit.errors import InputError
from semkit.evaluate import (
    BeirDataset,
    Evaluator,
    RetrievalEvaluator,
    STSEvaluator,
    StsPairs,
    dense_exact_run,
    evaluate_sts,
    load_beir,
    load_sts,
)

DATA = Path(__file__).parents[1] / "data"


@pytest.fixture(scope="module")
def tiny() -> BeirDataset:
    return load_beir(DATA / "beir_tiny")


def test_dense_exact_run_is_exact_cosine_top_k(embedder: Embedder, tiny: BeirDataset) -> None:
    run = dense_exact_run(embedder, tiny, top_k=3)
    assert list(run) == list(tiny.queries)
    ids, texts = tiny.documents()
    docs = embedder.encode(texts, kind="document")
    for qid, hits in run.items():
        q = embedder.encode(tiny.queries[qid], kind="query")
        cos = docs @ q
        best = np.argsort(-cos, kind="stable")[:3]
        assert list(hits) == [ids[i] for i in best]  # best first
        assert list(hits.values()) == pytest.approx(cos[best].tolist(), abs=1e-6)
        assert all(type(s) is float for s in hits.values())
    assert next(iter(run["q1"])) == "d1"  # "Which pets purr?" -> cats
    assert next(iter(run["q2"])) == "d3"  # plants and sugar -> photosynthesis


def test_dense_exact_run_blocks_do_not_change_the_run(
    embedder: Embedder, tiny: BeirDataset
) -> None:
    whole = dense_exact_run(embedder, tiny, top_k=4)
    blocked = dense_exact_run(embedder, tiny, top_k=4, query_block=1, corpus_block=2)
    # Same documents in the same order; scores equal up to float32 rounding (BLAS blocks).
    assert [list(h) for h in blocked.values()] == [list(h) for h in whole.values()]
    for qid, hits in whole.items():
        assert list(blocked[qid].values()) == pytest.approx(list(hits.values()), abs=1e-6)
    # top_k beyond the corpus returns the whole corpus.
    assert all(len(h) == 5 for h in dense_exact_run(embedder, tiny, top_k=1000).values())


def test_dense_exact_run_ties_keep_corpus_order_across_blocks() -> None:
    same = "identical text about rivers"
    corpus = {
        f"d{i}": {"title": "", "text": same if i in (1, 2, 4, 5) else f"other topic {i}"}
        for i in range(7)
    }
    ds = BeirDataset(corpus, {"q": "rivers"}, {"q": {"d4": 1}})
    embedder = Embedder("hashing:64", cache=False)
    for corpus_block in (1, 2, 3, 50_000):
        run = dense_exact_run(embedder, ds, top_k=4, corpus_block=corpus_block)
        assert list(run["q"]) == ["d1", "d2", "d4", "d5"], corpus_block
        assert len(set(run["q"].values())) == 1


def test_dense_exact_run_bad_input(embedder: Embedder, tiny: BeirDataset) -> None:
    with pytest.raises(InputError, match="top_k must be at least 1"):
        dense_exact_run(embedder, tiny, top_k=0)
    with pytest.raises(InputError, match="query_block and corpus_block"):
        dense_exact_run(embedder, tiny, corpus_block=0)
    empty_doc = BeirDataset({"d1": {"title": " ", "text": ""}}, {"q": "x"}, {"q": {"d1": 1}})
    with pytest.raises(InputError, match="document 'd1' has no text"):
        dense_exact_run(embedder, empty_doc)


def test_retrieval_evaluator(embedder: Embedder, tiny: BeirDataset) -> None:
    evaluator = RetrievalEvaluator(tiny, k_values=(1, 3, 10))
    assert isinstance(evaluator, Evaluator)
    assert evaluator.name == "beir_tiny-test"
    assert evaluator.primary_metric == "ndcg_at_10" and evaluator.greater_is_better
    results = evaluator(embedder)
    assert set(results) == {
        f"{m}_at_{k}" for m in ("ndcg", "map", "recall", "precision", "mrr") for k in (1, 3, 10)
    }
    assert evaluator.last_run is not None and len(evaluator.last_run["q1"]) == 5  # top_k = max(k)
    assert all(0.0 <= v <= 1.0 for v in results.values())
    assert evaluator.primary_score(results) == results["ndcg_at_10"]
    assert results["recall_at_10"] == 1.0  # 5 documents: everything is retrieved
    assert results["mrr_at_10"] >= 0.5


def test_retrieval_evaluator_takes_any_search_function(tiny: BeirDataset) -> None:
    def oracle(embedder, dataset, top_k):
        return {q: {d: float(r) for d, r in dataset.qrels[q].items()} for q in dataset.queries}

    results = RetrievalEvaluator(tiny, search=oracle)(Embedder("hashing:8", cache=False))
    assert results["ndcg_at_10"] == pytest.approx(1.0)
    assert results["map_at_10"] == pytest.approx(1.0)


def test_evaluate_sts(embedder: Embedder) -> None:
    pairs = load_sts(DATA / "sts_tiny.tsv")
    scores = evaluate_sts(embedder, pairs)
    assert set(scores) == {"cosine_spearman", "cosine_pearson"}
    assert scores["cosine_spearman"] == pytest.approx(1.0)  # the ranking is obvious
    assert scores["cosine_pearson"] > 0.8
    evaluator = STSEvaluator(pairs)
    assert evaluator.primary_metric == "cosine_spearman" and evaluator.greater_is_better
    assert evaluator(embedder) == pytest.approx(scores)


def test_evaluate_sts_bad_pairs(embedder: Embedder) -> None:
    with pytest.raises(InputError, match="misaligned"):
        evaluate_sts(embedder, StsPairs(["a", "b"], ["c"], [1.0, 2.0]))
    with pytest.raises(InputError, match="constant"):
        evaluate_sts(embedder, StsPairs(["a cat", "a dog"], ["a car", "a bus"], [3.0, 3.0]))
