"""Retrieval metrics against pytrec_eval (what MTEB calls) and by hand; STS correlations.

pytrec_eval is a test-only dependency (``pip install pytrec_eval-terrier``); semkit
itself computes the metrics without it.
"""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import pytrec_eval  # the reference implementation (a test dependency, as MTEB uses it)

from semkit.errors import InputError
from semkit.evaluate import evaluate_retrieval, pearson, retrieval_scores, spearman
from semkit.evaluate.metrics import query_scores, retrieval_scores_per_query

KS = (1, 2, 3, 5, 10, 20)
TREC = {"ndcg": "ndcg_cut", "map": "map_cut", "recall": "recall", "precision": "P"}


def trec_eval(run: dict, qrels: dict, ks=KS) -> dict[str, dict[str, float]]:
    """Per-query scores from pytrec_eval, renamed to semkit's keys."""
    cut = ",".join(map(str, ks))
    evaluator = pytrec_eval.RelevanceEvaluator(qrels, {f"{m}.{cut}" for m in TREC.values()})
    return {
        qid: {
            f"{ours}_at_{k}": scores[f"{theirs}_{k}"]
            for ours in TREC
            for theirs in [TREC[ours]]
            for k in ks
        }
        for qid, scores in evaluator.evaluate(run).items()
    }


def mteb_mrr(run: dict, qrels: dict, k: int) -> dict[str, float]:
    """MRR@k as MTEB defines it: stable sort by score, first doc with relevance > 0."""
    out = {}
    for qid, docs in run.items():
        if qid not in qrels:
            continue
        ranked = sorted(docs, key=lambda d: docs[d], reverse=True)[:k]
        ranks = [r for r, d in enumerate(ranked, 1) if qrels[qid].get(d, 0) > 0]
        out[qid] = 1 / ranks[0] if ranks else 0.0
    return out


def random_case(rng: random.Random, n_queries: int = 40, n_docs: int = 60):
    """Graded qrels (-1..3, many zeros), runs with ties, empty and missing queries."""
    docs = [f"d{i}" for i in range(n_docs)] + ["D", "é", "z", "10", "9"]
    qrels: dict[str, dict[str, int]] = {}
    run: dict[str, dict[str, float]] = {}
    for q in range(n_queries):
        qid = f"q{q}"
        judged = rng.sample(docs, rng.randint(1, 12))
        qrels[qid] = {d: rng.choice([-1, 0, 0, 1, 1, 2, 3]) for d in judged}
        shape = rng.random()
        if shape < 0.1:
            run[qid] = {}  # judged query, nothing retrieved
        elif shape < 0.15:
            continue  # judged query missing from the run
        else:
            retrieved = rng.sample(docs, rng.randint(1, 40))
            coarse = rng.random() < 0.5  # few distinct scores: many ties
            run[qid] = {
                d: (rng.randint(0, 4) / 4 if coarse else rng.uniform(-1, 1)) for d in retrieved
            }
    run["unjudged"] = {"d1": 1.0}  # ignored: no relevance judgments
    return run, qrels


@pytest.mark.parametrize("seed", range(25))
def test_matches_pytrec_eval_on_random_runs(seed: int) -> None:
    run, qrels = random_case(random.Random(seed))
    expected = trec_eval(run, qrels)
    ours = retrieval_scores_per_query(run, qrels, KS)
    assert set(ours) == set(expected)  # same queries evaluated
    for qid, scores in expected.items():
        for name, value in scores.items():
            assert ours[qid][name] == pytest.approx(value, abs=1e-12), (qid, name)
    for k in KS:
        mrr = mteb_mrr(run, qrels, k)
        assert {q: s[f"mrr_at_{k}"] for q, s in ours.items()} == pytest.approx(mrr)

    means = retrieval_scores(run, qrels, KS)
    for name in next(iter(expected.values())):
        assert means[name] == pytest.approx(np.mean([s[name] for s in expected.values()]))
    assert len(means) == 5 * len(KS)


def test_mrr_without_ties_equals_trec_reciprocal_rank() -> None:
    rng = random.Random(7)
    run, qrels = random_case(rng)
    run = {q: {d: rng.random() for d in docs} for q, docs in run.items()}  # distinct scores
    expected = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(run)
    ours = retrieval_scores_per_query(run, qrels, (1000,))
    for qid in expected:
        assert ours[qid]["mrr_at_1000"] == pytest.approx(expected[qid]["recip_rank"])


def test_hand_computed_case() -> None:
    # Ranking for trec measures: c(0.9) then the 0.5-ties by descending id: d, b, a.
    qrels = {"q": {"a": 1, "b": 2, "c": 0, "e": 1}}
    run = {"q": {"a": 0.5, "b": 0.5, "c": 0.9, "d": 0.5}}
    s = retrieval_scores(run, qrels, (1, 3, 10))
    # 3 relevant documents (a, b, e); c is judged non-relevant.
    assert s["precision_at_1"] == 0.0
    assert s["precision_at_3"] == pytest.approx(1 / 3)  # b at rank 3
    assert s["precision_at_10"] == pytest.approx(2 / 10)  # 4 retrieved, still / 10
    assert s["recall_at_3"] == pytest.approx(1 / 3)
    assert s["recall_at_10"] == pytest.approx(2 / 3)
    assert s["map_at_3"] == pytest.approx((1 / 3) / 3)
    assert s["map_at_10"] == pytest.approx((1 / 3 + 2 / 4) / 3)  # divided by R=3, not hits
    idcg3 = 2 + 1 / math.log2(3) + 1 / math.log2(4)
    assert s["ndcg_at_3"] == pytest.approx((2 / math.log2(4)) / idcg3)
    assert s["ndcg_at_10"] == pytest.approx((2 / math.log2(4) + 1 / math.log2(5)) / idcg3)
    assert s["ndcg_at_1"] == 0.0
    # MRR: ties keep run order (a, b, d): first relevant is a, at rank 2.
    assert s["mrr_at_1"] == 0.0
    assert s["mrr_at_3"] == pytest.approx(1 / 2)
    assert s["mrr_at_10"] == pytest.approx(1 / 2)


def test_averaging_over_queries() -> None:
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}, "q3": {"c": 1}, "q4": {"x": 0}}
    run = {
        "q1": {"a": 1.0, "z": 0.5},  # perfect
        "q2": {},  # judged, empty: counts as 0
        "q4": {"x": 1.0},  # nothing relevant: counts as 0
        "other": {"a": 1.0},  # not judged: ignored
    }  # q3 is judged but absent: ignored, like pytrec_eval and MTEB
    s = retrieval_scores(run, qrels, (1, 10))
    for name in ("ndcg_at_10", "map_at_10", "recall_at_1", "mrr_at_10", "precision_at_1"):
        assert s[name] == pytest.approx(1 / 3), name
    assert s["precision_at_10"] == pytest.approx(0.1 / 3)


def test_relevance_levels() -> None:
    # Negative and zero relevance: not relevant and no gain; gain is the relevance itself.
    s = query_scores({"n": 3.0, "z": 2.0, "g": 1.0}, {"n": -1, "z": 0, "g": 3, "h": 1}, (3,))
    assert s["recall_at_3"] == pytest.approx(1 / 2)
    assert s["ndcg_at_3"] == pytest.approx((3 / math.log2(4)) / (3 + 1 / math.log2(3)))
    assert s["mrr_at_3"] == pytest.approx(1 / 3)


def test_ignore_identical_ids() -> None:
    qrels = {"q1": {"a": 1}}
    run = {"q1": {"q1": 1.0, "a": 0.5}}
    assert evaluate_retrieval(run, qrels, (1,))["ndcg_at_1"] == 0.0
    assert evaluate_retrieval(run, qrels, (1,), ignore_identical_ids=True)["ndcg_at_1"] == 1.0
    assert "q1" in run["q1"]  # the caller's run is not modified


def test_numpy_scores_and_integral_relevance() -> None:
    run = {"q": {"a": np.float32(0.25), "b": np.float64(0.75)}}
    s = retrieval_scores(run, {"q": {"a": np.int64(1), "b": 1.0}}, (1,))
    assert s["precision_at_1"] == 1.0


@pytest.mark.parametrize(
    ("run", "qrels", "k_values", "message"),
    [
        ({"q": {"a": 1.0}}, {"other": {"a": 1}}, (1,), "no query of the run"),
        ({}, {"q": {"a": 1}}, (1,), "no query of the run"),
        ({"q": {"a": float("nan")}}, {"q": {"a": 1}}, (1,), r"run\['q'\]\['a'\].*finite"),
        ({"q": {"a": "high"}}, {"q": {"a": 1}}, (1,), "not a finite number"),
        ({"q": {"a": 1.0}}, {"q": {"a": 0.5}}, (1,), "not an integer relevance"),
        ({"q": {"a": 1.0}}, {"q": {"a": "1"}}, (1,), "not an integer relevance"),
        ({"q": {"a": 1.0}}, {"q": {"a": 1}}, (0,), "k_values must be positive"),
        ({"q": {"a": 1.0}}, {"q": {"a": 1}}, (), "k_values must be positive"),
    ],
)
def test_bad_input(run, qrels, k_values, message) -> None:
    with pytest.raises(InputError, match=message):
        retrieval_scores(run, qrels, k_values)


# --- correlations ----------------------------------------------------------------------------
def test_correlations_match_scipy_and_hand_values() -> None:
    from scipy import stats

    rng = np.random.default_rng(0)
    x = rng.normal(size=50)
    y = np.round(x + rng.normal(size=50), 1)  # ties in y
    assert pearson(x, y) == pytest.approx(stats.pearsonr(x, y).statistic)
    assert spearman(x, y) == pytest.approx(stats.spearmanr(x, y).statistic)
    assert spearman([1, 2, 3, 4], [10, 20, 30, 1000]) == pytest.approx(1.0)
    assert pearson([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    # Average ranks for ties: ranks (1.5, 1.5, 3) vs (1, 2, 3).
    assert spearman([1, 1, 2], [1, 2, 3]) == pytest.approx(
        np.corrcoef([1.5, 1.5, 3], [1, 2, 3])[0, 1]
    )


@pytest.mark.parametrize(
    ("x", "y", "message"),
    [
        ([1, 2], [1, 2, 3], "equal lengths"),
        ([1], [1], "at least 2"),
        ([1, 1, 1], [1, 2, 3], "first input is constant"),
        ([1, 2, 3], [2, 2, 2], "second input is constant"),
        ([1, np.nan], [1, 2], "NaN"),
    ],
)
def test_correlation_bad_input(x, y, message) -> None:
    with pytest.raises(InputError, match=message):
        spearman(x, y)
    with pytest.raises(InputError, match=message):
        pearson(x, y)
