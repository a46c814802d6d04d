"""``Collection``: the object users hold to add, get, delete and search documents.

A thin facade: writes go through ``semkit.search.ingest``, searches through
``semkit.search.hits``, recommendations through ``semkit.search.recommend``, and all
of them reach the data through the collection's backend store
(``semkit.search.backends``), so a collection behaves the same on SQLite and on
PostgreSQL. A collection records the model fingerprint, dimension, metric and
normalisation of its vectors (``CollectionConfig``) and refuses anything that does
not match.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from semkit.embedding.embedder import Embedder
from semkit.errors import InputError, ModelError, NotFoundError
from semkit.search.backends.base import CollectionRecord, CollectionStore, NewDocument
from semkit.search.config import CollectionConfig
from semkit.search.fusion import RRF_K
from semkit.search.hits import INCLUDE_ALL, MODES, Mode, Searcher, SearchRequest
from semkit.search.ingest import (
    WRITE_BATCH,
    Ingest,
    Prepared,
    WriteReport,
    auto_id,
    check_vectors,
)
from semkit.search.recommend import document_vectors, rocchio_query
from semkit.store.codec import json_to_metadata, metadata_to_json
from semkit.types import Chunk, Document, Hit

if TYPE_CHECKING:
    from semkit.search.database import Database

__all__ = ["INCLUDE_ALL", "MODES", "Collection", "Mode", "WriteReport", "auto_id"]


class Collection:
    def __init__(
        self,
        db: Database,
        record: CollectionRecord,
        store: CollectionStore,
        embedder: Embedder | None,
    ) -> None:
        self.db = db
        self.record = record
        self.embedder = embedder
        self._store = store
        cfg = record.config
        self.name = record.name
        self.dim = cfg.dim
        self.metric = cfg.metric
        self.normalize = cfg.normalize
        self._ingest = Ingest(store, cfg, self.name, embedder)
        self._searcher = Searcher(store, cfg, self.name, embedder)

    # --- description --------------------------------------------------------------------------
    @property
    def config(self) -> CollectionConfig:
        return self.record.config

    def count(self) -> int:
        return self._store.count()

    def __len__(self) -> int:
        return self.count()

    def __repr__(self) -> str:
        return (
            f"Collection({self.name!r}, model={self.config.model!r}, "
            f"dim={self.dim}, metric={self.metric!r})"
        )

    def info(self) -> dict[str, Any]:
        cfg = self.config
        return {
            "name": self.name,
            "documents": self.count(),
            "vectors": self._store.count_vectors(),
            "model": cfg.model,
            "model_id": cfg.model_id,
            "fingerprint": cfg.fingerprint,
            "dim": self.dim,
            "dims": cfg.dims,
            "metric": self.metric,
            "normalize": self.normalize,
            "chunking": cfg.chunking.as_dict(),
            "index": cfg.index,
            "hnsw": cfg.hnsw.as_dict(),
            "backend": self.db.backend_name,
            **self._store.index_info(),
        }

    # --- writing ------------------------------------------------------------------------------
    def add(
        self,
        texts: Sequence[str] | None = None,
        *,
        ids: Sequence[str] | None = None,
        metadatas: Sequence[dict[str, Any] | None] | None = None,
        embeddings: Any = None,
        show_progress_bar: bool | None = None,
        batch_size: int | None = None,
    ) -> WriteReport:
        """Add new documents. Re-adding an identical document is a no-op; an existing id
        with different content is an error (use ``upsert`` to replace)."""
        return self._ingest.write(
            texts,
            ids,
            metadatas,
            embeddings,
            replace=False,
            show_progress_bar=show_progress_bar,
            batch_size=batch_size,
        )

    def upsert(
        self,
        texts: Sequence[str] | None = None,
        *,
        ids: Sequence[str] | None = None,
        metadatas: Sequence[dict[str, Any] | None] | None = None,
        embeddings: Any = None,
        show_progress_bar: bool | None = None,
        batch_size: int | None = None,
    ) -> WriteReport:
        """Insert or replace documents. Unchanged text is never embedded again."""
        return self._ingest.write(
            texts,
            ids,
            metadatas,
            embeddings,
            replace=True,
            show_progress_bar=show_progress_bar,
            batch_size=batch_size,
        )

    def add_records(
        self,
        records: Iterable[Any],
        *,
        replace: bool = True,
        batch: int = WRITE_BATCH,
        progress: Callable[[int], None] | None = None,
        prepared: Prepared | None = None,
    ) -> WriteReport:
        """Stream ``Record(text, id, metadata)`` objects in committed batches (bulk ingest).

        Records without an id get one derived from their text, so a repeated text is
        one document; a repeated explicit id in one batch is an error. ``prepared``: chunk
        spans and vectors already computed elsewhere, by id (``semkit.distributed``).
        """
        return self._ingest.records(
            records, replace=replace, batch=batch, progress=progress, prepared=prepared
        )

    def update_metadata(
        self,
        ids: Sequence[str],
        metadatas: Sequence[dict[str, Any]],
        *,
        merge: bool = True,
    ) -> int:
        """Change documents' metadata without embedding anything: each dict is merged into
        the document's metadata (``merge=False`` replaces it). All or nothing, in one
        transaction; an unknown id is an error. Returns how many documents changed."""
        if isinstance(ids, str) or len(ids) != len(metadatas):
            raise InputError("give a list of ids and a list of as many metadata dicts")
        ids = list(ids)
        if len(set(ids)) != len(ids):
            raise InputError("an id appears twice in one metadata update")
        existing = self._store.existing(ids)
        missing = [i for i in ids if i not in existing]
        if missing:
            raise NotFoundError(f"no document with id {missing[0]!r} in collection {self.name!r}")
        updates: list[tuple[int, str, bytes]] = []
        for doc_id, meta in zip(ids, metadatas, strict=True):
            if not isinstance(meta, dict):
                raise InputError(f"document {doc_id!r}: metadata must be a dict")
            old = existing[doc_id]
            new = metadata_to_json(
                {**json_to_metadata(old.metadata_json), **meta} if merge else meta,
                f"document {doc_id!r}",
            )
            if new != old.metadata_json:
                updates.append((old.key, new, old.content_hash))
        if updates:
            self._store.update_metadata(updates)
        return len(updates)

    def delete(self, ids: Sequence[str] | None = None, where: dict[str, Any] | None = None) -> int:
        """Delete documents by id and/or filter; returns how many were deleted."""
        if ids is None and where is None:
            raise InputError("give ids, where, or both (to delete everything, drop the collection)")
        keys = self._store.keys([ids] if isinstance(ids, str) else ids, where)
        if len(keys):
            self._store.delete(keys.tolist())
        return len(keys)

    # --- reading ------------------------------------------------------------------------------
    def get(
        self,
        ids: Sequence[str] | None = None,
        where: dict[str, Any] | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Document]:
        """Documents by id (in the order given; missing ids are skipped), by filter, or all."""
        if isinstance(ids, str):
            ids = [ids]
        return self._store.documents(ids, where, limit, offset)

    def chunks(self, id: str) -> list[Chunk]:
        """The chunks document ``id`` was embedded as, in order, each with its text and
        character offsets into the document (``NotFoundError`` if there is no such id)."""
        key = self._store.keys([id], None)
        docs = self._store.documents([id])
        if not len(key) or not docs:
            raise NotFoundError(f"collection {self.name!r} has no document {id!r}")
        text = docs[0].text or ""
        return [Chunk(text[s:e], s, e, i) for i, s, e in self._store.spans(int(key[0]))]

    def version(self) -> str:
        """Changes whenever a write to the collection commits; equal versions mean equal
        documents, metadata and vectors, so derived data (a map) can be cached by it."""
        return self._store.version()

    # --- searching ----------------------------------------------------------------------------
    def search(
        self,
        query: str | Sequence[float] | np.ndarray,
        k: int = 10,
        where: dict[str, Any] | None = None,
        mode: Mode = "dense",
        *,
        exact: bool = False,
        ef: int | None = None,
        weights: tuple[float, float] = (1.0, 1.0),
        rrf_k: int = RRF_K,
        include: Sequence[str] = INCLUDE_ALL,
    ) -> list[Hit]:
        """The ``k`` best documents for one query: a text or a vector.

        ``mode``: "dense" (embeddings), "lexical" (full-text: BM25 on SQLite) or
        "hybrid" (weighted reciprocal rank fusion of both; ``weights`` = (dense,
        lexical)). Scores: cosine similarity (dense, cosine collections), the lexical
        score, fused RRF score (hybrid); higher is better. ``where`` filters on
        metadata; a filtered search returns ``min(k, matching documents)`` hits.
        ``exact`` bypasses the HNSW index; ``ef`` widens its beam. ``include``: what
        hits carry besides id and score: "text" (the document and its best chunk) and
        "metadata"; ``include=()`` returns ids and scores only (the fastest search).
        """
        request = SearchRequest.checked(k, where, mode, exact, ef, weights, rrf_k, include)
        texts, vectors = self._searcher.queries(query, False, request.mode)
        return self._searcher.run(texts, vectors, request)[0]

    def search_batch(
        self,
        queries: Sequence[str] | np.ndarray,
        k: int = 10,
        where: dict[str, Any] | None = None,
        mode: Mode = "dense",
        *,
        exact: bool = False,
        ef: int | None = None,
        weights: tuple[float, float] = (1.0, 1.0),
        rrf_k: int = RRF_K,
        include: Sequence[str] = INCLUDE_ALL,
    ) -> list[list[Hit]]:
        """``search`` for many queries at once (a list of texts or a matrix of vectors):
        one list of hits per query, in order. Faster than one call per query."""
        request = SearchRequest.checked(k, where, mode, exact, ef, weights, rrf_k, include)
        texts, vectors = self._searcher.queries(queries, True, request.mode)
        return self._searcher.run(texts, vectors, request)

    def more_like_this(
        self,
        ids: Sequence[str],
        negative_ids: Sequence[str] | None = None,
        k: int = 10,
        where: dict[str, Any] | None = None,
    ) -> list[Hit]:
        """Documents like ``ids`` and unlike ``negative_ids`` (Rocchio: mean of the positives
        minus half the mean of the negatives); the given documents are left out."""
        if isinstance(ids, str):
            ids = [ids]
        negative = self.document_vectors(list(negative_ids)) if negative_ids else None
        query = rocchio_query(self.document_vectors(list(ids)), negative, self.normalize)
        given = set(ids) | set(negative_ids or [])
        hits = self.search(query, k=k + len(given), where=where)
        return [h for h in hits if h.id not in given][:k]

    def document_vectors(self, ids: Sequence[str]) -> np.ndarray:
        """One vector per document, in the order of ``ids``: the mean of its chunk vectors
        (re-normalised in a normalised collection). A document of one chunk gets that chunk's
        vector exactly."""
        return document_vectors(self._store, self.config, self.name, ids)

    # --- maintenance --------------------------------------------------------------------------
    def flush(self) -> None:
        """Save derived state kept in memory (the HNSW index file on SQLite); also on close."""
        self._store.flush()

    def rebuild_index(self) -> dict[str, Any]:
        """Build the vector index again from the stored vectors; returns ``index_kind`` and
        ``vectors``."""
        self._store.rebuild_index()
        return {
            "index_kind": self._store.index_info()["index_kind"],
            "vectors": self._store.count_vectors(),
        }

    def verify(self) -> list[str]:
        """Problems between store, vector index and lexical index (empty: consistent)."""
        return self._store.verify()

    def export(self, batch: int = 1000) -> Iterable[tuple[list[NewDocument], np.ndarray]]:
        """Every document with its chunk spans and vectors, in batches (``semkit copy``)."""
        return self._store.export(batch)

    def add_exported(self, docs: Sequence[NewDocument], vectors: np.ndarray) -> int:
        """Write documents as ``export`` gives them (from a collection with the same model
        record), embedding nothing; documents already here with the same content are
        skipped. Returns how many were written."""
        check_vectors(vectors, self.config, self.name, "exported vectors")
        there = self._store.existing([d.id for d in docs])
        keep = [
            i
            for i, d in enumerate(docs)
            if d.id not in there or there[d.id].content_hash != d.content_hash
        ]
        if keep:
            starts = np.cumsum([0] + [len(d.spans) for d in docs])
            rows = np.concatenate([np.arange(starts[i], starts[i + 1]) for i in keep])
            self._store.write([docs[i] for i in keep], vectors[rows])
        return len(keep)

    def reindex(
        self,
        model: str | Embedder,
        *,
        dims: int | None = None,
        show_progress_bar: bool | None = None,
    ) -> WriteReport:
        """Re-embed every document with another model, on purpose, and switch to it."""
        if self.config.model is None:
            raise ModelError(
                f"collection {self.name!r} holds your own vectors; it has no model to re-embed with"
            )
        return self.db.reindex(self, model, dims=dims, show_progress_bar=show_progress_bar)
