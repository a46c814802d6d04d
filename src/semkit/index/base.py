"""The contract of a vector index over labelled vectors.

Labels are int64 chunk ids from the store. Scores follow semkit's rule: higher is
more similar (inner product for "ip", negative Euclidean distance for "l2").
Results are ``(labels, scores)`` of shape ``(q, k)``, best first, padded with
label -1 and score -inf when fewer than ``k`` vectors qualify.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar, Literal

import numpy as np

from semkit.similarity import top_k_of_scores

Space = Literal["ip", "l2"]
_SCORE_BLOCK = 32_000_000  # floats in one (queries x vectors) score block: ~128 MB


class VectorIndex(ABC):
    kind: ClassVar[str]

    def __init__(self, dim: int, space: Space) -> None:
        self.dim = dim
        self.space = space

    @abstractmethod
    def add(self, labels: np.ndarray, vectors: np.ndarray) -> None: ...

    @abstractmethod
    def remove(self, labels: np.ndarray) -> None: ...

    @abstractmethod
    def labels(self) -> np.ndarray:
        """Live labels, ascending."""

    @abstractmethod
    def vectors_of(self, labels: np.ndarray) -> np.ndarray:
        """The stored vectors of live ``labels`` (in that order)."""

    @abstractmethod
    def search(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None, ef: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` labels and scores per query; only ``allowed`` labels if given."""

    def exact_search(
        self, queries: np.ndarray, k: int, allowed: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Brute force over ``allowed`` live labels: exact, whatever the index kind."""
        return brute_force(queries, allowed, self.vectors_of(allowed), k, self.space)

    def __len__(self) -> int:
        return len(self.labels())


def brute_force(
    queries: np.ndarray, labels: np.ndarray, vectors: np.ndarray, k: int, space: Space
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k by BLAS matrix products, in blocks of queries to bound memory."""
    q = queries.shape[0]
    out_labels = np.full((q, k), -1, dtype=np.int64)
    out_scores = np.full((q, k), -np.inf, dtype=np.float32)
    if len(labels) == 0:
        return out_labels, out_scores
    sq_norms = (vectors * vectors).sum(1) if space == "l2" else None
    step = max(1, _SCORE_BLOCK // len(labels))
    for start in range(0, q, step):
        block = queries[start : start + step]
        scores = block @ vectors.T
        if sq_norms is not None:
            dist2 = (block * block).sum(1)[:, None] + sq_norms[None, :] - 2.0 * scores
            scores = -np.sqrt(np.maximum(dist2, 0.0))
        idx, top = top_k_of_scores(scores, k)
        n = idx.shape[1]
        out_labels[start : start + step, :n] = labels[idx]
        out_scores[start : start + step, :n] = top
    return out_labels, out_scores
