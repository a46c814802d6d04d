"""Adding documents: input checks, change detection, chunking, embedding, committed batches.

Everything is checked before anything is written: texts (non-empty), ids (non-empty,
unique in a call), metadata (JSON), vectors (the collection's dimension, finite,
not zero), and so are conflicts with stored documents, so a refused call writes
nothing. Documents are compared with what is stored by a content hash: an identical
document is skipped, a metadata-only change embeds nothing, and only new or changed
text reaches the model. Writes are committed
in batches of ``WRITE_BATCH`` documents: a batch is acknowledged (and survives a
crash) once the backend's write returns, so an interrupted bulk add can be re-run and
embeds only what is missing. A batch's metadata-only changes are committed in the
same transaction as its new documents, after they were embedded: a failure while
embedding leaves the batch unwritten.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from semkit.embedding.embedder import Embedder, TruncationWarning, check_texts
from semkit.errors import InputError
from semkit.search.backends.base import CollectionStore, NewDocument
from semkit.search.config import CollectionConfig
from semkit.similarity import as_matrix, normalize_rows
from semkit.store.codec import content_hash, metadata_to_json, vector_to_blob
from semkit.types import Chunk

WRITE_BATCH = 256  # documents per commit: the unit of progress and of durability
# Chunk spans and vectors of documents embedded elsewhere, by document id.
Prepared = Mapping[str, tuple[list[tuple[int, int, int]], np.ndarray]]


@dataclass(frozen=True, slots=True)
class WriteReport:
    """What an add/upsert did."""

    ids: list[str]
    written: int = 0  # documents inserted or replaced
    unchanged: int = 0  # identical documents skipped
    metadata_only: int = 0  # documents whose metadata changed, text unchanged
    embedded: int = 0  # texts the model actually embedded (cache misses)

    @staticmethod
    def total(reports: Sequence[WriteReport], skipped: int = 0) -> WriteReport:
        return WriteReport(
            [i for r in reports for i in r.ids],
            sum(r.written for r in reports),
            sum(r.unchanged for r in reports) + skipped,
            sum(r.metadata_only for r in reports),
            sum(r.embedded for r in reports),
        )


def auto_id(text: str | None, vector: np.ndarray | None) -> str:
    """A content-derived id, so re-adding the same text is a no-op."""
    h = hashlib.sha256((text or "").encode("utf-8"))
    if vector is not None:
        h.update(vector_to_blob(vector))
    return h.hexdigest()[:16]


def check_vectors(vectors: Any, config: CollectionConfig, name: str, what: str) -> np.ndarray:
    """Vectors as float32 ``(n, dim)``: the collection's dimension, finite, never zero;
    unit length in a normalised collection."""
    if (
        isinstance(vectors, np.ndarray)
        and vectors.dtype == np.float32
        and vectors.ndim == 1
        and len(vectors) == config.dim
    ):
        # one query vector, the common case of a search: a few numpy calls instead of a dozen
        # (cold, between database round trips, each costs microseconds); NaN and infinity
        # make the squared norm non-finite, which the full checks below then name
        square = float(np.dot(vectors, vectors))
        if math.isfinite(square) and square > 0:
            unit = vectors / np.float32(math.sqrt(square)) if config.normalize else vectors
            return np.ascontiguousarray(unit[None, :])
    matrix = as_matrix(vectors, what)
    if matrix.shape[1] != config.dim:
        raise InputError(
            f"{what} have {matrix.shape[1]} dimensions; collection "
            f"{name!r} holds {config.dim}-dimensional vectors"
        )
    if config.normalize:
        matrix = normalize_rows(matrix, what)
    else:
        zero = ~matrix.any(axis=1)
        if zero.any():
            raise InputError(f"{what} row {int(np.argmax(zero))} is a zero vector")
    return np.ascontiguousarray(matrix, dtype=np.float32)


class Ingest:
    """Writes of one collection: ``write`` for texts/vectors, ``records`` for streams."""

    def __init__(
        self,
        store: CollectionStore,
        config: CollectionConfig,
        name: str,
        embedder: Embedder | None,
    ) -> None:
        self.store, self.config, self.name, self.embedder = store, config, name, embedder

    # --- checks -----------------------------------------------------------------------------
    def check(
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
            vectors = check_vectors(embeddings, self.config, self.name, "embeddings")
        n = len(texts) if texts is not None else len(vectors)  # type: ignore[arg-type]
        if texts is None and self.embedder is not None:
            raise InputError(
                f"collection {self.name!r} embeds text with a model; give texts "
                f"(with or without embeddings)"
            )
        items: list[str | None] = list(check_texts(texts)) if texts is not None else [None] * n
        if vectors is not None and len(vectors) != n:
            raise InputError(f"{len(vectors)} embeddings for {n} texts")
        id_list = self._ids(ids, items, vectors, n)
        if metadatas is not None and len(metadatas) != n:
            raise InputError(f"{len(metadatas)} metadatas for {n} documents")
        metas = [
            metadata_to_json(
                metadatas[i] if metadatas is not None else None, f"document {id_list[i]!r}"
            )
            for i in range(n)
        ]
        return items, id_list, metas, vectors

    @staticmethod
    def _ids(
        ids: Sequence[str] | None, items: list[str | None], vectors: np.ndarray | None, n: int
    ) -> list[str]:
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
        return id_list

    # --- writing ----------------------------------------------------------------------------
    def write(
        self,
        texts: Sequence[str] | None,
        ids: Sequence[str] | None,
        metadatas: Sequence[Any] | None,
        embeddings: Any,
        *,
        replace: bool,
        show_progress_bar: bool | None = None,
        batch_size: int | None = None,
        prepared: Prepared | None = None,
    ) -> WriteReport:
        """Check, plan and write in committed batches. ``prepared`` maps ids to chunk spans
        and vectors computed elsewhere (by ``embed_documents`` in other processes, see
        ``semkit.distributed``): documents found there are not embedded again."""
        items, id_list, metas, vectors = self.check(texts, ids, metadatas, embeddings)
        hashes = [
            content_hash(t, "" if vectors is None else vector_to_blob(vectors[i]).hex())
            for i, t in enumerate(items)
        ]
        plan, unchanged = self._plan(id_list, metas, hashes, replace)
        written = meta_only = embedded = 0
        from tqdm.auto import tqdm

        with tqdm(
            total=len(items),
            desc=f"Adding to {self.name}",
            unit="doc",
            disable=not show_progress_bar,
            leave=False,
        ) as bar:
            for size, todo, meta_updates in plan:
                docs = [NewDocument(id_list[i], items[i], metas[i], hashes[i]) for i in todo]
                if vectors is not None:  # bring-your-own: one vector per document
                    for doc in docs:
                        doc.spans = [(0, 0, len(doc.text) if doc.text else 0)]
                    matrix = vectors[todo]
                elif docs:
                    matrix, n_embedded = self._vectors(docs, batch_size, prepared)
                    embedded += n_embedded
                else:
                    matrix = np.zeros((0, self.config.dim), dtype=np.float32)
                if docs or meta_updates:
                    self.store.write(docs, matrix, meta_updates)
                written += len(todo)
                meta_only += len(meta_updates)
                bar.update(size)
        return WriteReport(id_list, written, unchanged, meta_only, embedded)

    def _plan(
        self, id_list: list[str], metas: list[str], hashes: list[bytes], replace: bool
    ) -> tuple[list[tuple[int, list[int], list[tuple[int, str, bytes]]]], int]:
        """What each batch writes: ``(size, new or changed positions, metadata updates)``,
        and how many documents are unchanged. Decided for the whole call before anything
        is written, so a conflict refuses the call without writing any of it."""
        plan = []
        unchanged = 0
        for start in range(0, len(id_list), WRITE_BATCH):
            part = range(start, min(start + WRITE_BATCH, len(id_list)))
            existing = self.store.existing([id_list[i] for i in part])
            todo: list[int] = []
            meta_updates: list[tuple[int, str, bytes]] = []
            for i in part:
                old = existing.get(id_list[i])
                if old is None:
                    todo.append(i)
                elif old.content_hash == hashes[i]:
                    if old.metadata_json == metas[i]:
                        unchanged += 1
                    elif replace:
                        meta_updates.append((old.key, metas[i], hashes[i]))
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
            plan.append((len(part), todo, meta_updates))
        return plan, unchanged

    def _chunks_of(self, text: str) -> list[Chunk]:
        assert self.embedder is not None
        chunking = self.config.chunking
        if chunking.truncate:
            return [Chunk(text, 0, len(text), 0)]  # MTEB's policy: the model truncates
        return self.embedder.chunk(text, max_tokens=chunking.max_tokens, overlap=chunking.overlap)

    def _vectors(
        self, docs: list[NewDocument], batch_size: int | None, prepared: Prepared | None
    ) -> tuple[np.ndarray, int]:
        """The chunk vectors of ``docs`` (filling in their spans) and how many texts the
        model embedded for them: taken from ``prepared`` where it has them, embedded here
        otherwise (a document that changed after the workers looked at the store)."""
        todo = [d for d in docs if prepared is None or d.id not in prepared]
        fresh = self.embed_documents(todo, batch_size) if todo else None
        embedded = self.embedder.last_stats.embedded if todo else 0  # type: ignore[union-attr]
        if prepared is None:
            assert fresh is not None
            return fresh, embedded
        parts: list[np.ndarray] = []
        row = 0
        for doc in docs:
            if doc.id in prepared:
                doc.spans, matrix = prepared[doc.id]
                if matrix.shape != (len(doc.spans), self.config.dim):
                    raise InputError(
                        f"document {doc.id!r}: {matrix.shape} vectors for {len(doc.spans)} "
                        f"chunks of dimension {self.config.dim}"
                    )
            else:
                assert fresh is not None
                matrix = fresh[row : row + len(doc.spans)]
                row += len(doc.spans)
            parts.append(matrix)
        return np.concatenate(parts).astype(np.float32, copy=False), embedded

    def embed_documents(self, docs: list[NewDocument], batch_size: int | None) -> np.ndarray:
        """Chunk and embed the documents' texts; fills in each document's spans."""
        assert self.embedder is not None
        flat: list[str] = []
        for doc in docs:
            chunks = self._chunks_of(doc.text or "")
            doc.spans = [(c.index, c.start, c.end) for c in chunks]
            flat += [c.text for c in chunks]
        if self.config.chunking.truncate:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", TruncationWarning)
                return self.embedder.encode(flat, batch_size=batch_size)
        return self.embedder.encode(flat, batch_size=batch_size)

    def records(
        self,
        records: Iterable[Any],
        *,
        replace: bool,
        batch: int,
        progress: Callable[[int], None] | None,
        prepared: Prepared | None = None,
    ) -> WriteReport:
        """Stream ``Record(text, id, metadata)`` objects in committed batches."""
        reports: list[WriteReport] = []
        buffer: dict[str, Any] = {}
        skipped = 0

        def flush() -> None:
            reports.append(
                self.write(
                    [r.text for r in buffer.values()],
                    list(buffer),
                    [r.metadata for r in buffer.values()],
                    None,
                    replace=replace,
                    prepared=prepared,
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
        return WriteReport.total(reports, skipped)
