"""HNSW search with FAISS (``IndexHNSWFlat`` inside ``IndexIDMap2``).

FAISS HNSW cannot remove vectors, so removals are tombstones: a sorted array of
dead labels that every search excludes with an ID selector, until the index is
rebuilt (``needs_rebuild``). An allow-list (a metadata filter) is passed the same
way. The graph keeps its own float32 copy of every vector, which ``vectors_of``
reads directly, so exact search over a subset needs no second copy in memory.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from semkit.index.base import Space, VectorIndex

DEFAULT_M = 32
DEFAULT_EF_CONSTRUCTION = 200
DEFAULT_EF_SEARCH = 64  # measured: recall@10 0.996 on SciFact, 0.982 at 1M (bench/results)
REBUILD_RATIO = 0.3  # rebuild when this share of the graph is tombstones
SMALL_BATCH = 16  # fewer queries than this are searched on one thread


def _faiss() -> Any:
    import faiss

    return faiss


class HnswIndex(VectorIndex):
    kind: ClassVar[str] = "hnsw"

    def __init__(
        self,
        dim: int,
        space: Space,
        *,
        m: int = DEFAULT_M,
        ef_construction: int = DEFAULT_EF_CONSTRUCTION,
        ef_search: int = DEFAULT_EF_SEARCH,
        _index: Any = None,
        _tombstones: np.ndarray | None = None,
    ) -> None:
        super().__init__(dim, space)
        faiss = _faiss()
        self.m, self.ef_construction, self.ef_search = m, ef_construction, ef_search
        if _index is None:
            metric = faiss.METRIC_INNER_PRODUCT if space == "ip" else faiss.METRIC_L2
            graph = faiss.IndexHNSWFlat(dim, m, metric)
            graph.hnsw.efConstruction = ef_construction
            _index = faiss.IndexIDMap2(graph)
        self._index = _index
        self._tombstones = np.zeros(0, dtype=np.int64) if _tombstones is None else _tombstones
        self._refresh()

    def _refresh(self) -> None:
        """Re-derive the label lookup tables after a change."""
        faiss = _faiss()
        ids = faiss.vector_to_array(self._index.id_map).astype(np.int64)
        self._order = np.argsort(ids, kind="stable")
        self._sorted_ids = ids[self._order]
        self._live = np.setdiff1d(self._sorted_ids, self._tombstones, assume_unique=False)

    # --- changes ---------------------------------------------------------------------------
    def add(self, labels: np.ndarray, vectors: np.ndarray) -> None:
        if len(labels) == 0:
            return
        labels = np.asarray(labels, dtype=np.int64)
        present = np.isin(labels, self._sorted_ids)
        if present.any():  # a label re-added after removal: cannot overwrite in FAISS HNSW
            raise ValueError("label already in the HNSW graph; rebuild instead")
        start = len(self._sorted_ids)
        self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), labels)
        ascending = np.all(np.diff(labels) > 0)
        if ascending and (start == 0 or labels[0] > self._sorted_ids[-1]):
            # The usual case (labels come from an AUTOINCREMENT column): append, no re-sort.
            self._order = np.concatenate([self._order, np.arange(start, start + len(labels))])
            self._sorted_ids = np.concatenate([self._sorted_ids, labels])
            self._live = np.concatenate([self._live, labels])
        else:
            self._refresh()

    def remove(self, labels: np.ndarray) -> None:
        labels = np.asarray(labels, dtype=np.int64)
        labels = labels[np.isin(labels, self._sorted_ids)]
        if len(labels):
            self._tombstones = np.union1d(self._tombstones, labels)
            self._live = np.setdiff1d(self._live, labels)

    @property
    def tombstones(self) -> int:
        return len(self._tombstones)

    @property
    def needs_rebuild(self) -> bool:
        return self.tombstones > REBUILD_RATIO * max(len(self._sorted_ids), 1)

    def labels(self) -> np.ndarray:
        return self._live

    def __len__(self) -> int:
        return len(self._live)

    def vectors_of(self, labels: np.ndarray) -> np.ndarray:
        faiss = _faiss()
        labels = np.asarray(labels, dtype=np.int64)
        pos = np.searchsorted(self._sorted_ids, labels)
        pos = np.minimum(pos, max(len(self._sorted_ids) - 1, 0))
        if len(self._sorted_ids) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        pos = pos[self._sorted_ids[pos] == labels]
        graph = faiss.downcast_index(self._index.index)
        storage = faiss.downcast_index(graph.storage)
        xb = faiss.rev_swig_ptr(storage.get_xb(), storage.ntotal * self.dim)
        rows: np.ndarray = np.asarray(xb).reshape(storage.ntotal, self.dim)[self._order[pos]]
        return rows

    # --- search ----------------------------------------------------------------------------
    def search(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None, ef: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        faiss = _faiss()
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        selector: Any = None
        if allowed is not None:
            selector = faiss.IDSelectorBatch(np.setdiff1d(allowed, self._tombstones))
        elif len(self._tombstones):
            selector = faiss.IDSelectorNot(faiss.IDSelectorBatch(self._tombstones))
        params = faiss.SearchParametersHNSW(efSearch=max(ef or self.ef_search, k))
        if selector is not None:
            params.sel = selector
        # FAISS parallelises over queries; for a handful of queries the OpenMP start-up
        # and barrier cost more than the search (measured: 8 ms vs 0.2 ms for one query
        # on 2 busy cores), so small batches run on one thread.
        threads = faiss.omp_get_max_threads()
        if len(queries) < SMALL_BATCH and threads > 1:
            faiss.omp_set_num_threads(1)
        try:
            dist, labels = self._index.search(queries, k, params=params)
        finally:
            faiss.omp_set_num_threads(threads)
        scores = dist.astype(np.float32)
        if self.space == "l2":
            scores = -np.sqrt(np.maximum(scores, 0.0))
        scores[labels < 0] = -np.inf
        return labels.astype(np.int64), scores

    # --- persistence -----------------------------------------------------------------------
    def to_sections(self) -> tuple[dict[str, Any], dict[str, bytes]]:
        faiss = _faiss()
        params = {"m": self.m, "ef_construction": self.ef_construction, "ef_search": self.ef_search}
        return params, {
            "faiss": faiss.serialize_index(self._index).tobytes(),
            "tombstones": self._tombstones.astype("<i8").tobytes(),
        }

    @classmethod
    def from_sections(
        cls, dim: int, space: Space, params: dict[str, Any], sections: dict[str, Any]
    ) -> HnswIndex:
        faiss = _faiss()
        index = faiss.deserialize_index(np.frombuffer(sections["faiss"], dtype=np.uint8))
        if index.d != dim:
            raise ValueError(f"index dimension {index.d} != {dim}")
        tombstones = np.frombuffer(sections["tombstones"], dtype="<i8").astype(np.int64)
        return cls(
            dim,
            space,
            m=int(params["m"]),
            ef_construction=int(params["ef_construction"]),
            ef_search=int(params["ef_search"]),
            _index=index,
            _tombstones=tombstones,
        )
