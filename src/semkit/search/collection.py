"""``Collection``: the object users hold to add, get, delete and search documents.

A collection records the model fingerprint, dimension, metric and normalisation of
its vectors and refuses anything that does not match. Documents are chunked to the
model's limit (or truncated, MTEB's policy, with ``chunking={"truncate": True}``);
each chunk's vector is stored in SQLite with the document, and the vector index is
derived from the store (``semkit.index.sync``). Writes are committed in batches: a
batch is acknowledged (and survives a crash) once its commit returns, so an
interrupted bulk add can be re-run and embeds only what is missing.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from semkit.embedding.embedder import Embedder, check_texts
from semkit.errors import InputError, ModelError, NotFoundError
from semkit.index.lookup import lookup, rowid_table
from semkit.index.sync import IndexedVectors
from semkit.search.dense import DocMatch, search_documents
from semkit.search.filters import compile_where
from semkit.search.fusion import RRF_K, reciprocal_rank_fusion
from semkit.search.lexical import match_expression
from semkit.similarity import as_matrix, normalize_rows
from semkit.store.codec import content_hash, json_to_metadata, metadata_to_json, vector_to_blob
from semkit.store.sqlite import CollectionRecord, DocumentWrite, WriteResult
from semkit.types import Chunk, Document, Hit

if TYPE_CHECKING:
    from semkit.search.database import Database

Mode = Literal["dense", "lexical", "hybrid"]
MODES = ("dense", "lexical", "hybrid")
WRITE_BATCH = 256  # documents per commit: the unit of progress and of durability
HYBRID_DEPTH = 100  # each ranking fused in hybrid search is this deep (at least k)
INCLUDE_ALL = ("text", "metadata")  # what hits carry besides id and score
FILTER_CACHE_SIZE = 32  # filters whose matches are remembered per collection


@dataclass(frozen=True, slots=True)
class WriteReport:
    """What an add/upsert did."""

    ids: list[str]
    written: int = 0  # documents inserted or replaced
    unchanged: int = 0  # identical documents skipped
    metadata_only: int = 0  # documents whose metadata changed, text unchanged
    embedded: int = 0  # texts the model actually embedded (cache misses)


def auto_id(text: str | None, vector: np.ndarray | None) -> str:
    """A content-derived id, so re-adding the same text is a no-op."""
    h = hashlib.sha256((text or "").encode("utf-8"))
    if vector is not None:
        h.update(vector_to_blob(vector))
    return h.hexdigest()[:16]


class Collection:
    def __init__(self, db: Database, record: CollectionRecord, embedder: Embedder | None) -> None:
        self.db = db
        self.store = db.store
        self.record = record
        self.embedder = embedder
        self._filter_cache: OrderedDict[str, tuple[int, np.ndarray]] = OrderedDict()
        self._ids: tuple[int, np.ndarray, np.ndarray] | None = None  # for include=()
        cfg = record.config
        self.name = record.name
        self.dim = int(cfg["dim"])
        self.metric = str(cfg["metric"])
        self.normalize = bool(cfg["normalize"])
        self.vectors = IndexedVectors(
            db.store,
            record.id,
            db.index_dir,
            dim=self.dim,
            space="l2" if self.metric == "euclidean" else "ip",
            fingerprint=str(cfg.get("fingerprint") or "vectors"),
            kind=cfg["index"]["kind"],
            hnsw=cfg["index"].get("hnsw"),
        )

    # --- description --------------------------------------------------------------------------
    @property
    def config(self) -> dict[str, Any]:
        return dict(self.record.config)

    def count(self) -> int:
        return self.store.count(self.record.id)

    def __len__(self) -> int:
        return self.count()

    def __repr__(self) -> str:
        return (
            f"Collection({self.name!r}, model={self.record.config.get('model')!r}, "
            f"dim={self.dim}, metric={self.metric!r})"
        )

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
        return self._write(
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
        return self._write(
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
    ) -> WriteReport:
        """Stream ``Record(text, id, metadata)`` objects in committed batches (bulk ingest).

        Records without an id get one derived from their text, so a repeated text is
        one document; a repeated explicit id in one batch is an error.
        """
        reports: list[WriteReport] = []
        buffer: dict[str, Any] = {}
        skipped = 0

        def flush() -> None:
            reports.append(
                self._write(
                    [r.text for r in buffer.values()],
                    list(buffer),
                    [r.metadata for r in buffer.values()],
                    None,
                    replace=replace,
                    show_progress_bar=False,
                    batch_size=None,
                )
            )
            if progress is not None:
                progress(len(buffer))
            buffer.clear()

        for record in records:
            doc_id = record.id if record.id is not None else auto_id(record.text, None)
            if doc_id in buffer:
                if record.id is not None:
                    raise InputError(f"id {doc_id!r} appears twice in the input")
                skipped += 1  # the same text again: already queued
                continue
            buffer[doc_id] = record
            if len(buffer) >= batch:
                flush()
        if buffer:
            flush()
        return WriteReport(
            [i for r in reports for i in r.ids],
            sum(r.written for r in reports),
            sum(r.unchanged for r in reports) + skipped,
            sum(r.metadata_only for r in reports),
            sum(r.embedded for r in reports),
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
        existing = self.store.existing_with_metadata(self.record.id, ids)
        missing = [i for i in ids if i not in existing]
        if missing:
            raise NotFoundError(f"no document with id {missing[0]!r} in collection {self.name!r}")
        updates: list[tuple[int, str, bytes]] = []
        for doc_id, meta in zip(ids, metadatas, strict=True):
            if not isinstance(meta, dict):
                raise InputError(f"document {doc_id!r}: metadata must be a dict")
            rowid, content, old = existing[doc_id]
            new = metadata_to_json(
                {**json_to_metadata(old), **meta} if merge else meta, f"document {doc_id!r}"
            )
            if new != old:
                updates.append((rowid, new, content))
        if updates:
            version = self.store.update_metadata(self.record.id, updates)
            self.vectors.apply([], None, [], version)
        return len(updates)

    def _check_inputs(
        self,
        texts: Sequence[str] | None,
        ids: Sequence[str] | None,
        metadatas: Sequence[Any] | None,
        embeddings: Any,
    ) -> tuple[list[str | None], list[str], list[str], np.ndarray | None]:
        if texts is None and embeddings is None:
            raise InputError("give texts, embeddings, or both")
        if isinstance(texts, str):
            raise InputError("texts must be a list of strings, not one string")
        vectors = None
        if embeddings is not None:
            vectors = self._check_vectors(embeddings, "embeddings")
        n = len(texts) if texts is not None else len(vectors)  # type: ignore[arg-type]
        if texts is None and self.embedder is not None:
            raise InputError(
                f"collection {self.name!r} embeds text with a model; give texts "
                f"(with or without embeddings)"
            )
        items: list[str | None] = list(check_texts(texts)) if texts is not None else [None] * n
        if vectors is not None and len(vectors) != n:
            raise InputError(f"{len(vectors)} embeddings for {n} texts")
        if ids is None:
            id_list = [
                auto_id(t, None if vectors is None else vectors[i]) for i, t in enumerate(items)
            ]
        else:
            if isinstance(ids, str) or len(ids) != n:
                raise InputError(f"ids must be a list of {n} strings")
            id_list = []
            for i, doc_id in enumerate(ids):
                if not isinstance(doc_id, str) or not doc_id:
                    raise InputError(f"id #{i} must be a non-empty string, got {doc_id!r}")
                id_list.append(doc_id)
        seen: set[str] = set()
        for doc_id in id_list:
            if doc_id in seen:
                raise InputError(f"id {doc_id!r} appears twice in one call")
            seen.add(doc_id)
        if metadatas is not None and len(metadatas) != n:
            raise InputError(f"{len(metadatas)} metadatas for {n} documents")
        metas = [
            metadata_to_json(
                metadatas[i] if metadatas is not None else None, f"document {id_list[i]!r}"
            )
            for i in range(n)
        ]
        return items, id_list, metas, vectors

    def _check_vectors(self, vectors: Any, what: str) -> np.ndarray:
        matrix = as_matrix(vectors, what)
        if matrix.shape[1] != self.dim:
            raise InputError(
                f"{what} have {matrix.shape[1]} dimensions; collection "
                f"{self.name!r} holds {self.dim}-dimensional vectors"
            )
        if self.normalize:
            matrix = normalize_rows(matrix, what)
        return np.ascontiguousarray(matrix, dtype=np.float32)

    def _write(
        self,
        texts: Sequence[str] | None,
        ids: Sequence[str] | None,
        metadatas: Sequence[Any] | None,
        embeddings: Any,
        *,
        replace: bool,
        show_progress_bar: bool | None,
        batch_size: int | None,
    ) -> WriteReport:
        items, id_list, metas, vectors = self._check_inputs(texts, ids, metadatas, embeddings)
        hashes = [
            content_hash(t, "" if vectors is None else vector_to_blob(vectors[i]).hex())
            for i, t in enumerate(items)
        ]
        written = unchanged = meta_only = embedded = 0
        from tqdm.auto import tqdm

        show = bool(show_progress_bar) if show_progress_bar is not None else False
        with tqdm(
            total=len(items),
            desc=f"Adding to {self.name}",
            unit="doc",
            disable=not show,
            leave=False,
        ) as bar:
            for start in range(0, len(items), WRITE_BATCH):
                part = range(start, min(start + WRITE_BATCH, len(items)))
                existing = self.store.existing_with_metadata(
                    self.record.id, [id_list[i] for i in part]
                )
                todo: list[int] = []
                meta_updates: list[tuple[int, str, bytes]] = []
                for i in part:
                    old = existing.get(id_list[i])
                    if old is None:
                        todo.append(i)
                    elif old[1] == hashes[i]:
                        if old[2] == metas[i]:
                            unchanged += 1
                        elif replace:
                            meta_updates.append((old[0], metas[i], hashes[i]))
                        else:
                            raise InputError(
                                f"id {id_list[i]!r} already exists with other "
                                f"metadata; use upsert to replace it"
                            )
                    elif replace:
                        todo.append(i)
                    else:
                        raise InputError(
                            f"id {id_list[i]!r} already exists with different "
                            f"content; use upsert to replace it"
                        )
                if meta_updates:
                    version = self.store.update_metadata(self.record.id, meta_updates)
                    self.vectors.apply([], None, [], version)
                    meta_only += len(meta_updates)
                if todo:
                    embedded += self._write_batch(
                        todo, items, id_list, metas, hashes, vectors, batch_size
                    )
                    written += len(todo)
                bar.update(len(part))
        return WriteReport(id_list, written, unchanged, meta_only, embedded)

    def _chunks_of(self, text: str) -> list[Chunk]:
        assert self.embedder is not None
        if self.record.config["chunking"].get("truncate"):
            return [Chunk(text, 0, len(text), 0)]  # MTEB's policy: the model truncates
        chunking = self.record.config["chunking"]
        return self.embedder.chunk(
            text, max_tokens=chunking.get("max_tokens"), overlap=int(chunking.get("overlap", 32))
        )

    def _write_batch(
        self,
        todo: list[int],
        items: list[str | None],
        ids: list[str],
        metas: list[str],
        hashes: list[bytes],
        vectors: np.ndarray | None,
        batch_size: int | None,
    ) -> int:
        docs: list[DocumentWrite] = []
        batch_vectors: list[np.ndarray] = []
        if vectors is not None:  # bring-your-own: one vector per document
            for i in todo:
                text = items[i]
                span = (0, 0, len(text) if text else 0)
                docs.append(
                    DocumentWrite(
                        ids[i], text, metas[i], hashes[i], [(*span, vector_to_blob(vectors[i]))]
                    )
                )
                batch_vectors.append(vectors[i][None, :])
            embedded = 0
        else:
            assert self.embedder is not None
            chunk_lists = [self._chunks_of(items[i] or "") for i in todo]
            flat = [c.text for chunks in chunk_lists for c in chunks]
            if self.record.config["chunking"].get("truncate"):
                import warnings

                from semkit.embedding.embedder import TruncationWarning

                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", TruncationWarning)
                    matrix = self.embedder.encode(flat, batch_size=batch_size)
            else:
                matrix = self.embedder.encode(flat, batch_size=batch_size)
            embedded = self.embedder.last_stats.embedded
            pos = 0
            for i, chunks in zip(todo, chunk_lists, strict=True):
                rows = []
                for c in chunks:
                    rows.append((c.index, c.start, c.end, vector_to_blob(matrix[pos])))
                    pos += 1
                docs.append(DocumentWrite(ids[i], items[i], metas[i], hashes[i], rows))
            batch_vectors.append(matrix)
        result: WriteResult = self.store.write_documents(self.record.id, docs)
        self.vectors.apply(
            result.added, np.concatenate(batch_vectors), result.removed, result.version
        )
        return embedded

    def delete(self, ids: Sequence[str] | None = None, where: dict[str, Any] | None = None) -> int:
        """Delete documents by id and/or filter; returns how many were deleted."""
        rowids = self._select(ids, where)
        if len(rowids) == 0:
            return 0
        result = self.store.delete_documents(self.record.id, rowids.tolist())
        self.vectors.apply([], None, result.removed, result.version)
        return len(rowids)

    def _select(self, ids: Sequence[str] | None, where: dict[str, Any] | None) -> np.ndarray:
        if ids is None and where is None:
            raise InputError("give ids, where, or both (to delete everything, drop the collection)")
        if isinstance(ids, str):
            ids = [ids]
        selected: np.ndarray | None = None
        if ids is not None:
            found = self.store.rowids_for_ids(self.record.id, list(ids))
            selected = np.asarray(sorted(found.values()), dtype=np.int64)
        if where is not None:
            sql, params = compile_where(where)
            matched = self.store.rowids(self.record.id, sql, params)
            selected = matched if selected is None else np.intersect1d(selected, matched)
        assert selected is not None
        return selected

    # --- reading ------------------------------------------------------------------------------
    def get(
        self,
        ids: Sequence[str] | None = None,
        where: dict[str, Any] | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Document]:
        """Documents by id (in the order given; missing ids are skipped), by filter, or all."""
        if ids is not None:
            if isinstance(ids, str):
                ids = [ids]
            rowids = self.store.rowids_for_ids(self.record.id, list(ids))
            docs = self.store.documents(list(rowids.values()))
            out = [docs[rowids[i]] for i in ids if i in rowids]
            if where is not None:
                keep = {d.id for d in self.get(where=where)}
                out = [d for d in out if d.id in keep]
            return out[offset:][:limit] if limit is not None else out[offset:]
        sql, params = compile_where(where)
        return self.store.list_documents(self.record.id, sql, params, limit, offset)

    # --- searching ----------------------------------------------------------------------------
    def search(
        self,
        query: str | Sequence[str] | np.ndarray,
        k: int = 10,
        where: dict[str, Any] | None = None,
        mode: Mode = "dense",
        *,
        exact: bool = False,
        ef: int | None = None,
        weights: tuple[float, float] = (1.0, 1.0),
        rrf_k: int = RRF_K,
        include: Sequence[str] = INCLUDE_ALL,
    ) -> list[Hit] | list[list[Hit]]:
        """The ``k`` best documents for a query (text or vector) or a batch of queries.

        ``mode``: "dense" (embeddings), "lexical" (BM25) or "hybrid" (weighted
        reciprocal rank fusion of both; ``weights`` = (dense, lexical)). Scores:
        cosine similarity (dense, cosine collections), BM25 (lexical), fused RRF
        score (hybrid); higher is better. ``where`` filters on metadata; a filtered
        search returns ``min(k, matching documents)`` hits. ``exact`` bypasses HNSW.
        ``include``: what hits carry besides id and score: "text" (the document and its
        best chunk) and "metadata"; ``include=()`` returns ids and scores from memory,
        without reading documents (the fastest search; the id table is loaded once per
        change of the collection).
        """
        unknown = set(include) - set(INCLUDE_ALL)
        if unknown:
            raise InputError(
                f"include: unknown field(s) {sorted(unknown)}; use {list(INCLUDE_ALL)}"
            )
        if mode not in MODES:
            raise InputError(f"unknown mode {mode!r}; use one of {list(MODES)}")
        if not isinstance(k, int) or k < 1:
            raise InputError(f"k must be a positive integer, got {k!r}")
        single, texts, qvecs = self._queries(
            query, need_vectors=mode != "lexical", need_text=mode != "dense"
        )
        n = len(texts) if texts is not None else len(qvecs)  # type: ignore[arg-type]
        matched: np.ndarray | None = None
        sql, params = compile_where(where)
        if where:
            matched = self._matching(where, sql, params)
            if len(matched) == 0:
                empty: list[list[Hit]] = [[] for _ in range(n)]
                return empty[0] if single else empty
        if mode == "dense":
            assert qvecs is not None
            ranked = self._dense(qvecs, k, matched, exact, ef)
        elif mode == "lexical":
            assert texts is not None
            ranked = [self._lexical(t, k, sql if where else None, params) for t in texts]
        else:
            assert qvecs is not None and texts is not None
            depth = max(k, HYBRID_DEPTH)
            dense = self._dense(qvecs, depth, matched, exact, ef)
            ranked = []
            for d, t in zip(dense, texts, strict=True):
                lex = self._lexical(t, depth, sql if where else None, params)
                best_chunk = {m.rowid: m.label for m in d}
                fused = reciprocal_rank_fusion(
                    [[m.rowid for m in d], [m.rowid for m in lex]], weights, rrf_k
                )[:k]
                ranked.append(
                    [
                        DocMatch(int(r), s, best_chunk.get(int(r), -1))  # type: ignore[call-overload]
                        for r, s in fused
                    ]
                )
        hits = self._hits(ranked) if include else self._bare_hits(ranked)
        if include and set(include) != set(INCLUDE_ALL):
            keep_text, keep_meta = "text" in include, "metadata" in include
            hits = [
                [
                    Hit(
                        h.id,
                        h.score,
                        h.text if keep_text else None,
                        h.metadata if keep_meta else {},
                        h.chunk if keep_text else None,
                    )
                    for h in hs
                ]
                for hs in hits
            ]
        return hits[0] if single else hits

    def _queries(
        self, query: Any, need_vectors: bool, need_text: bool
    ) -> tuple[bool, list[str] | None, np.ndarray | None]:
        if isinstance(query, str):
            single, texts = True, [query]
        elif isinstance(query, np.ndarray) or (
            isinstance(query, Sequence) and query and not isinstance(query[0], str)
        ):
            arr = np.asarray(query, dtype=np.float32)
            if need_text:
                raise InputError("lexical and hybrid search need query text, not a vector")
            return arr.ndim == 1, None, self._check_vectors(arr, "query vector")
        elif isinstance(query, Sequence) and query:
            single, texts = False, list(query)
        else:
            raise InputError("query must be a text, a list of texts, or a vector")
        check_texts(texts)
        qvecs = None
        if need_vectors:
            if self.embedder is None:
                raise InputError(
                    f"collection {self.name!r} has no model; search it with a query vector"
                )
            qvecs = self.embedder.encode(texts, kind="query")
        return single, texts, qvecs

    def _matching(self, where: dict[str, Any], sql: str, params: Sequence[Any]) -> np.ndarray:
        """Rowids a filter matches, remembered until the collection changes.

        Applications repeat the same few filters; evaluating one is a scan of the
        metadata (tens of ms at 100k documents), remembering it costs one version check.
        """
        key = json.dumps(where, sort_keys=True, default=str)
        version = self.store.version(self.record.id)
        cached = self._filter_cache.get(key)
        if cached is not None and cached[0] == version:
            self._filter_cache.move_to_end(key)
            return cached[1]
        rowids = self.store.rowids(self.record.id, sql, params)
        self._filter_cache[key] = (version, rowids)
        while len(self._filter_cache) > FILTER_CACHE_SIZE:
            self._filter_cache.popitem(last=False)
        return rowids

    def _dense(
        self, qvecs: np.ndarray, k: int, matched: np.ndarray | None, exact: bool, ef: int | None
    ) -> list[list[DocMatch]]:
        allowed = None if matched is None else self.vectors.labels_of(matched)
        n_docs = None if matched is None else len(matched)
        return search_documents(self.vectors, qvecs, k, allowed, n_docs, exact, ef)

    def _lexical(
        self, text: str, k: int, where_sql: str | None, params: Sequence[Any]
    ) -> list[DocMatch]:
        match = match_expression(text)
        if match is None:
            return []
        return [
            DocMatch(r, s, -1)
            for r, s in self.store.lexical(self.record.id, match, k, where_sql, params)
        ]

    def _bare_hits(self, ranked: list[list[DocMatch]]) -> list[list[Hit]]:
        """Ids and scores only, from an in-memory id table (reloaded when the store changed)."""
        version = self.store.version(self.record.id)
        if self._ids is None or self._ids[0] != version:
            _, rowids, ids = self.store.id_map(self.record.id)
            positions = rowid_table(rowids, np.arange(len(rowids)))
            self._ids = (version, positions, np.append(ids, None))  # ids[-1]: not found
        _, positions, ids = self._ids
        flat = [m for matches in ranked for m in matches]
        wanted = np.fromiter((m.rowid for m in flat), dtype=np.int64, count=len(flat))
        found_ids = ids[lookup(positions, wanted)].tolist()
        hits = list(map(Hit, found_ids, [m.score for m in flat]))
        ends = list(accumulate(len(matches) for matches in ranked))
        out = [hits[start:end] for start, end in zip([0, *ends], ends, strict=False)]
        if None in found_ids:  # deleted since the search (by another process): left out
            out = [[h for h in hs if h.id is not None] for hs in out]
        return out

    def _hits(self, ranked: list[list[DocMatch]]) -> list[list[Hit]]:
        labels = {m.label for ms in ranked for m in ms if m.label >= 0}
        unlabelled = {m.rowid for ms in ranked for m in ms if m.label < 0}
        docs, spans = self.store.hit_rows(sorted(labels), sorted(unlabelled))
        out = []
        for matches in ranked:
            hits = []
            for m in matches:
                doc = docs.get(m.rowid)
                if doc is None:  # deleted by another process since the search: skip
                    continue
                chunk = None
                span = spans.get(m.label)
                if span is not None and doc.text is not None:
                    _, idx, start, end = span
                    chunk = Chunk(doc.text[start:end], start, end, idx)
                hits.append(Hit(doc.id, float(m.score), doc.text, doc.metadata, chunk))
            out.append(hits)
        return out

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
        positive = self.document_vectors(list(ids))
        query = positive.mean(0)
        if negative_ids:
            query = query - 0.5 * self.document_vectors(list(negative_ids)).mean(0)
        if not np.any(query):
            raise InputError("the positive and negative examples cancel out")
        if self.normalize:
            query = query / np.linalg.norm(query)
        given = set(ids) | set(negative_ids or [])
        hits = self.search(query, k=k + len(given), where=where)
        assert isinstance(hits, list)
        return [h for h in hits if isinstance(h, Hit) and h.id not in given][:k]

    def document_vectors(self, ids: Sequence[str]) -> np.ndarray:
        """One vector per document, in the order of ``ids``: the mean of its chunk vectors
        (re-normalised in a normalised collection). A document of one chunk gets that chunk's
        vector exactly."""
        ids = [ids] if isinstance(ids, str) else list(ids)
        rowids = self.store.rowids_for_ids(self.record.id, ids)
        missing = [i for i in ids if i not in rowids]
        if missing:
            raise NotFoundError(f"no document with id {missing[0]!r} in collection {self.name!r}")
        wanted = np.fromiter((rowids[i] for i in ids), dtype=np.int64, count=len(ids))
        index = self.vectors.index()
        labels = self.vectors.labels_of(wanted)
        owners = self.vectors.doc_rowids(labels)
        chunk_vectors = index.vectors_of(labels).astype(np.float32, copy=False)
        unique, slot = np.unique(owners, return_inverse=True)
        sums = np.zeros((len(unique), self.dim), dtype=np.float64)
        np.add.at(sums, slot, chunk_vectors)
        means = (sums / np.bincount(slot, minlength=len(unique))[:, None]).astype(np.float32)
        if self.normalize:
            means = normalize_rows(means)
        return means[np.searchsorted(unique, wanted)]

    # --- maintenance --------------------------------------------------------------------------
    def flush(self) -> int:
        """Save the HNSW index file if it changed (also done on close)."""
        return self.vectors.persist()

    def rebuild_index(self) -> None:
        self.vectors.rebuild()

    def verify(self) -> list[str]:
        problems = self.store.integrity(self.record.id, self.dim)
        return problems + self.vectors.verify()

    def info(self) -> dict[str, Any]:
        cfg = self.record.config
        index_file = self.vectors.path
        return {
            "name": self.name,
            "documents": self.count(),
            "vectors": self.store.count_chunks(self.record.id),
            "model": cfg.get("model"),
            "model_id": cfg.get("model_id"),
            "fingerprint": cfg.get("fingerprint"),
            "dim": self.dim,
            "dims": cfg.get("dims"),
            "metric": self.metric,
            "normalize": self.normalize,
            "chunking": cfg["chunking"],
            "index": cfg["index"]["kind"],
            "index_file_bytes": index_file.stat().st_size if index_file.exists() else 0,
        }

    def reindex(
        self,
        model: str | Embedder,
        *,
        dims: int | None = None,
        show_progress_bar: bool | None = None,
    ) -> WriteReport:
        """Re-embed every document with another model, on purpose, and switch to it."""
        if self.record.config.get("model") is None:
            raise ModelError(
                f"collection {self.name!r} holds your own vectors; it has no model to re-embed with"
            )
        return self.db.reindex(self, model, dims=dims, show_progress_bar=show_progress_bar)
