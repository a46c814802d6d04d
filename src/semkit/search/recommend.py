"""Recommendations from stored documents: one vector per document, and "more like this".

A document's vector is the mean of its chunk vectors (re-normalised in a normalised
collection), so a document of one chunk gets that chunk's vector exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from semkit.errors import InputError, NotFoundError
from semkit.search.backends.base import CollectionStore
from semkit.search.config import CollectionConfig
from semkit.similarity import normalize_rows


def document_vectors(
    store: CollectionStore, config: CollectionConfig, name: str, ids: Sequence[str]
) -> np.ndarray:
    """One vector per document, in the order of ``ids``."""
    ids = [ids] if isinstance(ids, str) else list(ids)
    found = store.existing(ids)
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFoundError(f"no document with id {missing[0]!r} in collection {name!r}")
    wanted = np.fromiter((found[i].key for i in ids), dtype=np.int64, count=len(ids))
    owners, chunk_vectors = store.chunk_vectors(np.unique(wanted))
    unique, slot = np.unique(owners, return_inverse=True)
    sums = np.zeros((len(unique), config.dim), dtype=np.float64)
    np.add.at(sums, slot, chunk_vectors)
    means = (sums / np.bincount(slot, minlength=len(unique))[:, None]).astype(np.float32)
    if config.normalize:
        means = normalize_rows(means)
    return means[np.searchsorted(unique, wanted)]


def rocchio_query(positive: np.ndarray, negative: np.ndarray | None, normalize: bool) -> np.ndarray:
    """The mean of the positive examples minus half the mean of the negative ones."""
    query = positive.mean(0)
    if negative is not None and len(negative):
        query = query - 0.5 * negative.mean(0)
    if not np.any(query):
        raise InputError("the positive and negative examples cancel out")
    if normalize:
        query = query / np.linalg.norm(query)
    vector: np.ndarray = query.astype(np.float32)
    return vector
