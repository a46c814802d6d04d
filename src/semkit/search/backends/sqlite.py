"""The SQLite + FAISS backend: a database directory on local disk.

Layout: ``<path>/semkit.db`` (SQLite, WAL: documents, chunk vectors, an FTS5 table per
collection, the collection records; ``semkit.store``) and ``<path>/indexes/`` (HNSW
files, derived and rebuildable; ``semkit.index.sync``). Dense search runs in memory
over the collection's index (``semkit.search.dense``), lexical search is FTS5's BM25.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from itertools import accumulate
from pathlib import Path
from typing import Any

import numpy as np

from semkit.errors import StoreError
from semkit.index.lookup import lookup, rowid_table
from semkit.index.sync import IndexedVectors
from semkit.search.backends.base import (
    Backend,
    CollectionRecord,
    CollectionStore,
    DocMatch,
    Existing,
    NewDocument,
    Where,
)
from semkit.search.config import CollectionConfig
from semkit.search.dense import search_documents
from semkit.search.filters import compile_where
from semkit.search.lexical import match_expression
from semkit.store.codec import blobs_to_matrix, vector_to_blob
from semkit.store.sqlite import CollectionRow, DocumentWrite, Store
from semkit.types import Chunk, Document, Hit

DB_FILE = "semkit.db"
FILTER_CACHE_SIZE = 32  # filters whose matches are remembered per collection


def is_database(path: Path) -> bool:
    return (path / DB_FILE).is_file()


class SqliteBackend(Backend):
    name = "sqlite"

    def __init__(self, path: Path, *, timeout: float = 30.0) -> None:
        if path.exists() and not path.is_dir():
            raise StoreError(f"{path} is a file; a semkit database is a directory")
        path.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.location = str(path)
        self.index_dir = path / "indexes"
        self.index_dir.mkdir(exist_ok=True)
        self.store = Store(path / DB_FILE, timeout=timeout)

    @staticmethod
    def _record(row: CollectionRow) -> CollectionRecord:
        return CollectionRecord(row.id, row.name, CollectionConfig.from_dict(row.config))

    def records(self) -> list[CollectionRecord]:
        return [self._record(r) for r in self.store.collections()]

    def record(self, name: str) -> CollectionRecord | None:
        row = self.store.collection(name)
        return None if row is None else self._record(row)

    def create(self, name: str, config: CollectionConfig) -> CollectionRecord:
        return self._record(self.store.create_collection(name, config.as_dict()))

    def set_config(self, record: CollectionRecord, config: CollectionConfig) -> CollectionRecord:
        self.store.set_config(record.id, config.as_dict())
        return CollectionRecord(record.id, record.name, config)

    def _index_file(self, cid: int) -> Path:
        return self.index_dir / f"collection-{cid}.hnsw"

    def drop(self, record: CollectionRecord) -> None:
        self.store.drop_collection(record.id)
        self._index_file(record.id).unlink(missing_ok=True)

    def swap(self, old: CollectionRecord, new: CollectionRecord) -> None:
        self.store.swap_collections(old.id, new.id, old.name)
        self._index_file(old.id).unlink(missing_ok=True)

    def open_store(self, record: CollectionRecord) -> SqliteCollection:
        return SqliteCollection(self, record)

    def verify(self) -> list[str]:
        return self.store.quick_check()

    def compact(self) -> None:
        self.store.compact()

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.path.rglob("*") if p.is_file())

    def close(self) -> None:
        self.store.close()


class SqliteCollection(CollectionStore):
    def __init__(self, backend: SqliteBackend, record: CollectionRecord) -> None:
        cfg = record.config
        self.record = record
        self.cid = record.id
        self.store = backend.store
        self.vectors = IndexedVectors(
            backend.store,
            record.id,
            backend.index_dir,
            dim=cfg.dim,
            space="l2" if cfg.space == "l2" else "ip",
            fingerprint=cfg.fingerprint or "vectors",
            kind=cfg.index,
            hnsw=cfg.hnsw.as_dict(),
        )
        self._lock = threading.Lock()  # the two memos below
        self._filter_cache: OrderedDict[str, tuple[int, np.ndarray]] = OrderedDict()
        self._ids: tuple[int, np.ndarray, np.ndarray] | None = None  # for include=()

    # --- writing ------------------------------------------------------------------------------
    def existing(self, ids: Sequence[str]) -> dict[str, Existing]:
        found = self.store.existing_with_metadata(self.cid, ids)
        return {i: Existing(*v) for i, v in found.items()}

    def write(
        self,
        docs: Sequence[NewDocument],
        vectors: np.ndarray,
        metadata_updates: Sequence[tuple[int, str, bytes]] = (),
    ) -> None:
        rows: list[DocumentWrite] = []
        pos = 0
        for doc in docs:
            chunks = []
            for idx, start, end in doc.spans:
                chunks.append((idx, start, end, vector_to_blob(vectors[pos])))
                pos += 1
            rows.append(
                DocumentWrite(doc.id, doc.text, doc.metadata_json, doc.content_hash, chunks)
            )
        result = self.store.write_documents(self.cid, rows, metadata_updates)
        self.vectors.apply(result.added, vectors, result.removed, result.version)

    def update_metadata(self, updates: Sequence[tuple[int, str, bytes]]) -> None:
        version = self.store.update_metadata(self.cid, updates)
        self.vectors.apply([], None, [], version)

    def delete(self, keys: Sequence[int]) -> None:
        result = self.store.delete_documents(self.cid, list(keys))
        self.vectors.apply([], None, result.removed, result.version)

    # --- reading ------------------------------------------------------------------------------
    def count(self) -> int:
        return self.store.count(self.cid)

    def count_vectors(self) -> int:
        return self.store.count_chunks(self.cid)

    def keys(self, ids: Sequence[str] | None, where: Where) -> np.ndarray:
        selected: np.ndarray | None = None
        if ids is not None:
            found = self.store.rowids_for_ids(self.cid, list(ids))
            selected = np.asarray(sorted(found.values()), dtype=np.int64)
        if where is not None:
            matched = self._matching(where)
            selected = matched if selected is None else np.intersect1d(selected, matched)
        if selected is None:
            return self._matching({})
        return selected

    def _matching(self, where: dict[str, Any]) -> np.ndarray:
        """Rowids a filter matches, remembered until the collection changes.

        Applications repeat the same few filters; evaluating one is a scan of the
        metadata (tens of ms at 100k documents), remembering it costs one version check.
        """
        key = json.dumps(where, sort_keys=True, default=str)
        version = self.store.version(self.cid)
        with self._lock:
            cached = self._filter_cache.get(key)
            if cached is not None and cached[0] == version:
                self._filter_cache.move_to_end(key)
                return cached[1]
        sql, params = compile_where(where)
        rowids = self.store.rowids(self.cid, sql, params)
        with self._lock:
            self._filter_cache[key] = (version, rowids)
            while len(self._filter_cache) > FILTER_CACHE_SIZE:
                self._filter_cache.popitem(last=False)
        return rowids

    def documents(
        self,
        ids: Sequence[str] | None = None,
        where: Where = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Document]:
        if ids is not None:
            rowids = self.store.rowids_for_ids(self.cid, list(ids))
            if where is not None:
                keep = set(self._matching(where).tolist())
                rowids = {i: r for i, r in rowids.items() if r in keep}
            docs = self.store.documents(list(rowids.values()))
            out = [docs[rowids[i]] for i in ids if i in rowids]
            return out[offset:][:limit] if limit is not None else out[offset:]
        sql, params = compile_where(where)
        return self.store.list_documents(self.cid, sql, params, limit, offset)

    def chunk_vectors(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        index = self.vectors.index()
        labels = self.vectors.labels_of(keys)
        owners = self.vectors.doc_rowids(labels)
        return owners, index.vectors_of(labels).astype(np.float32, copy=False)

    def spans(self, key: int) -> list[tuple[int, int, int]]:
        return self.store.spans(key)

    def version(self) -> str:
        # the collection's id too: a collection dropped and made again starts counting anew
        return f"{self.cid}.{self.store.version(self.cid)}"

    # --- searching ----------------------------------------------------------------------------
    def dense(
        self, queries: np.ndarray, k: int, where: Where, exact: bool, ef: int | None
    ) -> list[list[DocMatch]]:
        if not where:
            return search_documents(self.vectors, queries, k, None, None, exact, ef)
        matched = self._matching(where)
        if len(matched) == 0:
            return [[] for _ in range(len(queries))]
        allowed = self.vectors.labels_of(matched)
        return search_documents(self.vectors, queries, k, allowed, len(matched), exact, ef)

    def lexical(self, texts: Sequence[str], k: int, where: Where) -> list[list[DocMatch]]:
        sql, params = compile_where(where) if where else (None, [])
        out: list[list[DocMatch]] = []
        for text in texts:
            match = match_expression(text)
            found = [] if match is None else self.store.lexical(self.cid, match, k, sql, params)
            out.append([DocMatch(r, s, -1) for r, s in found])
        return out

    def hits(self, ranked: list[list[DocMatch]], include: frozenset[str]) -> list[list[Hit]]:
        if not include:
            return self._bare_hits(ranked)
        keep_text, keep_meta = "text" in include, "metadata" in include
        labels = {m.label for ms in ranked for m in ms if m.label >= 0}
        unlabelled = {m.key for ms in ranked for m in ms if m.label < 0}
        docs, spans = self.store.hit_rows(sorted(labels), sorted(unlabelled))
        out = []
        for matches in ranked:
            hits = []
            for m in matches:
                doc = docs.get(m.key)
                if doc is None:  # deleted by another process since the search: skip
                    continue
                chunk = None
                span = spans.get(m.label)
                if keep_text and span is not None and doc.text is not None:
                    _, idx, start, end = span
                    chunk = Chunk(doc.text[start:end], start, end, idx)
                hits.append(
                    Hit(
                        doc.id,
                        float(m.score),
                        doc.text if keep_text else None,
                        doc.metadata if keep_meta else {},
                        chunk,
                    )
                )
            out.append(hits)
        return out

    def _bare_hits(self, ranked: list[list[DocMatch]]) -> list[list[Hit]]:
        """Ids and scores only, from an in-memory id table (reloaded when the store changed)."""
        version = self.store.version(self.cid)
        memo = self._ids
        if memo is None or memo[0] != version:
            _, rowids, ids = self.store.id_map(self.cid)
            positions = rowid_table(rowids, np.arange(len(rowids)))
            memo = self._ids = (
                version,
                positions,
                np.append(ids, np.array([None], dtype=object)),
            )  # ids[-1]: not found
        _, positions, ids = memo
        flat = [m for matches in ranked for m in matches]
        wanted = np.fromiter((m.key for m in flat), dtype=np.int64, count=len(flat))
        found_ids = ids[lookup(positions, wanted)].tolist()
        hits = list(map(Hit, found_ids, [m.score for m in flat]))
        ends = list(accumulate(len(matches) for matches in ranked))
        out = [hits[start:end] for start, end in zip([0, *ends], ends, strict=False)]
        if None in found_ids:  # deleted since the search (by another process): left out
            out = [[h for h in hs if h.id is not None] for hs in out]
        return out

    # --- moving collections -------------------------------------------------------------------
    def export(self, batch: int = 1000) -> Iterator[tuple[list[NewDocument], np.ndarray]]:
        after = 0
        dim = self.record.config.dim
        while True:
            docs, chunks = self.store.export(self.cid, after, batch)
            if not docs:
                return
            by_doc: dict[int, list[tuple[int, int, int, bytes]]] = {}
            for rowid, idx, start, end, blob in chunks:
                by_doc.setdefault(rowid, []).append((idx, start, end, blob))
            out, blobs = [], []
            for rowid, doc_id, text, meta, content_hash in docs:
                mine = by_doc.get(rowid, [])
                out.append(NewDocument(doc_id, text, meta, content_hash, [c[:3] for c in mine]))
                blobs += [c[3] for c in mine]
            yield out, blobs_to_matrix(blobs, dim)
            after = docs[-1][0]

    # --- maintenance --------------------------------------------------------------------------
    def flush(self) -> None:
        self.vectors.persist()

    def rebuild_index(self) -> None:
        self.vectors.rebuild()

    def verify(self) -> list[str]:
        return self.store.integrity(self.cid, self.record.config.dim) + self.vectors.verify()

    def index_info(self) -> dict[str, Any]:
        path = self.vectors.path
        return {
            "index_kind": self.vectors.kind,
            "index_file_bytes": path.stat().st_size if path.exists() else 0,
        }

    def drop_file(self) -> None:
        self.vectors.drop_file()
