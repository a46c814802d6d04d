"""Exact search: every vector in one float32 matrix, scored by BLAS. The ground truth."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from semkit.index.base import Space, VectorIndex, brute_force


class ExactIndex(VectorIndex):
    kind: ClassVar[str] = "exact"

    def __init__(self, dim: int, space: Space) -> None:
        super().__init__(dim, space)
        self._labels = np.zeros(0, dtype=np.int64)
        self._vectors = np.zeros((0, dim), dtype=np.float32)

    def add(self, labels: np.ndarray, vectors: np.ndarray) -> None:
        if len(labels) == 0:
            return
        labels = np.asarray(labels, dtype=np.int64)
        vectors = np.asarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        all_labels = np.concatenate([self._labels, labels])
        all_vectors = np.concatenate([self._vectors, vectors])
        if (len(self._labels) and labels.min() <= self._labels[-1]) or np.any(np.diff(labels) <= 0):
            order = np.argsort(all_labels, kind="stable")
            all_labels, all_vectors = all_labels[order], all_vectors[order]
            keep = np.ones(len(all_labels), dtype=bool)
            keep[:-1] = all_labels[:-1] != all_labels[1:]  # a re-added label: the newest wins
            all_labels, all_vectors = all_labels[keep], all_vectors[keep]
        self._labels, self._vectors = all_labels, np.ascontiguousarray(all_vectors)

    def remove(self, labels: np.ndarray) -> None:
        if len(labels) == 0 or len(self._labels) == 0:
            return
        keep = ~np.isin(self._labels, labels)
        if not keep.all():
            self._labels, self._vectors = self._labels[keep], self._vectors[keep]

    def labels(self) -> np.ndarray:
        return self._labels

    def _positions(self, labels: np.ndarray) -> np.ndarray:
        pos = np.searchsorted(self._labels, labels)
        pos = np.minimum(pos, max(len(self._labels) - 1, 0))
        return pos[self._labels[pos] == labels] if len(self._labels) else pos[:0]

    def vectors_of(self, labels: np.ndarray) -> np.ndarray:
        rows: np.ndarray = self._vectors[self._positions(np.asarray(labels, dtype=np.int64))]
        return rows

    def search(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None, ef: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        if allowed is None:
            return brute_force(queries, self._labels, self._vectors, k, self.space)
        pos = self._positions(np.asarray(allowed, dtype=np.int64))
        return brute_force(queries, self._labels[pos], self._vectors[pos], k, self.space)

    def exact_search(
        self, queries: np.ndarray, k: int, allowed: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        return self.search(queries, k, allowed)

    def __len__(self) -> int:
        return len(self._labels)
