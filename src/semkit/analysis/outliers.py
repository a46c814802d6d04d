"""Outliers: how unlike the rest of the corpus each document is.

Two scores, higher = more anomalous, both built on the k-NN self-join of
``semkit.analysis.neighbors``:

- ``knn`` (default): the mean cosine distance (1 - cosine) to the ``k`` nearest other
  documents. A text far from everything scores high; simple and hard to fool.
- ``lof``: scikit-learn's Local Outlier Factor over the same neighbour graph (cosine
  distance): density relative to the neighbours' densities, ~1 for inliers. It also
  catches a document on the edge of a dense cluster, but small groups of similar
  outliers shield each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from semkit.analysis.corpus import Corpus
from semkit.analysis.neighbors import IndexKind, SelfIndex, as_corpus, unit_vectors
from semkit.errors import InputError
from semkit.extras import require

Method = Literal["knn", "lof"]
METHODS = ("knn", "lof")
DEFAULT_K = 10


@dataclass(frozen=True, slots=True)
class Outlier:
    rank: int  # 1 = the most anomalous
    id: str
    score: float


@dataclass(frozen=True)
class OutlierScores:
    """``scores[i]`` is document ``ids[i]``'s anomaly score (higher = more anomalous)."""

    method: str
    k: int
    ids: list[str]
    scores: np.ndarray  # (n,) float32

    def top(self, n: int = 20) -> list[Outlier]:
        """The ``n`` most anomalous documents, most anomalous first (ties: corpus order)."""
        if not isinstance(n, int) or n < 1:
            raise InputError(f"top must be a positive integer, got {n!r}")
        order = np.argsort(-self.scores, kind="stable")[:n]
        return [Outlier(r + 1, self.ids[i], float(self.scores[i])) for r, i in enumerate(order)]


def outlier_scores(
    data: Corpus | Any,
    method: Method = "knn",
    *,
    k: int = DEFAULT_K,
    index: IndexKind = "auto",
    show_progress_bar: bool | None = None,
) -> OutlierScores:
    """An anomaly score for every document of ``data`` (a ``Corpus`` or a vector matrix)."""
    if method not in METHODS:
        raise InputError(f"unknown outlier method {method!r}; use one of {list(METHODS)}")
    if not isinstance(k, int) or k < 1:
        raise InputError(f"k must be a positive integer, got {k!r}")
    corpus = as_corpus(data)
    n = len(corpus)
    if n < 3:
        raise InputError(f"outliers need at least 3 documents, got {n}")
    k = min(k, n - 1)
    nb = SelfIndex(unit_vectors(corpus), index).search(
        k, show_progress_bar=show_progress_bar, desc="Outliers"
    )
    distances = np.clip(1.0 - nb.scores, 0.0, 2.0)  # (n, k), nearest first
    scores = distances.mean(axis=1) if method == "knn" else _lof(nb.rows, distances, k)
    return OutlierScores(method, k, list(corpus.ids), scores.astype(np.float32))


def _lof(rows: np.ndarray, distances: np.ndarray, k: int) -> np.ndarray:
    """Local Outlier Factor on the precomputed neighbour graph (each row lists itself at
    distance 0 first, as scikit-learn's KNeighborsTransformer does)."""
    require("sklearn", "analysis", "Local Outlier Factor")
    from scipy.sparse import csr_matrix
    from sklearn.neighbors import LocalOutlierFactor

    n = len(rows)
    graph_rows = np.concatenate([np.arange(n)[:, None], rows], axis=1)
    graph_dist = np.concatenate([np.zeros((n, 1), np.float64), distances], axis=1)
    width = graph_rows.shape[1]
    graph = csr_matrix(
        (graph_dist.ravel(), graph_rows.ravel(), np.arange(n + 1) * width), shape=(n, n)
    )
    lof = LocalOutlierFactor(n_neighbors=k, metric="precomputed").fit(graph)
    return -lof.negative_outlier_factor_
