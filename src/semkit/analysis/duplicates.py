"""Near-duplicates: pairs of documents whose cosine similarity reaches a threshold, and
the groups they link (connected components: if a~b and b~c, then a, b, c are one group).

Pairs come from a k-NN self-join (``semkit.analysis.neighbors``), not from comparing
every pair in Python: each document's ``k`` nearest neighbours are searched, and a
document whose ``k``-th neighbour is still above the threshold is searched again, wider
(up to ``max_neighbors``), so no pair is lost to a small ``k``.

``mutual=True`` keeps only mutual best matches: a pair's cosine must be within
``mutual_margin`` of each document's closest match (margin 0: mutual nearest
neighbours). It pairs each text with its counterpart and drops the looser neighbours
around it, such as the other sentences a template headline ("The S&P 500 index rose 8
points ...") resembles. The price: in a group of paraphrases whose similarities spread by
more than the margin, a member that is nobody's best match is left out, so for collapsing
groups of copies the plain threshold is the tool. On the STS-B test self-join
(bench/analysis.py) it found 75% of the gold pairs where the plain threshold found 69%,
both reporting ~2.5x as many pairs as there are gold pairs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from semkit.analysis.corpus import Corpus
from semkit.analysis.neighbors import IndexKind, SelfIndex, as_corpus, unit_vectors
from semkit.errors import InputError

DEFAULT_THRESHOLD = 0.9
DEFAULT_K = 10
MAX_NEIGHBORS = 1000
# Mutual best matches within this cosine of each document's best: a group of near-copies
# (0.99 / 0.98 / 0.97) stays whole. On the STS-B dev split 0 and 0.01-0.03 scored alike.
MUTUAL_MARGIN = 0.02
TOLERANCE = 1e-6  # float32 cosine of identical texts can be 0.99999994


@dataclass(frozen=True, slots=True)
class DuplicatePair:
    id_a: str
    id_b: str
    score: float  # cosine similarity


@dataclass(frozen=True)
class Duplicates:
    """Pairs at or above ``threshold`` (most similar first; ``id_a`` is the earlier
    document) and the groups they form (largest first, members in corpus order)."""

    threshold: float
    pairs: list[DuplicatePair]
    groups: list[list[str]]
    documents: int
    index: str  # "exact" or "hnsw"
    incomplete: int = 0  # documents with more than max_neighbors duplicates: closest listed
    mutual: bool = False  # only mutual best matches (within mutual_margin) were kept
    mutual_margin: float = MUTUAL_MARGIN

    def group_of(self) -> dict[str, int]:
        """``{id: group number}`` for every document in a group."""
        return {doc_id: g for g, members in enumerate(self.groups) for doc_id in members}


def check_threshold(threshold: float) -> float:
    if not isinstance(threshold, int | float) or not 0.0 < float(threshold) <= 1.0:
        raise InputError(
            f"the duplicate threshold is a cosine similarity in (0, 1], got {threshold!r} "
            f"(0.9 finds near-copies, 0.8 close paraphrases)"
        )
    return float(threshold)


def find_duplicates(
    data: Corpus | Any,
    threshold: float = DEFAULT_THRESHOLD,
    *,
    k: int = DEFAULT_K,
    max_neighbors: int = MAX_NEIGHBORS,
    index: IndexKind = "auto",
    mutual: bool = False,
    mutual_margin: float = MUTUAL_MARGIN,
    show_progress_bar: bool | None = None,
) -> Duplicates:
    """Every pair of documents with cosine similarity >= ``threshold``, and their groups.

    ``data`` is a ``Corpus`` or a matrix of vectors (ids "0".."n-1"). ``k`` is the first
    search depth; ``index`` "auto" searches exactly up to 50,000 documents and through
    a FAISS HNSW graph above (which may miss a few pairs). ``mutual`` keeps only pairs
    whose cosine is within ``mutual_margin`` of both documents' closest match.
    """
    threshold = check_threshold(threshold)
    if not isinstance(k, int) or k < 1:
        raise InputError(f"k must be a positive integer, got {k!r}")
    if not isinstance(max_neighbors, int) or max_neighbors < k:
        raise InputError(f"max_neighbors must be an integer >= k ({k}), got {max_neighbors!r}")
    if not isinstance(mutual_margin, int | float) or not 0.0 <= float(mutual_margin) < 2.0:
        raise InputError(
            f"mutual_margin is a cosine difference in [0, 2), got {mutual_margin!r} "
            f"(0: mutual nearest neighbours only; {MUTUAL_MARGIN} keeps groups of near-copies)"
        )
    corpus = as_corpus(data)
    n = len(corpus)
    searcher = SelfIndex(unit_vectors(corpus), index)
    cut = threshold - TOLERANCE
    found_a: list[np.ndarray] = []
    found_b: list[np.ndarray] = []
    found_s: list[np.ndarray] = []
    rows: np.ndarray | None = None
    depth = min(k, max(n - 1, 1))
    incomplete = 0
    floor = np.full(n, cut, dtype=np.float32)  # the lowest score a pair of each row may have
    while True:
        nb = searcher.search(depth, rows, show_progress_bar, desc="Duplicates")
        queries = np.arange(n) if rows is None else rows
        if rows is None and mutual:
            floor = np.maximum(floor, nb.scores[:, 0] - float(mutual_margin) - TOLERANCE)
        hit = nb.scores >= floor[queries, None]
        qi, col = np.nonzero(hit)
        found_a.append(queries[qi])
        found_b.append(nb.rows[qi, col])
        found_s.append(nb.scores[qi, col])
        saturated = hit[:, -1]  # the deepest neighbour qualifies: there may be more
        if not saturated.any() or depth >= n - 1:
            break
        if depth >= max_neighbors:
            incomplete = int(saturated.sum())
            break
        rows, depth = queries[saturated], min(depth * 4, max_neighbors, n - 1)
    a, b, s = (np.concatenate(x) for x in (found_a, found_b, found_s))
    both = s >= floor[b]  # the pair also passes the other document's floor
    a, b, s = a[both], b[both], s[both]
    pairs_a, pairs_b, scores = _unique_pairs(a, b, s, n)
    return Duplicates(
        threshold,
        [
            DuplicatePair(corpus.ids[i], corpus.ids[j], float(v))
            for i, j, v in zip(pairs_a, pairs_b, scores, strict=True)
        ],
        [[corpus.ids[i] for i in g] for g in components(pairs_a, pairs_b, n)],
        n,
        searcher.kind,
        incomplete,
        mutual,
        float(mutual_margin),
    )


def _unique_pairs(
    a: np.ndarray, b: np.ndarray, s: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each unordered pair once (its best score), most similar first, ties by position."""
    lo, hi = np.minimum(a, b).astype(np.int64), np.maximum(a, b).astype(np.int64)
    key = lo * n + hi
    order = np.lexsort((-s, key))  # per key, the best score first
    key, s = key[order], s[order]
    first = np.ones(len(key), dtype=bool)
    first[1:] = key[1:] != key[:-1]
    key, s = key[first], s[first]
    lo, hi = key // n, key % n
    order = np.lexsort((hi, lo, -s))
    return lo[order], hi[order], s[order]


def components(
    a: Sequence[int] | np.ndarray, b: Sequence[int] | np.ndarray, n: int
) -> list[list[int]]:
    """Connected components of the pair graph with two or more members, largest first,
    each in ascending row order (ties between groups: the one with the earlier row first)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    if len(a) == 0:
        return []
    graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    sizes = np.bincount(label)
    rows = np.flatnonzero(sizes[label] >= 2)  # ascending
    groups: dict[int, list[int]] = {}
    for r in rows.tolist():
        groups.setdefault(int(label[r]), []).append(r)
    return sorted(groups.values(), key=lambda g: (-len(g), g[0]))
