"""Each document's nearest neighbours among the others: the k-NN self-join under
duplicates and outliers.

Similarity is cosine: vectors are scaled to unit length and searched by inner product.
Up to ``EXACT_MAX`` documents the search is exact (FAISS ``IndexFlatIP``: BLAS over
blocks of queries, deterministic); above, a FAISS HNSW graph is built for the run
(approximate, and not bit-for-bit repeatable because the graph is built on all cores).
A document is never its own neighbour, even when exact copies tie with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from semkit.analysis.corpus import Corpus
from semkit.errors import InputError
from semkit.similarity import as_matrix, normalize_rows

IndexKind = Literal["auto", "exact", "hnsw"]
INDEX_KINDS = ("auto", "exact", "hnsw")
# As collections choose. At 100k vectors here, exact took 70-244 s and HNSW 56-95 s
# (bench/analysis.py; the range is other jobs' load); exact grows with n², HNSW ~n log n.
EXACT_MAX = 50_000
BLOCK = 2048  # queries per search call: the unit of progress
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 64


def as_corpus(data: Corpus | Any) -> Corpus:
    """A ``Corpus`` as is; a matrix of vectors as a corpus with ids "0".."n-1" and no texts."""
    if isinstance(data, Corpus):
        return data
    matrix = as_matrix(data, "vectors")
    n = len(matrix)
    return Corpus([str(i) for i in range(n)], [None] * n, matrix, normalized=False)


def unit_vectors(corpus: Corpus) -> np.ndarray:
    """The corpus's vectors as a C-contiguous float32 matrix of unit rows."""
    matrix = as_matrix(corpus.vectors, "corpus vectors")
    if not corpus.normalized:
        matrix = normalize_rows(matrix, "corpus vectors")
    return np.ascontiguousarray(matrix, dtype=np.float32)


def _faiss() -> Any:
    import faiss

    return faiss


@dataclass(frozen=True)
class Neighbors:
    """``rows[i]`` are the row numbers of document ``i``'s neighbours, most similar first,
    ``scores[i]`` their cosine similarities; padded with -1 / -inf past the corpus size."""

    rows: np.ndarray  # (q, k) int64
    scores: np.ndarray  # (q, k) float32


class SelfIndex:
    """The corpus's unit vectors in a FAISS index, searched with its own rows as queries."""

    def __init__(self, vectors: np.ndarray, index: IndexKind = "auto") -> None:
        if index not in INDEX_KINDS:
            raise InputError(f"unknown index {index!r}; use one of {list(INDEX_KINDS)}")
        faiss = _faiss()
        self.vectors = vectors
        n, dim = vectors.shape
        self.kind = "exact" if index == "exact" or (index == "auto" and n <= EXACT_MAX) else "hnsw"
        if self.kind == "exact":
            self._index = faiss.IndexFlatIP(dim)
        else:
            self._index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            self._index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        self._index.add(vectors)

    def __len__(self) -> int:
        return len(self.vectors)

    def search(
        self,
        k: int,
        rows: np.ndarray | None = None,
        show_progress_bar: bool | None = None,
        desc: str = "Neighbours",
    ) -> Neighbors:
        """The ``k`` nearest other documents of ``rows`` (default: every document)."""
        if not isinstance(k, int | np.integer) or k < 1:
            raise InputError(f"the number of neighbours must be a positive integer, got {k!r}")
        from tqdm.auto import tqdm

        n = len(self.vectors)
        queries = np.arange(n, dtype=np.int64) if rows is None else np.asarray(rows, np.int64)
        depth = min(k + 1, n)  # one more: the document itself is among its own results
        if self.kind == "hnsw":
            self._index.hnsw.efSearch = max(HNSW_EF_SEARCH, 2 * depth)
        out_rows = np.full((len(queries), k), -1, dtype=np.int64)
        out_scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
        with tqdm(
            total=len(queries), desc=desc, unit="doc", disable=not show_progress_bar, leave=False
        ) as bar:
            for start in range(0, len(queries), BLOCK):
                q = queries[start : start + BLOCK]
                scores, labels = self._index.search(self.vectors[q], depth)
                if self.kind == "hnsw" and (labels < 0).any():
                    scores, labels = self._fill_short(q, labels, scores, depth)
                found, found_scores = _without_self(q, labels, scores, k)
                out_rows[start : start + len(q), : found.shape[1]] = found
                out_scores[start : start + len(q), : found.shape[1]] = found_scores
                bar.update(len(q))
        return Neighbors(out_rows, out_scores)

    def _fill_short(
        self, q: np.ndarray, labels: np.ndarray, scores: np.ndarray, depth: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Rows the graph returned too few results for (rare): search them exactly."""
        from semkit.similarity import top_k_of_scores

        short = np.flatnonzero((labels < 0).any(axis=1))
        idx, top = top_k_of_scores(self.vectors[q[short]] @ self.vectors.T, depth)
        labels, scores = labels.copy(), scores.copy()
        labels[short], scores[short] = idx, top
        return scores, labels


def _without_self(
    queries: np.ndarray, labels: np.ndarray, scores: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Drop each query's own row (wherever ties put it, or the last column if absent)."""
    is_self = labels == queries[:, None]
    drop_last = ~is_self.any(axis=1)
    is_self[drop_last, -1] = True
    keep = np.argsort(is_self, axis=1, kind="stable")[:, : labels.shape[1] - 1]
    found = np.take_along_axis(labels, keep, axis=1)[:, :k]
    found_scores = np.take_along_axis(scores, keep, axis=1)[:, :k].astype(np.float32)
    found_scores[found < 0] = -np.inf
    return found, found_scores
