"""Evaluation metrics, defined as MTEB computes them, in plain Python and numpy.

Retrieval: a *run* ``{qid: {doc_id: score}}`` (higher is better) is scored against
*qrels* ``{qid: {doc_id: relevance}}``. nDCG@k, MAP@k, Recall@k and P@k reproduce
trec_eval (``ndcg_cut``, ``map_cut``, ``recall``, ``P`` via pytrec_eval, as MTEB calls
it); MRR@k reproduces MTEB's own function. Precisely:

- A document is relevant when its relevance is >= 1; relevance 0 (or negative) and
  unjudged documents count as non-relevant and add no gain.
- Ranking for nDCG/MAP/Recall/P: score descending, ties broken by document id in
  *descending* string order (trec_eval's rule). For MRR: score descending, ties kept in
  the run's insertion order (MTEB sorts the run dict with a stable sort).
- nDCG@k = DCG@k / IDCG@k with gain = relevance and discount 1/log2(rank + 1); the ideal
  ranking uses all judged relevances of the query; 0 when nothing is relevant.
- MAP@k = sum of precision at each relevant rank <= k, divided by *all* relevant
  documents of the query (not min(k, R)). Recall@k = relevant in top k / R
  (0 when R = 0). P@k = relevant in top k / k, even when fewer than k were retrieved.
  MRR@k = 1 / rank of the first relevant document within the top k, else 0.
- Averaged over the queries that are in both the run and the qrels; a judged query with
  an empty result list counts (with 0), a judged query absent from the run does not,
  and run queries without judgments are ignored. MTEB rounds to 5 decimals; we do not.

STS: Pearson and Spearman (average ranks for ties) correlation between model and gold.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from operator import itemgetter

import numpy as np

from semkit.errors import InputError

Run = Mapping[str, Mapping[str, float]]
Qrels = Mapping[str, Mapping[str, int]]

K_VALUES: tuple[int, ...] = (1, 3, 5, 10, 100, 1000)
MEASURES: tuple[str, ...] = ("ndcg", "map", "recall", "precision", "mrr")


def metric_name(measure: str, k: int) -> str:
    """MTEB's result key, e.g. ``ndcg_at_10``."""
    return f"{measure}_at_{k}"


def _check_k(k_values: Iterable[int]) -> list[int]:
    ks = sorted(set(k_values))
    if not ks or any(not isinstance(k, int) or isinstance(k, bool) or k < 1 for k in ks):
        raise InputError(f"k_values must be positive integers, got {list(k_values)!r}")
    return ks


def _relevances(qid: str, judged: Mapping[str, int]) -> dict[str, int]:
    out = {}
    for doc_id, rel in judged.items():
        try:
            value = int(rel)
        except (TypeError, ValueError):
            value = None
        if value is None or value != rel:
            raise InputError(f"qrels[{qid!r}][{doc_id!r}] = {rel!r} is not an integer relevance")
        out[doc_id] = value
    return out


def _ranked(qid: str, scores: Mapping[str, float]) -> tuple[list[str], list[str]]:
    """(trec_eval order, MTEB-MRR order) of one query's documents."""
    items = list(scores.items())
    for doc_id, s in items:
        if not isinstance(s, int | float | np.floating | np.integer) or not math.isfinite(s):
            raise InputError(f"run[{qid!r}][{doc_id!r}] = {s!r} is not a finite number")
    by_run_order = sorted(items, key=itemgetter(1), reverse=True)  # stable: ties keep run order
    by_id = sorted(items, key=itemgetter(0), reverse=True)
    by_id.sort(key=itemgetter(1), reverse=True)  # stable: ties keep descending id order
    return [d for d, _ in by_id], [d for d, _ in by_run_order]


def query_scores(
    scores: Mapping[str, float], judged: Mapping[str, int], k_values: Sequence[int], qid: str = ""
) -> dict[str, float]:
    """Every measure at every k for one query (see the module docstring)."""
    ks = _check_k(k_values)
    rels = _relevances(qid, judged)
    trec_order, mrr_order = _ranked(qid, scores)
    n_rel = sum(1 for r in rels.values() if r >= 1)
    ideal = sorted((r for r in rels.values() if r > 0), reverse=True)

    gains = [rels.get(d, 0) for d in trec_order[: ks[-1]]]
    discounts = 1.0 / np.log2(np.arange(2, max(len(gains), len(ideal), 1) + 2))
    out: dict[str, float] = {}
    for k in ks:
        top = gains[:k]
        hits = [i for i, g in enumerate(top) if g >= 1]
        dcg = float(sum(g * discounts[i] for i, g in enumerate(top) if g > 0))
        idcg = float(sum(g * discounts[i] for i, g in enumerate(ideal[:k])))
        ap = sum((j + 1) / (i + 1) for j, i in enumerate(hits))
        out[metric_name("ndcg", k)] = dcg / idcg if idcg > 0 else 0.0
        out[metric_name("map", k)] = ap / n_rel if n_rel else 0.0
        out[metric_name("recall", k)] = len(hits) / n_rel if n_rel else 0.0
        out[metric_name("precision", k)] = len(hits) / k
    first = next((i for i, d in enumerate(mrr_order) if rels.get(d, 0) > 0), None)
    for k in ks:
        out[metric_name("mrr", k)] = 1.0 / (first + 1) if first is not None and first < k else 0.0
    return out


def retrieval_scores_per_query(
    run: Run, qrels: Qrels, k_values: Sequence[int] = K_VALUES
) -> dict[str, dict[str, float]]:
    """``{qid: {metric: value}}`` for every query in both the run and the qrels."""
    ks = _check_k(k_values)
    evaluated = [qid for qid in run if qid in qrels]
    if not evaluated:
        raise InputError(
            f"no query of the run ({len(run)} queries) has relevance judgments "
            f"({len(qrels)} judged queries); check that the query ids match"
        )
    return {qid: query_scores(run[qid], qrels[qid], ks, qid) for qid in evaluated}


def retrieval_scores(
    run: Run, qrels: Qrels, k_values: Sequence[int] = K_VALUES
) -> dict[str, float]:
    """Mean nDCG/MAP/Recall/P/MRR at each k, keyed like MTEB (``ndcg_at_10``, ...)."""
    per_query = retrieval_scores_per_query(run, qrels, k_values)
    names = [metric_name(m, k) for m in MEASURES for k in _check_k(k_values)]
    n = len(per_query)
    return {name: math.fsum(q[name] for q in per_query.values()) / n for name in names}


# --- correlations ----------------------------------------------------------------------------
def _pair(x: object, y: object) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(x, dtype=np.float64).ravel()
    b = np.asarray(y, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise InputError(f"correlation needs equal lengths, got {a.size} and {b.size}")
    if a.size < 2:
        raise InputError(f"correlation needs at least 2 values, got {a.size}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise InputError("correlation inputs contain NaN or infinity")
    for v, name in ((a, "first"), (b, "second")):
        if np.all(v == v[0]):
            raise InputError(f"the {name} input is constant; correlation is undefined")
    return a, b


def pearson(x: object, y: object) -> float:
    """Pearson correlation coefficient of two equal-length sequences."""
    from scipy.stats import pearsonr

    a, b = _pair(x, y)
    return float(pearsonr(a, b).statistic)


def spearman(x: object, y: object) -> float:
    """Spearman rank correlation (tied values get their average rank)."""
    from scipy.stats import spearmanr

    a, b = _pair(x, y)
    return float(spearmanr(a, b).statistic)


__all__ = [
    "K_VALUES",
    "MEASURES",
    "Qrels",
    "Run",
    "metric_name",
    "pearson",
    "query_scores",
    "retrieval_scores",
    "retrieval_scores_per_query",
    "spearman",
]
