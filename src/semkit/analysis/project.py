"""2-D maps of embeddings: UMAP (umap-learn), t-SNE and PCA (scikit-learn).

Every method works on cosine geometry (UMAP and t-SNE with ``metric="cosine"``; PCA on
unit vectors, where Euclidean distance orders pairs as cosine does) and is seeded, so
the same vectors and seed give the same coordinates on the same machine. UMAP's first
call in a process compiles its kernels (numba: ~20 s here); later calls are fast.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from semkit.errors import InputError
from semkit.extras import require
from semkit.similarity import as_matrix, normalize_rows

PROJECTIONS = ("umap", "tsne", "pca")
MIN_POINTS = {"umap": 4, "tsne": 4, "pca": 2}


@dataclass(frozen=True, slots=True)
class Projection:
    """``coords[i]`` is document ``i`` on the map (float32 ``(n, 2)``)."""

    coords: np.ndarray
    method: str
    seed: int
    params: dict[str, Any] = field(default_factory=dict)


def project(
    vectors: Any,
    method: str = "umap",
    *,
    seed: int = 0,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    perplexity: float = 30.0,
) -> Projection:
    """Project ``vectors`` to 2-D. ``n_neighbors``/``min_dist`` tune UMAP (small neighbourhoods
    keep local detail), ``perplexity`` t-SNE; both are capped to what the data allows."""
    if method not in PROJECTIONS:
        raise InputError(f"unknown projection {method!r}; use one of {', '.join(PROJECTIONS)}")
    x = normalize_rows(as_matrix(vectors, "vectors")).astype(np.float32)
    n = len(x)
    if n < MIN_POINTS[method]:
        raise InputError(f"a {method} map needs at least {MIN_POINTS[method]} documents, got {n}")
    if method == "pca":
        coords, params = _pca(x, seed)
    elif method == "tsne":
        coords, params = _tsne(x, seed, perplexity)
    else:
        coords, params = _umap(x, seed, n_neighbors, min_dist)
    coords = np.asarray(coords, dtype=np.float32)
    if not np.isfinite(coords).all():
        raise InputError(f"the {method} projection produced non-finite coordinates")
    return Projection(coords, method, seed, params)


def _pca(x: np.ndarray, seed: int) -> tuple[np.ndarray, dict[str, Any]]:
    require("sklearn", "analysis", "a PCA map")
    from sklearn.decomposition import PCA

    pca = PCA(n_components=2, svd_solver="full", random_state=seed)
    coords = pca.fit_transform(x.astype(np.float64))
    if x.shape[1] < 2 or len(x) < 3:  # one component only: put the points on a line
        coords = np.column_stack([coords[:, 0], np.zeros(len(x))])
    return coords, {"explained_variance": [float(v) for v in pca.explained_variance_ratio_]}


def _tsne(x: np.ndarray, seed: int, perplexity: float) -> tuple[np.ndarray, dict[str, Any]]:
    require("sklearn", "analysis", "a t-SNE map")
    from sklearn.manifold import TSNE

    perplexity = float(min(perplexity, max(1.0, (len(x) - 1) / 3)))
    tsne = TSNE(
        n_components=2, metric="cosine", perplexity=perplexity, init="pca", random_state=seed
    )
    return tsne.fit_transform(x), {"perplexity": perplexity}


def _umap(
    x: np.ndarray, seed: int, n_neighbors: int, min_dist: float
) -> tuple[np.ndarray, dict[str, Any]]:
    n_neighbors = int(max(2, min(n_neighbors, len(x) - 1)))
    with warnings.catch_warnings():
        # umap-learn warns on import (no TensorFlow for ParametricUMAP) and about seeded
        # runs being single-threaded; neither is the user's concern.
        warnings.simplefilter("ignore")
        umap = require("umap", "analysis", "a UMAP map")

        reducer = umap.UMAP(
            n_components=2,
            n_neighbors=n_neighbors,
            min_dist=min_dist,
            metric="cosine",
            random_state=seed,
            n_jobs=1,
            # Spectral initialisation needs a connected, not tiny graph; random is robust.
            init="spectral" if len(x) > n_neighbors + 2 else "random",
        )
        coords = reducer.fit_transform(x)
    return coords, {"n_neighbors": n_neighbors, "min_dist": min_dist}


__all__ = ["PROJECTIONS", "Projection", "project"]
