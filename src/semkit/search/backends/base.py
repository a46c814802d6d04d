"""The backend contract: what a database must do for ``Database`` and ``Collection``.

A backend keeps collection records (``Backend``) and, per collection, documents with
their chunk vectors, a vector index and a lexical index, changed in transactions
(``CollectionStore``). Everything above it (input checks, chunking and embedding,
model records, hybrid fusion, recommendations) is shared, so every backend behaves
the same way; ``tests/search/test_contract.py`` holds them to it.

Rules every implementation keeps:

- A write call is one transaction: when it returns, its documents, chunks, vectors
  and lexical entries are committed and durable together, or nothing is.
- Documents are addressed inside the backend by an integer ``key`` (SQLite's rowid,
  a PostgreSQL bigserial), chunks by an integer ``label``; both are never reused.
- Scores: higher is better (cosine similarity, inner product, negative Euclidean
  distance; the backend's own lexical score).
- A dense search with a filter returns ``min(k, matching documents)`` documents.
- Filters are compiled to the backend's SQL with bound parameters only.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple

import numpy as np

from semkit.search.config import CollectionConfig
from semkit.types import Document, Hit

Where = dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class CollectionRecord:
    """A collection as its backend knows it: an id, a name and its recorded config."""

    id: int
    name: str
    config: CollectionConfig


class Existing(NamedTuple):
    """A stored document, as a write needs to know it."""

    key: int
    content_hash: bytes
    metadata_json: str


@dataclass(slots=True)
class NewDocument:
    """A document to insert or replace; ``spans`` are its chunks ``(index, start, end)``,
    whose vectors are the next ``len(spans)`` rows of the matrix passed with it."""

    id: str
    text: str | None
    metadata_json: str
    content_hash: bytes
    spans: list[tuple[int, int, int]] = field(default_factory=list)


class DocMatch(NamedTuple):  # a tuple: thousands are made per batch of queries
    key: int
    score: float
    label: int  # the best chunk, -1 if none (a lexical match)


class CollectionStore(ABC):
    """One collection's documents, vectors, vector index and lexical index."""

    record: CollectionRecord

    # --- writing ------------------------------------------------------------------------------
    @abstractmethod
    def existing(self, ids: Sequence[str]) -> dict[str, Existing]:
        """The stored documents among ``ids``."""

    @abstractmethod
    def write(
        self,
        docs: Sequence[NewDocument],
        vectors: np.ndarray,
        metadata_updates: Sequence[tuple[int, str, bytes]] = (),
    ) -> None:
        """Insert or replace ``docs`` (by id) with their chunk vectors, and apply
        ``metadata_updates`` (as ``update_metadata``), in one transaction."""

    @abstractmethod
    def update_metadata(self, updates: Sequence[tuple[int, str, bytes]]) -> None:
        """``(key, metadata_json, content_hash)``: metadata changes needing no embedding."""

    @abstractmethod
    def delete(self, keys: Sequence[int]) -> None:
        """Delete documents (with their chunks and lexical entries) by key."""

    # --- reading ------------------------------------------------------------------------------
    @abstractmethod
    def count(self) -> int: ...

    @abstractmethod
    def count_vectors(self) -> int: ...

    @abstractmethod
    def keys(self, ids: Sequence[str] | None, where: Where) -> np.ndarray:
        """Keys of documents among ``ids`` (None: all) that match ``where``, ascending."""

    @abstractmethod
    def documents(
        self,
        ids: Sequence[str] | None = None,
        where: Where = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Document]:
        """Documents by id (in the order given; missing ids skipped), by filter, or all."""

    @abstractmethod
    def chunk_vectors(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(owner keys, vectors)`` of every chunk of documents ``keys``."""

    @abstractmethod
    def spans(self, key: int) -> list[tuple[int, int, int]]:
        """The chunks ``(index, start, end)`` of document ``key``, in order."""

    @abstractmethod
    def version(self) -> str:
        """A token that changes whenever a write to this collection commits (documents
        added, replaced or deleted, metadata changed), and differs between a collection and
        one made again under its name: caches of derived data compare it."""

    # --- searching ----------------------------------------------------------------------------
    @abstractmethod
    def dense(
        self, queries: np.ndarray, k: int, where: Where, exact: bool, ef: int | None
    ) -> list[list[DocMatch]]:
        """The ``k`` best documents per query vector, each with its best chunk."""

    def dense_hits(
        self,
        queries: np.ndarray,
        k: int,
        where: Where,
        exact: bool,
        ef: int | None,
        include: frozenset[str],
    ) -> list[list[Hit]]:
        """``dense`` straight to hits; a server backend answers it in one round trip."""
        return self.hits(self.dense(queries, k, where, exact, ef), include)

    @abstractmethod
    def lexical(self, texts: Sequence[str], k: int, where: Where) -> list[list[DocMatch]]:
        """The ``k`` best documents per query text by the backend's full-text ranking."""

    @abstractmethod
    def hits(self, ranked: list[list[DocMatch]], include: frozenset[str]) -> list[list[Hit]]:
        """Search results as ``Hit``s carrying what ``include`` names ("text", "metadata");
        documents deleted since the search are left out."""

    # --- moving collections -------------------------------------------------------------------
    @abstractmethod
    def export(self, batch: int = 1000) -> Iterator[tuple[list[NewDocument], np.ndarray]]:
        """Every document with its chunks and their vectors, in batches (for copying)."""

    # --- maintenance --------------------------------------------------------------------------
    def flush(self) -> None:  # noqa: B027 - most backends keep nothing in memory
        """Save derived state that is kept in memory (an index file), if any."""

    @abstractmethod
    def rebuild_index(self) -> None:
        """Build the vector index again from the stored vectors."""

    @abstractmethod
    def verify(self) -> list[str]:
        """Problems found in this collection (empty: consistent)."""

    @abstractmethod
    def index_info(self) -> dict[str, Any]:
        """``index_kind`` (the index searches use now) and backend-specific sizes."""


class Backend(ABC):
    """A database: where collection records and their stores live."""

    name: str  # "sqlite", "postgresql"
    location: str
    default_hnsw: ClassVar[dict[str, int]] = {}  # HNSW settings of new collections
    vector_types: tuple[str | None, ...] = (None,)  # how vectors may be stored; first: default

    @abstractmethod
    def records(self) -> list[CollectionRecord]:
        """Every collection, by name."""

    @abstractmethod
    def record(self, name: str) -> CollectionRecord | None: ...

    @abstractmethod
    def create(self, name: str, config: CollectionConfig) -> CollectionRecord:
        """Create a collection (or return the one another process just created)."""

    @abstractmethod
    def set_config(self, record: CollectionRecord, config: CollectionConfig) -> CollectionRecord:
        """Record a changed config (only the index settings ever change)."""

    @abstractmethod
    def drop(self, record: CollectionRecord) -> None: ...

    @abstractmethod
    def swap(self, old: CollectionRecord, new: CollectionRecord) -> None:
        """Drop ``old`` and give ``new`` its name, in one transaction."""

    @abstractmethod
    def open_store(self, record: CollectionRecord) -> CollectionStore:
        """The store of one collection."""

    @abstractmethod
    def verify(self) -> list[str]:
        """Problems of the database as a whole (empty: healthy)."""

    @abstractmethod
    def compact(self) -> None:
        """Reclaim space after deletes."""

    @abstractmethod
    def size_bytes(self) -> int: ...

    @abstractmethod
    def close(self) -> None: ...
