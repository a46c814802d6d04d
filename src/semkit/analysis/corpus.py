"""What every analysis works on: ids, texts, metadata and one vector per document.

A ``Corpus`` comes from a collection (its stored vectors: nothing is embedded again) or
from texts / a file (embedded through the shared, cached embedder). Analyses
(clustering, duplicates, outliers, classification, maps, ...) take a ``Corpus`` and never
care where it came from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from semkit.errors import InputError
from semkit.text.io import read_records

if TYPE_CHECKING:
    from semkit.embedding.embedder import Embedder
    from semkit.search.collection import Collection


@dataclass
class Corpus:
    """``ids[i]``, ``texts[i]``, ``metadatas[i]`` and ``vectors[i]`` describe document ``i``.

    ``vectors`` is float32 ``(n, dim)``; unit rows when ``normalized`` (then dot = cosine).
    """

    ids: list[str]
    texts: list[str | None]
    vectors: np.ndarray
    metadatas: list[dict[str, Any]] = field(default_factory=list)
    normalized: bool = True

    def __post_init__(self) -> None:
        n = len(self.ids)
        if not self.metadatas:
            self.metadatas = [{} for _ in range(n)]
        if len(self.texts) != n or len(self.metadatas) != n or len(self.vectors) != n:
            raise InputError(
                f"corpus parts differ in length: {n} ids, {len(self.texts)} texts, "
                f"{len(self.metadatas)} metadatas, {len(self.vectors)} vectors"
            )
        if len(set(self.ids)) != n:
            raise InputError("corpus ids must be unique")

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, rows: Sequence[int] | np.ndarray) -> Corpus:
        rows = np.asarray(rows, dtype=np.int64)
        return Corpus(
            [self.ids[i] for i in rows],
            [self.texts[i] for i in rows],
            self.vectors[rows],
            [self.metadatas[i] for i in rows],
            self.normalized,
        )

    def field(self, name: str) -> list[Any]:
        """A metadata field of every document (None where it is missing); ``id`` and ``text``
        name the id and the text."""
        if name == "id":
            return list(self.ids)
        if name == "text":
            return list(self.texts)
        if not any(name in m for m in self.metadatas):
            raise InputError(f"no document has a metadata field {name!r}")
        return [m.get(name) for m in self.metadatas]


def from_collection(
    collection: Collection,
    where: dict[str, Any] | None = None,
    limit: int | None = None,
) -> Corpus:
    """The documents of a collection (optionally filtered) with their stored vectors."""
    docs = collection.get(where=where, limit=limit)
    if not docs:
        raise InputError(
            f"collection {collection.name!r} has no documents"
            + (" matching the filter" if where else "")
        )
    ids = [d.id for d in docs]
    return Corpus(
        ids,
        [d.text for d in docs],
        collection.document_vectors(ids),
        [d.metadata for d in docs],
        collection.normalize,
    )


def from_texts(
    texts: Sequence[str],
    embedder: Embedder,
    ids: Sequence[str] | None = None,
    metadatas: Sequence[dict[str, Any]] | None = None,
    show_progress_bar: bool | None = None,
) -> Corpus:
    """Texts embedded as documents (through the embedder's cache)."""
    texts = list(texts)
    if not texts:
        raise InputError("no texts to analyse")
    vectors = embedder.encode(texts, show_progress_bar=show_progress_bar)
    return Corpus(
        [str(i) for i in ids] if ids is not None else [str(i) for i in range(len(texts))],
        list(texts),
        vectors,
        [dict(m) for m in metadatas] if metadatas is not None else [],
        embedder.normalize_embeddings,
    )


def from_file(
    path: str | Path,
    embedder: Embedder,
    text_field: str | None = None,
    id_field: str | None = None,
    show_progress_bar: bool | None = None,
) -> Corpus:
    """Records of a .txt/.jsonl/.csv/.tsv/.parquet file or a folder, embedded as documents.

    Records without an id are numbered by their position; other columns become metadata.
    """
    records = list(read_records(path, text_field, id_field))
    if not records:
        raise InputError(f"{path}: no texts found")
    ids = [r.id if r.id is not None else str(i) for i, r in enumerate(records)]
    return from_texts(
        [r.text for r in records],
        embedder,
        ids=ids,
        metadatas=[r.metadata for r in records],
        show_progress_bar=show_progress_bar,
    )
