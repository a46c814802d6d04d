"""A browsable map of a collection: 2-D coordinates for a seeded sample of its documents,
colour groups (k-means clusters named by keywords, and metadata fields with few values),
and a way to put anything else on the same map.

The map is computed once per collection version (the caller caches it). Large
collections are sampled (``max_points``, seeded), so building and drawing stay fast; a
document outside the sample, or a query, is placed where its nearest sampled documents
are (the weighted mean of their coordinates), so it lands among what it resembles.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from semkit.analysis.cluster import by_size, ctfidf_keywords, kmeans_labels
from semkit.analysis.project import project
from semkit.errors import InputError
from semkit.similarity import normalize_rows

if TYPE_CHECKING:
    from semkit.search.collection import Collection

MAX_POINTS = 10_000
MAX_CATEGORIES = 24  # a metadata field with more distinct values is not offered as colours
PLACE_NEIGHBOURS = 8
SNIPPET_CHARS = 160


@dataclass(frozen=True)
class ColourGroups:
    """``codes[i]`` is point ``i``'s group (an index into ``names``; -1: none)."""

    names: list[str]
    codes: list[int]


@dataclass
class CollectionMap:
    version: str
    method: str
    total: int  # documents in the collection; len(ids) of them are drawn
    ids: list[str]
    coords: np.ndarray  # (n, 2) float32, scaled into [0, 1]
    snippets: list[str]
    clusters: ColourGroups  # k-means on the drawn documents, named by keywords
    fields: dict[str, ColourGroups]  # metadata fields with few distinct values
    unit: np.ndarray  # (n, dim) float32 unit rows of the sampled documents
    _rows: dict[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._rows = {doc_id: i for i, doc_id in enumerate(self.ids)}

    def place(self, vectors: np.ndarray) -> np.ndarray:
        """Where ``vectors`` go on the map: the mean of their nearest sampled documents'
        coordinates, weighted towards the closest ((n, 2) float32)."""
        if len(vectors) == 0:
            return np.zeros((0, 2), np.float32)
        sims = normalize_rows(np.asarray(vectors, np.float32)) @ self.unit.T
        m = min(PLACE_NEIGHBOURS, sims.shape[1])
        top = np.argpartition(-sims, m - 1, axis=1)[:, :m]
        near = np.take_along_axis(sims, top, axis=1)
        weights = np.exp((near - near.max(axis=1, keepdims=True)) / 0.02)
        weights /= weights.sum(axis=1, keepdims=True)
        return np.einsum("qm,qmd->qd", weights, self.coords[top]).astype(np.float32)

    def locate(self, collection: Collection, ids: list[str]) -> dict[str, list[float]]:
        """Map coordinates of documents ``ids``: their own when drawn, placed otherwise;
        ids the collection does not hold are left out."""
        out = {i: self.coords[self._rows[i]].tolist() for i in ids if i in self._rows}
        rest = [i for i in dict.fromkeys(ids) if i not in self._rows]
        if rest:
            found = [d.id for d in collection.get(ids=rest)]
            if found:
                for doc_id, xy in zip(
                    found, self.place(collection.document_vectors(found)), strict=True
                ):
                    out[doc_id] = xy.tolist()
        return out


def build_map(
    collection: Collection,
    method: str = "pca",
    *,
    max_points: int = MAX_POINTS,
    clusters: int = 8,
    seed: int = 0,
) -> CollectionMap:
    """The map of ``collection`` as it is now (see the module's description)."""
    version = collection.version()
    docs = collection.get()
    total = len(docs)
    if total < 4:
        raise InputError(f"a map needs at least 4 documents; {collection.name!r} has {total}")
    if total > max_points:
        rows = np.sort(np.random.default_rng(seed).choice(total, max_points, replace=False))
        docs = [docs[i] for i in rows]
    ids = [d.id for d in docs]
    unit = normalize_rows(collection.document_vectors(ids)).astype(np.float32)
    coords = _unit_square(project(unit, method, seed=seed).coords)
    texts = [d.text or "" for d in docs]
    return CollectionMap(
        version,
        method,
        total,
        ids,
        coords,
        [_snippet(t) for t in texts],
        _clusters(unit, texts, clusters, seed),
        _categorical_fields([d.metadata for d in docs]),
        unit,
    )


def _unit_square(coords: np.ndarray) -> np.ndarray:
    """Coordinates scaled (same factor on both axes) and shifted into [0, 1]."""
    lo, hi = coords.min(axis=0), coords.max(axis=0)
    span = float((hi - lo).max()) or 1.0
    return ((coords - lo) / span + (1 - (hi - lo) / span) / 2).astype(np.float32)


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 1] + "…"


def _clusters(unit: np.ndarray, texts: list[str], k: int, seed: int) -> ColourGroups:
    k = max(2, min(k, len(unit) - 1))
    labels = by_size(kmeans_labels(unit, k, seed))
    keywords = ctfidf_keywords(texts, labels, 3)
    names = [", ".join(keywords.get(c, [])) or f"cluster {c}" for c in range(k)]
    return ColourGroups(names, labels.tolist())


def _categorical_fields(metadatas: list[dict[str, Any]]) -> dict[str, ColourGroups]:
    """Metadata fields with at most MAX_CATEGORIES distinct scalar values (most common
    first) that at least half the documents have."""
    out: dict[str, ColourGroups] = {}
    fields = Counter(k for m in metadatas for k in m)
    for name, present in sorted(fields.items()):
        if present * 2 < len(metadatas):
            continue
        values = [m.get(name) for m in metadatas]
        if any(isinstance(v, dict | list) for v in values):
            continue
        counts = Counter(str(v) for v in values if v is not None)
        if not 1 < len(counts) <= MAX_CATEGORIES:
            continue
        names = [v for v, _ in counts.most_common()]
        code = {v: i for i, v in enumerate(names)}
        out[name] = ColourGroups(names, [-1 if v is None else code[str(v)] for v in values])
    return out


__all__ = ["MAX_POINTS", "CollectionMap", "ColourGroups", "build_map"]
