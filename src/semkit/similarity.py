"""Similarity between vectors: cosine, dot, euclidean; top-k; analogies.

Every function takes a vector ``(d,)`` or a matrix ``(n, d)`` on each side and
returns a float for two vectors, or an ``(n, m)`` matrix otherwise. Inputs are
checked, never silently repaired: mismatched dimensions, empty input, NaN/inf,
and (for cosine) zero vectors are ``InputError``s.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from semkit.errors import InputError, SemkitError

Metric = Literal["cosine", "dot", "euclidean"]
METRICS: tuple[str, ...] = ("cosine", "dot", "euclidean")


def as_matrix(x: object, name: str = "vectors") -> np.ndarray:
    """``x`` as a finite, non-empty float32 matrix ``(n, d)``; a vector becomes ``(1, d)``."""
    try:
        with np.errstate(over="ignore"):  # beyond float32's range: infinity, refused below
            arr = np.asarray(x, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} is not a numeric array: {exc}") from exc
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise InputError(f"{name} must be a vector (d,) or a matrix (n, d), got shape {arr.shape}")
    if arr.shape[1] == 0:
        raise InputError(f"{name} has dimension 0")
    bad = ~np.isfinite(arr).all(axis=1)
    if bad.any():
        raise InputError(f"{name} row {int(np.argmax(bad))} contains NaN or infinity")
    return arr


def _pair(a: object, b: object) -> tuple[np.ndarray, np.ndarray, bool]:
    single = np.asarray(a).ndim == 1 and np.asarray(b).ndim == 1
    ma, mb = as_matrix(a, "a"), as_matrix(b, "b")
    if ma.shape[1] != mb.shape[1]:
        raise InputError(f"dimension mismatch: a has {ma.shape[1]} dimensions, b has {mb.shape[1]}")
    return ma, mb, single


def normalize_rows(
    matrix: np.ndarray, what: str = "vectors", error: type[SemkitError] = InputError
) -> np.ndarray:
    """Rows scaled to unit length; a zero row raises ``error`` (its direction is undefined)."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    zero = norms[:, 0] == 0
    if zero.any():
        raise error(
            f"{what} row {int(np.argmax(zero))} is a zero vector, which has no direction "
            f"(cosine similarity is undefined for it)"
        )
    unit: np.ndarray = matrix / norms
    return unit


def normalize(x: object, name: str = "vectors") -> np.ndarray:
    """``x`` as a checked matrix with rows scaled to unit length."""
    return normalize_rows(as_matrix(x, name), name)


def _result(scores: np.ndarray, single: bool) -> float | np.ndarray:
    return float(scores[0, 0]) if single else scores.astype(np.float32, copy=False)


def cosine(a: object, b: object) -> float | np.ndarray:
    """Cosine similarity in [-1, 1]."""
    ma, mb, single = _pair(a, b)
    return _result(np.clip(normalize(ma, "a") @ normalize(mb, "b").T, -1.0, 1.0), single)


def dot(a: object, b: object) -> float | np.ndarray:
    """Dot product (equals cosine for unit vectors)."""
    ma, mb, single = _pair(a, b)
    return _result(ma @ mb.T, single)


def euclidean(a: object, b: object) -> float | np.ndarray:
    """Euclidean distance (lower is closer)."""
    ma, mb, single = _pair(a, b)
    sq = (ma * ma).sum(1)[:, None] + (mb * mb).sum(1)[None, :] - 2.0 * (ma @ mb.T)
    return _result(np.sqrt(np.maximum(sq, 0.0)), single)


def score(a: object, b: object, metric: Metric = "cosine") -> float | np.ndarray:
    """Scores where higher is more similar: cosine, dot, or negative euclidean distance."""
    if metric == "cosine":
        return cosine(a, b)
    if metric == "dot":
        return dot(a, b)
    if metric == "euclidean":
        dist = euclidean(a, b)
        return -dist
    raise InputError(f"unknown metric {metric!r}; use one of {list(METRICS)}")


def top_k(
    query: object, corpus: object, k: int = 10, metric: Metric = "cosine"
) -> tuple[np.ndarray, np.ndarray]:
    """Indices and scores of the ``k`` most similar corpus rows, best first.

    A single query ``(d,)`` gives arrays ``(k,)``; a batch ``(q, d)`` gives ``(q, k)``.
    Ties keep corpus order. ``k`` larger than the corpus returns the whole corpus.
    """
    if k < 1:
        raise InputError(f"k must be at least 1, got {k}")
    single = np.asarray(query).ndim == 1
    scores = np.asarray(score(as_matrix(query, "query"), as_matrix(corpus, "corpus"), metric))
    idx, top = top_k_of_scores(scores, k)
    return (idx[0], top[0]) if single else (idx, top)


def top_k_of_scores(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise top-k of a score matrix ``(q, n)``, best first; ties keep index order.

    Exact and deterministic, also at the k-th place: of several items tied there,
    the ones with the lowest indices are kept.
    """
    n = scores.shape[1]
    k = min(k, n)
    if k < n:
        kth = -np.partition(-scores, k - 1, axis=1)[:, k - 1 : k]
        above = scores > kth
        tied = scores == kth
        room = k - above.sum(axis=1, keepdims=True)
        chosen = above | (tied & (np.cumsum(tied, axis=1, dtype=np.int32) <= room))
        part = np.nonzero(chosen)[1].reshape(scores.shape[0], k)
    else:
        part = np.broadcast_to(np.arange(n), scores.shape)
    part_scores = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -part_scores), axis=1)
    idx = np.take_along_axis(part, order, axis=1)
    return idx, np.take_along_axis(scores, idx, axis=1)


def analogy(
    a: object,
    b: object,
    c: object,
    candidates: object,
    k: int = 10,
    exclude: tuple[int, ...] | list[int] = (),
) -> list[tuple[int, float]]:
    """Candidates ranked for ``a - b + c`` (3CosAdd over unit vectors), best first.

    ``exclude`` lists candidate indices left out of the ranking (the input words
    themselves, as word-vector tools do). Returns ``(candidate index, cosine)``.
    """
    va, vb, vc = (normalize(v, n)[0] for v, n in ((a, "a"), (b, "b"), (c, "c")))
    cand = as_matrix(candidates, "candidates")
    if cand.shape[1] != va.shape[0]:
        raise InputError(
            f"dimension mismatch: inputs have {va.shape[0]} dimensions, candidates {cand.shape[1]}"
        )
    target = va - vb + vc
    if not np.any(target):
        raise InputError("a - b + c is the zero vector; no direction to rank by")
    scores = np.asarray(cosine(target[None, :], cand))[0]
    keep = np.ones(len(scores), dtype=bool)
    keep[list(exclude)] = False
    order = [int(i) for i in np.argsort(-scores, kind="stable") if keep[i]]
    return [(i, float(scores[i])) for i in order[:k]]
