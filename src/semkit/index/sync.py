"""One collection's vector index, kept in step with the store and persisted safely.

The store is the truth; the index is derived. On first use the index file is read
and verified (``index.files``); a missing, corrupt, foreign or mismatched file is
never trusted: the index is rebuilt from the store. A verified file is then
reconciled with the store's labels (vectors added or removed since it was saved
are applied), so it can never drift from the database. Writes made through this
process are applied incrementally; writes by other processes are noticed through
the collection's version counter and reconciled before the next search.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from semkit.errors import StoreError
from semkit.index.base import Space, VectorIndex
from semkit.index.exact import ExactIndex
from semkit.index.files import read_index_file, write_index_file
from semkit.index.hnsw import HnswIndex
from semkit.index.lookup import lookup, rowid_table
from semkit.store.sqlite import Store

log = logging.getLogger("semkit.index")

HNSW_MIN_VECTORS = 50_000  # "auto" switches from exact to HNSW at this many vectors
PERSIST_EVERY = 0.10  # save the HNSW file when this share of it changed since the last save
PENDING_MAX = 50_000  # committed vectors buffered before they are added to the index in bulk
INDEX_KINDS = ("auto", "exact", "hnsw")


class ReadWriteLock:
    """Many readers at once, or one writer (re-entrant, and free to read inside its write).

    Searches read the index concurrently (FAISS searches are thread-safe); adding,
    removing, loading and saving change it and wait for the searches in flight."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0
        self._writer: int | None = None
        self._depth = 0

    @contextmanager
    def read(self) -> Iterator[None]:
        me = threading.get_ident()
        with self._cond:
            inside_write = self._writer == me
            if not inside_write:
                while self._writer is not None:
                    self._cond.wait()
                self._readers += 1
        try:
            yield
        finally:
            if not inside_write:
                with self._cond:
                    self._readers -= 1
                    if not self._readers:
                        self._cond.notify_all()

    @contextmanager
    def write(self) -> Iterator[None]:
        me = threading.get_ident()
        with self._cond:
            if self._writer != me:
                while self._writer is not None or self._readers:
                    self._cond.wait()
                self._writer = me
            self._depth += 1
        try:
            yield
        finally:
            with self._cond:
                self._depth -= 1
                if not self._depth:
                    self._writer = None
                    self._cond.notify_all()


class IndexedVectors:
    def __init__(
        self,
        store: Store,
        cid: int,
        directory: Path,
        *,
        dim: int,
        space: Space,
        fingerprint: str,
        kind: str = "auto",
        hnsw: dict[str, Any] | None = None,
    ) -> None:
        self.store, self.cid, self.dim, self.space = store, cid, dim, space
        self.fingerprint = fingerprint
        self.requested = kind
        self.hnsw_params = hnsw or {}
        self.path = directory / f"collection-{cid}.hnsw"
        self._index: VectorIndex | None = None
        self._labels = np.zeros(0, dtype=np.int64)  # every chunk label, ascending
        self._docs = np.zeros(0, dtype=np.int64)  # the document rowid of each label
        # derived from _labels/_docs (always replaced together): see _by_document
        self._derived: tuple[np.ndarray | None, int, np.ndarray] = (None, 0, np.zeros(0))
        self._version = -1  # store version the index reflects
        self._unsaved = 0
        # Vectors committed by this process but not yet in the index: added in bulk (one big
        # add builds HNSW far faster than many small ones) before the next search or save.
        self._pending: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._pending_count = 0
        self._lock = ReadWriteLock()
        self.events: list[str] = []  # what loading did: "loaded", "rebuilt: <why>", ...

    # --- state ------------------------------------------------------------------------------
    @property
    def kind(self) -> str:
        return self.index().kind

    def index(self) -> VectorIndex:
        """The index, loaded or built on first use, reconciled if the store changed."""
        index = self._index
        if (
            index is not None
            and not self._pending
            and self.store.version(self.cid) == self._version
        ):
            return index  # up to date: no lock, so searches in other threads go on
        with self._lock.write():
            if self._index is None:
                self._load()
            elif self.store.version(self.cid) != self._version:
                self._reconcile()
            self._flush_pending()
            assert self._index is not None
            return self._index

    def _flush_pending(self) -> None:
        if not self._pending or self._index is None:
            return
        labels = np.concatenate([p[0] for p in self._pending])
        docs = np.concatenate([p[1] for p in self._pending])
        vectors = np.concatenate([p[2] for p in self._pending])
        self._pending, self._pending_count = [], 0
        self._index.add(labels, vectors)
        self._labels = np.concatenate([self._labels, labels])
        self._docs = np.concatenate([self._docs, docs])
        if len(self._labels) > 1 and np.any(np.diff(self._labels) <= 0):
            order = np.argsort(self._labels, kind="stable")
            self._labels, self._docs = self._labels[order], self._docs[order]

    def _by_document(self) -> tuple[int, np.ndarray]:
        """How many documents the chunks belong to, and the label -> document rowid table;
        computed once per change of the chunks, not per search."""
        if self._derived[0] is not self._labels:
            count = len(np.unique(self._docs))
            self._derived = (self._labels, count, rowid_table(self._labels, self._docs))
        return self._derived[1], self._derived[2]

    def doc_rowids(self, labels: np.ndarray) -> np.ndarray:
        """Document rowid of each label (-1 for -1)."""
        with self._lock.read():
            return lookup(self._by_document()[1], labels)

    def snapshot(self) -> tuple[VectorIndex, int, bool]:
        """The index (reconciled with the store: one version check, ~5 us), how many
        documents it holds, and whether each has a single chunk (then a chunk hit is a
        document hit)."""
        index = self.index()
        with self._lock.read():
            count = self._by_document()[0]
            return index, count, count == len(self._labels)

    def document_count(self) -> int:
        """Documents with vectors in the index."""
        return self.snapshot()[1]

    def one_chunk_per_document(self) -> bool:
        """True when no document has several chunks."""
        return self.snapshot()[2]

    def labels_of(self, rowids: np.ndarray) -> np.ndarray:
        """Labels of the chunks of these documents, ascending."""
        self.index()
        with self._lock.read():  # the two arrays change together, under the write lock
            return self._labels[np.isin(self._docs, rowids)]

    # --- loading ----------------------------------------------------------------------------
    def _decide_kind(self) -> str:
        if self.requested != "auto":
            return self.requested
        return "hnsw" if self.store.count_chunks(self.cid) >= HNSW_MIN_VECTORS else "exact"

    def _header(self) -> dict[str, Any]:
        return {
            "kind": "hnsw",
            "collection_id": self.cid,
            "fingerprint": self.fingerprint,
            "dim": self.dim,
            "space": self.space,
        }

    def _read_file(self) -> VectorIndex | None:
        if not self.path.exists():
            self.events.append("rebuilt: no index file")
            return None
        try:
            header, sections = read_index_file(self.path)
            expected = self._header()
            mismatch = [k for k, v in expected.items() if header.get(k) != v]
            if mismatch:
                raise StoreError(
                    f"index file {self.path} was built for another {'/'.join(mismatch)}"
                )
            index = HnswIndex.from_sections(self.dim, self.space, header["params"], sections)
        except (StoreError, ValueError, KeyError, RuntimeError) as exc:
            log.warning("%s; rebuilding it from the store", exc)
            self.events.append(f"rebuilt: {exc}")
            return None
        self.events.append("loaded")
        return index

    def _new_index(self, kind: str) -> VectorIndex:
        if kind == "hnsw":
            return HnswIndex(self.dim, self.space, **self.hnsw_params)
        return ExactIndex(self.dim, self.space)

    def _load(self) -> None:
        kind = self._decide_kind()
        index = self._read_file() if kind == "hnsw" else None
        if index is None:
            index = self._new_index(kind)
            if kind == "hnsw":
                self._unsaved = 1  # built from the store: worth saving
        self._index = index
        self._reconcile()
        if kind == "hnsw":
            self.persist(only_if_needed=True)

    def _reconcile(self) -> None:
        assert self._index is not None
        self._flush_pending()
        version, labels, docs = self.store.label_map(self.cid)
        have = self._index.labels()
        extra = np.setdiff1d(have, labels, assume_unique=True)
        missing = np.setdiff1d(labels, have, assume_unique=True)
        if len(extra):
            self._index.remove(extra)
        for batch_labels, _, vectors in self.store.vectors(
            self.cid, self.dim, labels=missing if len(missing) < len(labels) else None
        ):
            keep = np.isin(batch_labels, missing)
            self._index.add(batch_labels[keep], vectors[keep])
        self._labels, self._docs, self._version = labels, docs, version
        self._unsaved += len(extra) + len(missing)
        if isinstance(self._index, HnswIndex) and self._index.needs_rebuild:
            self.rebuild()

    # --- our own writes ---------------------------------------------------------------------
    def apply(
        self,
        added: list[tuple[int, int]],
        vectors: np.ndarray | None,
        removed: list[int],
        version: int,
    ) -> None:
        """A write this process committed: apply it without re-reading the store."""
        with self._lock.write():
            if self._index is None:
                return  # nothing loaded: the next load reconciles with the store
            if version <= self._version:
                return  # a search in another thread reconciled with the store after the commit
            if version != self._version + 1:
                self._version = -1  # someone else wrote in between: reconcile before searching
            else:
                self._version = version
            if removed:
                gone = np.asarray(removed, dtype=np.int64)
                self._pending = [
                    (lab[k], doc[k], vec[k])
                    for lab, doc, vec in self._pending
                    for k in [~np.isin(lab, gone)]
                ]
                self._pending_count = sum(len(p[0]) for p in self._pending)
                self._index.remove(gone)
                keep = ~np.isin(self._labels, gone)
                self._labels, self._docs = self._labels[keep], self._docs[keep]
            if added:
                pairs = np.asarray(added, dtype=np.int64)
                assert vectors is not None and len(vectors) == len(pairs)
                self._pending.append(
                    (pairs[:, 0], pairs[:, 1], np.asarray(vectors, dtype=np.float32))
                )
                self._pending_count += len(pairs)
                if self._pending_count >= PENDING_MAX:
                    self._flush_pending()
            self._unsaved += len(added) + len(removed)
            if isinstance(self._index, HnswIndex):
                if self._index.needs_rebuild:
                    self.rebuild()
                elif self._unsaved > PERSIST_EVERY * max(len(self._labels), 1) + 1000:
                    self.persist()

    # --- persistence ------------------------------------------------------------------------
    def persist(self, only_if_needed: bool = True) -> int:
        """Save the HNSW index file (exact indexes have none); returns bytes written."""
        with self._lock.write():
            if not isinstance(self._index, HnswIndex) or (only_if_needed and not self._unsaved):
                return 0
            self._flush_pending()
            params, sections = self._index.to_sections()
            size = write_index_file(
                self.path,
                {**self._header(), "params": params, "store_version": self._version},
                sections,
            )
            self._unsaved = 0
            return size

    def rebuild(self) -> None:
        """Throw the index away and build it again from the store (no tombstones left)."""
        with self._lock.write():
            kind = self._decide_kind()
            self._index = self._new_index(kind)
            self._unsaved = 0
            self._pending, self._pending_count = [], 0
            self._labels = np.zeros(0, dtype=np.int64)
            self._docs = np.zeros(0, dtype=np.int64)
            self._reconcile()
            self._unsaved = max(self._unsaved, 1)
            self.events.append("rebuilt: on request")
            self.persist()

    def drop_file(self) -> None:
        self.path.unlink(missing_ok=True)

    def verify(self) -> list[str]:
        """Problems between the store and the index file (empty: consistent)."""
        problems: list[str] = []
        if self._decide_kind() != "hnsw":
            return problems
        if not self.path.exists():
            return []  # derived state not built yet: the next search builds it
        try:
            header, sections = read_index_file(self.path)
            index = HnswIndex.from_sections(self.dim, self.space, header["params"], sections)
        except (StoreError, ValueError, KeyError, RuntimeError) as exc:
            return [f"HNSW index file is unusable: {exc}"]
        _, labels, _ = self.store.label_map(self.cid)
        have = index.labels()
        missing = len(np.setdiff1d(labels, have))
        extra = len(np.setdiff1d(have, labels))
        if missing or extra:
            problems.append(
                f"HNSW index file is behind the store: {missing} vectors to add, "
                f"{extra} to remove (applied automatically at the next search)"
            )
        return problems

    # --- search -----------------------------------------------------------------------------
    def search(
        self,
        queries: np.ndarray,
        k: int,
        allowed: np.ndarray | None = None,
        exact: bool = False,
        ef: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        index = self.index()
        with self._lock.read():
            if exact:
                live = index.labels()
                if allowed is None:
                    return index.exact_search(queries, k, live)
                # labels allowed before a concurrent delete may be gone: search the live ones
                pos = np.minimum(np.searchsorted(live, allowed), max(len(live) - 1, 0))
                chosen = allowed[live[pos] == allowed] if len(live) else allowed[:0]
                return index.exact_search(queries, k, chosen)
            return index.search(queries, k, allowed, ef=ef)
