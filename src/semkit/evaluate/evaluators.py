"""Evaluators: one dataset, one call with an embedder, a dict of named scores.

In the spirit of sentence-transformers' evaluators: each declares ``primary_metric``
(the key of its headline number) and ``greater_is_better``; calling it with an
``Embedder`` returns ``{metric: float}``. The functional forms are
``evaluate_retrieval(run, qrels)`` (metrics only, for a run from any backend) and
``evaluate_sts(embedder, pairs)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from semkit.embedding.embedder import Embedder, Kind
from semkit.errors import InputError
from semkit.evaluate.datasets import BeirDataset, StsPairs
from semkit.evaluate.metrics import K_VALUES, Qrels, Run, pearson, retrieval_scores, spearman
from semkit.evaluate.search import SearchFunction, dense_exact_run
from semkit.similarity import normalize


def evaluate_retrieval(
    run: Run,
    qrels: Qrels,
    k_values: Sequence[int] = K_VALUES,
    *,
    ignore_identical_ids: bool = False,
) -> dict[str, float]:
    """MTEB's retrieval scores of ``run`` against ``qrels`` (see ``semkit.evaluate.metrics``).

    ``ignore_identical_ids`` drops a document whose id equals the query id from that
    query's results first (MTEB does this for datasets such as ArguAna and Quora).
    """
    if ignore_identical_ids:
        run = {qid: {d: s for d, s in docs.items() if d != qid} for qid, docs in run.items()}
    return retrieval_scores(run, qrels, k_values)


def evaluate_sts(
    embedder: Embedder,
    pairs: StsPairs,
    *,
    kind: Kind = "document",
    batch_size: int | None = None,
) -> dict[str, float]:
    """Pearson and Spearman correlation of the pairs' cosine similarity with the gold scores.

    Both sides are embedded with ``kind`` (the same prompt), each distinct sentence once.
    Returns ``cosine_spearman`` (MTEB's main STS score) and ``cosine_pearson``.
    """
    n = len(pairs)
    if not (len(pairs.sentences1) == len(pairs.sentences2) == n):
        raise InputError(
            f"STS pairs are misaligned: {len(pairs.sentences1)} first sentences, "
            f"{len(pairs.sentences2)} second sentences, {n} scores"
        )
    vectors = embedder.encode(
        [*pairs.sentences1, *pairs.sentences2], kind=kind, batch_size=batch_size
    )
    a = normalize(vectors[:n], "sentences1").astype(np.float64)
    b = normalize(vectors[n:], "sentences2").astype(np.float64)
    cosine = np.einsum("ij,ij->i", a, b)
    return {
        "cosine_spearman": spearman(cosine, pairs.scores),
        "cosine_pearson": pearson(cosine, pairs.scores),
    }


class Evaluator:
    """Base of all evaluators: ``evaluator(embedder) -> {metric: value}``."""

    name: str = ""
    primary_metric: str = ""
    greater_is_better: bool = True

    def __call__(self, embedder: Embedder) -> dict[str, float]:
        raise NotImplementedError

    def primary_score(self, results: dict[str, float]) -> float:
        """The headline number of ``results`` (a dict this evaluator returned)."""
        return results[self.primary_metric]


@dataclass
class RetrievalEvaluator(Evaluator):
    """Retrieval on a BEIR split: ``search`` produces a run, MTEB's metrics score it.

    ``search(embedder, dataset, top_k)`` defaults to exact dense search; a collection
    backend plugs in here. Primary metric: ``ndcg_at_10`` (MTEB's main score).
    """

    dataset: BeirDataset
    k_values: Sequence[int] = K_VALUES
    top_k: int | None = None
    search: SearchFunction = dense_exact_run
    ignore_identical_ids: bool = False
    primary_metric: str = "ndcg_at_10"
    greater_is_better: bool = True
    name: str = field(default="")
    last_run: Run | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.name = self.name or f"{self.dataset.name or 'beir'}-{self.dataset.split}"

    def __call__(self, embedder: Embedder) -> dict[str, float]:
        top_k = self.top_k or max(self.k_values)
        self.last_run = self.search(embedder, self.dataset, top_k)
        return evaluate_retrieval(
            self.last_run,
            self.dataset.qrels,
            self.k_values,
            ignore_identical_ids=self.ignore_identical_ids,
        )


@dataclass
class STSEvaluator(Evaluator):
    """Semantic textual similarity: Spearman of cosine vs gold is the primary metric."""

    pairs: StsPairs
    kind: Kind = "document"
    primary_metric: str = "cosine_spearman"
    greater_is_better: bool = True
    name: str = "sts"

    def __call__(self, embedder: Embedder) -> dict[str, float]:
        return evaluate_sts(embedder, self.pairs, kind=self.kind)


__all__ = [
    "Evaluator",
    "RetrievalEvaluator",
    "STSEvaluator",
    "evaluate_retrieval",
    "evaluate_sts",
]
