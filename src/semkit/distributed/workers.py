"""What runs inside Ray: parsing blocks of input, embedding them, writing them.

Plain classes and functions of Arrow tables (Ray Data's ``map_batches`` calls them); no
Ray import here, so they are tested and read like the rest of semkit. Each stage reuses
the local path's own code: rows become records through ``semkit.text.io``, texts become
vectors through ``Embedder`` (same model spec, inference path, normalisation and cache
keys), documents become chunks and vectors through ``Ingest.embed_documents``, and
PostgreSQL writes go through ``Collection.add_records``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from semkit.embedding.embedder import Embedder
from semkit.search.backends.base import NewDocument
from semkit.search.config import CollectionConfig
from semkit.search.ingest import Ingest, WriteReport, auto_id
from semkit.store.codec import content_hash, json_to_metadata, metadata_to_json
from semkit.text.io import Record, jsonl_rows, records_from_rows, vectors_table

# Columns of a parsed block: the record's own id (null: none given), text, metadata JSON.
PARSED = ("id", "text", "metadata")


@dataclass(frozen=True)
class EmbedderSpec:
    """How a worker builds its ``Embedder``: the driver's model spec and inference path,
    resolved once on the driver so every worker takes the same path."""

    model: str
    dims: int | None = None
    normalize: bool = True
    backend: str | None = None  # a local model's path ("torch-bf16", ...); None: not local
    fingerprint: str = ""  # the driver's: a node with other model files is refused
    cache: str | bool = True  # True: the worker's own user cache (its SEMKIT_CACHE_DIR)
    threads: int = 1  # the worker's CPUs: torch and ONNX Runtime use as many threads

    @classmethod
    def of(
        cls, emb: Embedder, model: str, cache: str | bool = True, threads: int = 1
    ) -> EmbedderSpec:
        backend = getattr(emb.provider, "backend", None)
        if backend == "auto":  # the path the local path takes for many texts
            backend = emb.provider.variant_for(1_000)
        return cls(
            model, emb.dims, emb.normalize_embeddings, backend, emb.fingerprint, cache, threads
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def build(self) -> Embedder:
        import os
        import sys

        from semkit.errors import ModelError

        os.environ["OMP_NUM_THREADS"] = str(self.threads)  # read when torch/ORT start
        if "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(self.threads)

        options: dict[str, Any] = {"backend": self.backend} if self.backend else {}
        emb = Embedder(
            self.model,
            dims=self.dims,
            normalize_embeddings=self.normalize,
            cache=self.cache,
            **options,
        )
        if self.fingerprint and emb.fingerprint != self.fingerprint:
            raise ModelError(
                f"model {self.model!r} on this Ray node has fingerprint {emb.fingerprint}, "
                f"the driver's has {self.fingerprint}: install the same model files on every node"
            )
        return emb


def record_digest(doc_id: str, text: str) -> int:
    """A 64-bit digest of (id, content hash): a document stored unchanged is skipped."""
    h = hashlib.sha256(doc_id.encode("utf-8") + b"\0" + content_hash(text, ""))
    return int.from_bytes(h.digest()[:8], "little")


def digests_of(ids: list[str], texts: list[str]) -> np.ndarray:
    return np.fromiter((record_digest(i, t) for i, t in zip(ids, texts, strict=True)), np.uint64)


# --- parsing ------------------------------------------------------------------------------
class ParseRecords:
    """Rows of a block to ``PARSED`` columns, as ``semkit.text.io.read_records`` reads the
    same file: JSON lines (a block of Ray Data's ``read_text``) or Parquet rows."""

    def __init__(self, fmt: str, name: str, text_field: str | None, id_field: str | None):
        self.fmt, self.name = fmt, name
        self.text_field, self.id_field = text_field, id_field

    def _rows(self, batch: pa.Table) -> Iterator[tuple[int, dict[str, Any]]]:
        if self.fmt == "jsonl":
            lines = batch.column("text").to_pylist()  # a file's first line may carry a BOM
            return jsonl_rows((line.lstrip("\ufeff") for line in lines), self.name)
        return enumerate(batch.to_pylist(), 1)

    def __call__(self, batch: pa.Table) -> pa.Table:
        ids, texts, metas = [], [], []
        for record in records_from_rows(
            self._rows(batch), Path(self.name), self.text_field, self.id_field
        ):
            ids.append(record.id)
            texts.append(record.text)
            metas.append(metadata_to_json(record.metadata or None, f"a record of {self.name}"))
        return pa.table(
            {"id": pa.array(ids, pa.string()), "text": texts, "metadata": metas},
        )


def records_of(batch: pa.Table) -> list[Record]:
    """``PARSED`` columns back to records."""
    return [
        Record(text, doc_id, json_to_metadata(meta))
        for doc_id, text, meta in zip(
            batch.column("id").to_pylist(),
            batch.column("text").to_pylist(),
            batch.column("metadata").to_pylist(),
            strict=True,
        )
    ]


def ids_of(batch: pa.Table) -> list[str]:
    """Each record's id: its own, else the one a collection derives from its text."""
    return [
        doc_id or auto_id(text, None)
        for doc_id, text in zip(
            batch.column("id").to_pylist(), batch.column("text").to_pylist(), strict=True
        )
    ]


# --- embedding texts (semkit embed) -------------------------------------------------------
class EmbedTexts:
    """Each record's text to a vector: ``id`` (given, else derived from the text as a
    collection derives it), ``text``, ``embedding``; ``embedded`` counts cache misses."""

    def __init__(self, spec: dict[str, Any], kind: str, batch_size: int | None = None):
        self.embedder = EmbedderSpec(**spec).build()
        self.kind, self.batch_size = kind, batch_size

    def __call__(self, batch: pa.Table) -> pa.Table:
        texts = batch.column("text").to_pylist()
        ids = ids_of(batch)
        vectors = self.embedder.encode(texts, kind=self.kind, batch_size=self.batch_size)  # type: ignore[arg-type]
        embedded = [0] * len(texts)
        if texts:
            embedded[0] = self.embedder.last_stats.embedded
        return vectors_table(ids, texts, vectors).append_column(
            "embedded", pa.array(embedded, pa.int64())
        )


# --- embedding documents for a collection (semkit add, SQLite: the driver writes) ------------
class EmbedDocuments:
    """Chunks and chunk vectors of each record, as the collection's ``Ingest`` makes them.

    Records whose (id, text) the collection already holds (``skip``: ``record_digest``s,
    sorted) are passed through unembedded: a resumed run embeds only what is missing.
    Output: the ``PARSED`` columns, ``spans`` (flat ``index, start, end`` triples; null:
    not embedded), ``vectors`` (the chunk vectors, little-endian float32 bytes) and
    ``embedded`` (cache misses, on the batch's first row)."""

    def __init__(
        self,
        spec: dict[str, Any],
        config: dict[str, Any],
        name: str,
        skip: np.ndarray | None = None,
        batch_size: int | None = None,
    ):
        self.ingest = Ingest(
            None,  # type: ignore[arg-type]  # embeds only; the driver writes
            CollectionConfig.from_dict(config),
            name,
            EmbedderSpec(**spec).build(),
        )
        self.skip = skip if skip is not None and len(skip) else None
        self.batch_size = batch_size

    def __call__(self, batch: pa.Table) -> pa.Table:
        texts = batch.column("text").to_pylist()
        ids = ids_of(batch)
        todo = list(range(len(texts)))
        if self.skip is not None:
            stored = np.isin(digests_of(ids, texts), self.skip)
            todo = [i for i in todo if not stored[i]]
        docs = [NewDocument(ids[i], texts[i], "", b"") for i in todo]
        matrix = self.ingest.embed_documents(docs, self.batch_size) if docs else None
        spans: list[list[int] | None] = [None] * len(texts)
        blobs: list[bytes | None] = [None] * len(texts)
        row = 0
        for i, doc in zip(todo, docs, strict=True):
            spans[i] = [v for span in doc.spans for v in span]
            assert matrix is not None
            blobs[i] = np.ascontiguousarray(matrix[row : row + len(doc.spans)], "<f4").tobytes()
            row += len(doc.spans)
        embedded = [0] * len(texts)
        if docs:
            embedded[0] = self.ingest.embedder.last_stats.embedded  # type: ignore[union-attr]
        return (
            batch.append_column("spans", pa.array(spans, pa.list_(pa.int64())))
            .append_column("vectors", pa.array(blobs, pa.binary()))
            .append_column("embedded", pa.array(embedded, pa.int64()))
        )


def prepared_of(batch: pa.Table, dim: int) -> tuple[dict[str, Any], int]:
    """``EmbedDocuments`` output as ``Ingest.write``'s ``prepared`` (by id), and the number
    of texts the workers embedded for it."""
    prepared: dict[str, Any] = {}
    for doc_id, spans, blob in zip(
        ids_of(batch),
        batch.column("spans").to_pylist(),
        batch.column("vectors").to_pylist(),
        strict=True,
    ):
        if spans is None:
            continue
        triples = [tuple(spans[j : j + 3]) for j in range(0, len(spans), 3)]
        prepared[doc_id] = (triples, np.frombuffer(blob, dtype="<f4").reshape(len(triples), dim))
    return prepared, int(sum(batch.column("embedded").to_pylist()))


# --- writing into PostgreSQL (semkit add: every worker writes) ------------------------------
class WriteCollection:
    """Adds each block to a PostgreSQL collection through ``Collection.add_records`` (its
    checks, change detection, chunking, embedding and committed batches): workers write
    in parallel, and a retried block finds its committed documents unchanged."""

    def __init__(self, spec: dict[str, Any], url: str, name: str, replace: bool):
        import semkit

        self.db = semkit.open(url, create=False)
        self.collection = self.db.collection(
            name, create=False, embedder=EmbedderSpec(**spec).build()
        )
        self.replace = replace

    def __call__(self, batch: pa.Table) -> pa.Table:
        records = records_of(batch)
        report = self.collection.add_records(records, replace=self.replace, batch=len(records))
        return report_table(report)

    def __del__(self) -> None:
        self.db.close()


REPORT_FIELDS = ("written", "unchanged", "metadata_only", "embedded")


def report_table(report: WriteReport) -> pa.Table:
    """A ``WriteReport`` as one row (its ids as a list), to sum on the driver."""
    return pa.table({"ids": [report.ids], **{f: [getattr(report, f)] for f in REPORT_FIELDS}})


def report_of(batch: pa.Table) -> WriteReport:
    return WriteReport(
        [i for ids in batch.column("ids").to_pylist() for i in ids],
        *(int(sum(batch.column(f).to_pylist())) for f in REPORT_FIELDS),
    )
