"""All SQL lives here. ``Store`` is one SQLite file in WAL mode, the source of truth.

Writes happen in ``BEGIN IMMEDIATE`` transactions on one connection: one writer at a
time across processes and threads (a second writer waits up to ``timeout`` seconds,
then gets a ``LockedError``). Reads use one connection per thread, so threads read
at once; readers never block and see committed data. A write is acknowledged only
when its ``COMMIT`` has returned, and ``synchronous=FULL`` makes that commit durable.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from semkit.errors import LockedError, StoreError
from semkit.store import migrations
from semkit.store.codec import blobs_to_matrix, json_to_metadata
from semkit.types import Document

_BATCH = 900  # stay below SQLite's bound-parameter limit


@dataclass(frozen=True, slots=True)
class CollectionRow:
    id: int
    name: str
    config: dict[str, Any]
    version: int


@dataclass(slots=True)
class DocumentWrite:
    """A document to insert or replace, with its chunks ``(idx, start, end, vector blob)``."""

    id: str
    text: str | None
    metadata_json: str
    content_hash: bytes
    chunks: list[tuple[int, int, int, bytes]]


@dataclass(slots=True)
class WriteResult:
    added: list[tuple[int, int]]  # (label, doc_rowid) of new chunk vectors
    removed: list[int]  # labels whose vectors are gone
    version: int = 0  # the collection's version after this write


def _inserted(cursor: sqlite3.Cursor) -> int:
    """The rowid the INSERT just run on ``cursor`` gave its row."""
    rowid = cursor.lastrowid
    if rowid is None:  # pragma: no cover - sqlite3 sets it after every INSERT
        raise StoreError("SQLite reported no rowid for an inserted row")
    return int(rowid)


def _chunks(seq: Sequence[Any], size: int = _BATCH) -> Iterator[Sequence[Any]]:
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


class Store:
    def __init__(self, path: str | Path, *, timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.timeout = timeout
        self._lock = threading.RLock()  # the write connection, one thread at a time
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        try:
            self.db = self._connect()
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self._check_format()
            newer = migrations.unknown_migrations(self.db) if self._has_table("migrations") else []
            if newer:
                raise StoreError(
                    f"{self.path} was written by a newer semkit (schema steps "
                    f"{', '.join(newer)}); upgrade semkit to open it"
                )
            migrations.migrate(self.db)
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc):
                raise LockedError(f"{self.path} is locked by another writer") from exc
            raise StoreError(f"cannot open database {self.path}: {exc}") from exc
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"cannot open database {self.path}: {exc} (is it a semkit "
                f"database? `semkit verify` checks one)"
            ) from exc

    def _has_table(self, name: str) -> bool:
        return (
            self.db.execute(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,)
            ).fetchone()
            is not None
        )

    def _check_format(self) -> None:
        if not self._has_table("semkit_meta"):
            tables = self.db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if tables:
                raise StoreError(f"{self.path} is an SQLite file but not a semkit database")
            return
        row = self.db.execute("SELECT value FROM semkit_meta WHERE name='format'").fetchone()
        if row is None or row[0] != migrations.FORMAT:
            raise StoreError(f"{self.path} is not a semkit database")

    # --- connections and transactions ----------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False
        )
        conn.execute("PRAGMA foreign_keys=ON")
        return conn

    def _reader(self) -> sqlite3.Connection:
        """This thread's read connection (the write connection inside its own write)."""
        if getattr(self._local, "writing", False):
            return self.db
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
            with self._readers_lock:  # not the write lock: a writer must not hold readers up
                self._readers.append(conn)
        return conn

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; committed (and durable) when the block exits cleanly."""
        with self._lock:
            try:
                self.db.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc) or "busy" in str(exc):
                    raise LockedError(
                        f"{self.path} is being written by another process; waited "
                        f"{self.timeout:.0f}s. Try again when it has finished"
                    ) from exc
                raise StoreError(f"cannot write to {self.path}: {exc}") from exc
            self._local.writing = True
            try:
                yield self.db
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            finally:
                self._local.writing = False

    @contextlib.contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot for several reads."""
        conn = self._reader()
        if conn.in_transaction:  # nested, or inside a write: already consistent
            yield conn
            return
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    def checkpoint(self) -> None:
        """Move the write-ahead log into the database file (and truncate the log)."""
        with self._lock:
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        with self._lock, self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()
            self.db.close()

    # --- collections ---------------------------------------------------------------------
    @staticmethod
    def _record(row: Sequence[Any]) -> CollectionRow:
        return CollectionRow(int(row[0]), str(row[1]), json.loads(row[2]), int(row[3]))

    def collection(self, name: str) -> CollectionRow | None:
        row = (
            self._reader()
            .execute("SELECT id, name, config, version FROM collections WHERE name = ?", (name,))
            .fetchone()
        )
        return None if row is None else self._record(row)

    def collections(self) -> list[CollectionRow]:
        rows = self._reader().execute(
            "SELECT id, name, config, version FROM collections ORDER BY name"
        )
        return [self._record(r) for r in rows]

    def create_collection(self, name: str, config: dict[str, Any]) -> CollectionRow:
        with self.write() as db:
            existing = self.collection(name)
            if existing is not None:
                return existing
            cid = _inserted(
                db.execute(
                    "INSERT INTO collections (name, config) VALUES (?, ?)",
                    (name, json.dumps(config, sort_keys=True)),
                )
            )
            db.execute(
                f"CREATE VIRTUAL TABLE fts_{int(cid)} USING fts5("
                f"text, tokenize='porter unicode61 remove_diacritics 2')"
            )
        record = self.collection(name)
        assert record is not None
        return record

    def set_config(self, cid: int, config: dict[str, Any]) -> None:
        with self.write() as db:
            db.execute(
                "UPDATE collections SET config = ?, version = version + 1 WHERE id = ?",
                (json.dumps(config, sort_keys=True), cid),
            )

    def drop_collection(self, cid: int) -> None:
        with self.write() as db:
            self._drop(db, cid)

    def swap_collections(self, old: int, new: int, name: str) -> None:
        """Drop collection ``old`` and give collection ``new`` its name, in one transaction."""
        with self.write() as db:
            self._drop(db, old)
            db.execute(
                "UPDATE collections SET name = ?, version = version + 1 WHERE id = ?", (name, new)
            )

    @staticmethod
    def _drop(db: sqlite3.Connection, cid: int) -> None:
        db.execute("DELETE FROM chunks WHERE collection_id = ?", (cid,))
        db.execute("DELETE FROM documents WHERE collection_id = ?", (cid,))
        db.execute("DELETE FROM collections WHERE id = ?", (cid,))
        db.execute(f"DROP TABLE IF EXISTS fts_{int(cid)}")

    def version(self, cid: int) -> int:
        row = (
            self._reader()
            .execute("SELECT version FROM collections WHERE id = ?", (cid,))
            .fetchone()
        )
        if row is None:
            raise StoreError("the collection was dropped by another process")
        return int(row[0])

    # --- writing documents ---------------------------------------------------------------
    def existing_with_metadata(
        self, cid: int, ids: Sequence[str]
    ) -> dict[str, tuple[int, bytes, str]]:
        """``{id: (rowid, content_hash, metadata_json)}`` for the ids already stored."""
        found: dict[str, tuple[int, bytes, str]] = {}
        with self.read() as db:
            for part in _chunks(list(ids)):
                marks = ",".join("?" * len(part))
                for rowid, doc_id, h, meta in db.execute(
                    f"SELECT rowid, id, content_hash, metadata FROM documents "
                    f"WHERE collection_id = ? AND id IN ({marks})",
                    (cid, *part),
                ):
                    found[doc_id] = (int(rowid), bytes(h), str(meta))
        return found

    def write_documents(
        self,
        cid: int,
        docs: Sequence[DocumentWrite],
        metadata_updates: Sequence[tuple[int, str, bytes]] = (),
    ) -> WriteResult:
        """Insert or replace documents with their chunks, and apply ``(rowid, metadata_json,
        content_hash)`` metadata changes, in one transaction."""
        result = WriteResult([], [])
        with self.write() as db:
            self._set_metadata(db, metadata_updates)
            for doc in docs:
                row = db.execute(
                    "SELECT rowid FROM documents WHERE collection_id = ? AND id = ?", (cid, doc.id)
                ).fetchone()
                if row is not None:
                    rowid = int(row[0])
                    result.removed += self._delete_chunks(db, [rowid])
                    db.execute(
                        "UPDATE documents SET text = ?, metadata = ?, content_hash = ? "
                        "WHERE rowid = ?",
                        (doc.text, doc.metadata_json, doc.content_hash, rowid),
                    )
                    db.execute(f"DELETE FROM fts_{cid} WHERE rowid = ?", (rowid,))
                else:
                    rowid = _inserted(
                        db.execute(
                            "INSERT INTO documents (collection_id, id, text, metadata, content_hash) "
                            "VALUES (?, ?, ?, ?, ?)",
                            (cid, doc.id, doc.text, doc.metadata_json, doc.content_hash),
                        )
                    )
                if doc.text is not None:
                    db.execute(
                        f"INSERT INTO fts_{cid} (rowid, text) VALUES (?, ?)", (rowid, doc.text)
                    )
                for idx, start, end, blob in doc.chunks:
                    label = _inserted(
                        db.execute(
                            "INSERT INTO chunks (collection_id, doc_rowid, idx, start, end, vector) "
                            "VALUES (?, ?, ?, ?, ?, ?)",
                            (cid, rowid, idx, start, end, blob),
                        )
                    )
                    result.added.append((label, rowid))
            result.version = self._bump(db, cid)
        return result

    @staticmethod
    def _set_metadata(db: sqlite3.Connection, updates: Sequence[tuple[int, str, bytes]]) -> None:
        db.executemany(
            "UPDATE documents SET metadata = ?, content_hash = ? WHERE rowid = ?",
            [(m, h, r) for r, m, h in updates],
        )

    @staticmethod
    def _bump(db: sqlite3.Connection, cid: int) -> int:
        db.execute("UPDATE collections SET version = version + 1 WHERE id = ?", (cid,))
        return int(db.execute("SELECT version FROM collections WHERE id = ?", (cid,)).fetchone()[0])

    def update_metadata(self, cid: int, updates: Sequence[tuple[int, str, bytes]]) -> int:
        """``(rowid, metadata_json, content_hash)``: metadata changes that need no embedding."""
        with self.write() as db:
            self._set_metadata(db, updates)
            return self._bump(db, cid)

    @staticmethod
    def _delete_chunks(db: sqlite3.Connection, rowids: Sequence[int]) -> list[int]:
        labels: list[int] = []
        for part in _chunks(list(rowids)):
            marks = ",".join("?" * len(part))
            labels += [
                int(r[0])
                for r in db.execute(
                    f"SELECT label FROM chunks WHERE doc_rowid IN ({marks})", tuple(part)
                )
            ]
            db.execute(f"DELETE FROM chunks WHERE doc_rowid IN ({marks})", tuple(part))
        return labels

    def delete_documents(self, cid: int, rowids: Sequence[int]) -> WriteResult:
        """Delete documents by rowid; returns the labels of their vectors."""
        with self.write() as db:
            labels = self._delete_chunks(db, rowids)
            for part in _chunks(list(rowids)):
                marks = ",".join("?" * len(part))
                db.execute(f"DELETE FROM fts_{cid} WHERE rowid IN ({marks})", tuple(part))
                db.execute(
                    f"DELETE FROM documents WHERE collection_id = ? AND rowid IN ({marks})",
                    (cid, *part),
                )
            return WriteResult([], labels, self._bump(db, cid))

    # --- reading documents ---------------------------------------------------------------
    def count(self, cid: int) -> int:
        return int(
            self._reader()
            .execute("SELECT count(*) FROM documents WHERE collection_id = ?", (cid,))
            .fetchone()[0]
        )

    def count_chunks(self, cid: int) -> int:
        return int(
            self._reader()
            .execute("SELECT count(*) FROM chunks WHERE collection_id = ?", (cid,))
            .fetchone()[0]
        )

    def rowids(self, cid: int, where_sql: str = "1", params: Sequence[Any] = ()) -> np.ndarray:
        """Rowids of the documents matching a compiled filter (alias ``d``), ascending."""
        rows = (
            self._reader()
            .execute(
                f"SELECT d.rowid FROM documents d WHERE d.collection_id = ? AND ({where_sql}) "
                f"ORDER BY d.rowid",
                (cid, *params),
            )
            .fetchall()
        )
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def id_map(self, cid: int) -> tuple[int, np.ndarray, np.ndarray]:
        """``(version, rowids ascending, ids)`` of every document, one snapshot."""
        with self.read() as db:
            version = int(
                db.execute("SELECT version FROM collections WHERE id = ?", (cid,)).fetchone()[0]
            )
            rows = db.execute(
                "SELECT rowid, id FROM documents WHERE collection_id = ? ORDER BY rowid", (cid,)
            ).fetchall()
        rowids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        ids = np.empty(len(rows), dtype=object)
        ids[:] = [r[1] for r in rows]
        return version, rowids, ids

    def rowids_for_ids(self, cid: int, ids: Sequence[str]) -> dict[str, int]:
        return {doc_id: v[0] for doc_id, v in self.existing_with_metadata(cid, ids).items()}

    def documents(self, rowids: Sequence[int]) -> dict[int, Document]:
        return self.hit_rows((), rowids)[0]

    def spans(self, rowid: int) -> list[tuple[int, int, int]]:
        """``(idx, start, end)`` of a document's chunks, in order."""
        rows = (
            self._reader()
            .execute(
                "SELECT idx, start, end FROM chunks WHERE doc_rowid = ? ORDER BY idx", (rowid,)
            )
            .fetchall()
        )
        return [(int(i), int(s), int(e)) for i, s, e in rows]

    def hit_rows(
        self, labels: Sequence[int], rowids: Sequence[int] = ()
    ) -> tuple[dict[int, Document], dict[int, tuple[int, int, int, int]]]:
        """What search results show, in one snapshot: the documents owning chunk ``labels``
        plus documents ``rowids``, and ``{label: (doc_rowid, idx, start, end)}``."""
        docs: dict[int, Document] = {}
        spans: dict[int, tuple[int, int, int, int]] = {}
        with self.read() as db:
            for part in _chunks([int(x) for x in labels]):
                marks = ",".join("?" * len(part))
                for label, idx, start, end, rowid, doc_id, text, meta in db.execute(
                    "SELECT c.label, c.idx, c.start, c.end, d.rowid, d.id, d.text, d.metadata "
                    f"FROM chunks c JOIN documents d ON d.rowid = c.doc_rowid "
                    f"WHERE c.label IN ({marks})",
                    tuple(part),
                ):
                    spans[label] = (rowid, idx, start, end)
                    if rowid not in docs:
                        docs[rowid] = Document(doc_id, text, json_to_metadata(meta))
            missing = [int(r) for r in rowids if int(r) not in docs]
            for part in _chunks(missing):
                marks = ",".join("?" * len(part))
                for rowid, doc_id, text, meta in db.execute(
                    f"SELECT rowid, id, text, metadata FROM documents WHERE rowid IN ({marks})",
                    tuple(part),
                ):
                    docs[rowid] = Document(doc_id, text, json_to_metadata(meta))
        return docs, spans

    def list_documents(
        self,
        cid: int,
        where_sql: str = "1",
        params: Sequence[Any] = (),
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Document]:
        rows = (
            self._reader()
            .execute(
                f"SELECT d.id, d.text, d.metadata FROM documents d WHERE d.collection_id = ? "
                f"AND ({where_sql}) ORDER BY d.rowid LIMIT ? OFFSET ?",
                (cid, *params, -1 if limit is None else limit, offset),
            )
            .fetchall()
        )
        return [Document(i, t, json_to_metadata(m)) for i, t, m in rows]

    def label_map(self, cid: int) -> tuple[int, np.ndarray, np.ndarray]:
        """``(version, labels, doc_rowids)`` of every chunk, ascending by label, one snapshot."""
        with self.read() as db:
            version = int(
                db.execute("SELECT version FROM collections WHERE id = ?", (cid,)).fetchone()[0]
            )
            rows = db.execute(
                "SELECT label, doc_rowid FROM chunks WHERE collection_id = ? ORDER BY label", (cid,)
            ).fetchall()
        pairs = np.array(rows, dtype=np.int64).reshape(-1, 2)
        return version, pairs[:, 0].copy(), pairs[:, 1].copy()

    def vectors(
        self,
        cid: int,
        dim: int,
        labels: Sequence[int] | np.ndarray | None = None,
        after: int = 0,
        batch: int = 20_000,
    ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """``(labels, doc_rowids, vectors)`` in batches, ascending by label.

        Either every chunk with ``label > after``, or exactly ``labels``.
        """
        with self.read() as db:
            if labels is not None:
                wanted = sorted(int(x) for x in labels)
                for part in _chunks(wanted):
                    marks = ",".join("?" * len(part))
                    rows = db.execute(
                        f"SELECT label, doc_rowid, vector FROM chunks WHERE label IN "
                        f"({marks}) ORDER BY label",
                        tuple(part),
                    ).fetchall()
                    yield self._unpack(rows, dim)
                return
            cursor = db.execute(
                "SELECT label, doc_rowid, vector FROM chunks WHERE collection_id = ? "
                "AND label > ? ORDER BY label",
                (cid, after),
            )
            while rows := cursor.fetchmany(batch):
                yield self._unpack(rows, dim)

    def export(
        self, cid: int, after: int, limit: int
    ) -> tuple[
        list[tuple[int, str, str | None, str, bytes]], list[tuple[int, int, int, int, bytes]]
    ]:
        """Up to ``limit`` documents with ``rowid > after``, ascending, as
        ``(rowid, id, text, metadata, content_hash)``, and their chunks as
        ``(doc_rowid, idx, start, end, vector blob)`` ordered by label: one snapshot."""
        with self.read() as db:
            docs = db.execute(
                "SELECT rowid, id, text, metadata, content_hash FROM documents "
                "WHERE collection_id = ? AND rowid > ? ORDER BY rowid LIMIT ?",
                (cid, after, limit),
            ).fetchall()
            chunks: list[tuple[int, int, int, int, bytes]] = []
            for part in _chunks([d[0] for d in docs]):
                marks = ",".join("?" * len(part))
                chunks += db.execute(
                    f"SELECT doc_rowid, idx, start, end, vector FROM chunks "
                    f"WHERE doc_rowid IN ({marks}) ORDER BY label",
                    tuple(part),
                ).fetchall()
        return [(r, i, t, m, bytes(h)) for r, i, t, m, h in docs], chunks

    @staticmethod
    def _unpack(rows: list[Any], dim: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        labels = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        docs = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
        return labels, docs, blobs_to_matrix([r[2] for r in rows], dim)

    # --- lexical --------------------------------------------------------------------------
    def lexical(
        self, cid: int, match: str, k: int, where_sql: str | None = None, params: Sequence[Any] = ()
    ) -> list[tuple[int, float]]:
        """``(rowid, bm25 score)`` best first; higher is better."""
        sql = f"SELECT rowid, -bm25(fts_{cid}) AS s FROM fts_{cid} WHERE fts_{cid} MATCH ?"
        args: list[Any] = [match]
        if where_sql is not None:
            sql += (
                f" AND rowid IN (SELECT d.rowid FROM documents d WHERE d.collection_id = ? "
                f"AND ({where_sql}))"
            )
            args += [cid, *params]
        sql += " ORDER BY s DESC, rowid LIMIT ?"
        try:
            rows = self._reader().execute(sql, (*args, k)).fetchall()
        except sqlite3.OperationalError as exc:
            raise StoreError(f"lexical search failed: {exc}") from exc
        return [(int(r), float(s)) for r, s in rows]

    # --- maintenance ---------------------------------------------------------------------
    def integrity(self, cid: int, dim: int) -> list[str]:
        """Problems found in one collection's rows (empty list: consistent)."""
        problems = []
        with self.read() as db:
            orphans = db.execute(
                "SELECT count(*) FROM documents d WHERE d.collection_id = ? AND "
                "NOT EXISTS (SELECT 1 FROM chunks c WHERE c.doc_rowid = d.rowid)",
                (cid,),
            ).fetchone()[0]
            if orphans:
                problems.append(f"{orphans} documents have no vectors")
            bad = db.execute(
                "SELECT count(*) FROM chunks WHERE collection_id = ? AND length(vector) != ?",
                (cid, 4 * dim),
            ).fetchone()[0]
            if bad:
                problems.append(f"{bad} vectors do not have dimension {dim}")
            n_docs = db.execute(
                "SELECT count(*) FROM documents WHERE collection_id = ? AND text IS NOT NULL",
                (cid,),
            ).fetchone()[0]
            n_fts = db.execute(f"SELECT count(*) FROM fts_{cid}").fetchone()[0]
            if n_docs != n_fts:
                problems.append(f"lexical index holds {n_fts} documents, the store {n_docs}")
            try:
                db.execute(f"INSERT INTO fts_{cid}(fts_{cid}, rank) VALUES ('integrity-check', 1)")
            except sqlite3.DatabaseError as exc:
                problems.append(f"lexical index is damaged: {exc}")
        return problems

    def compact(self) -> None:
        with self._lock:
            for record in self.collections():
                self.db.execute(f"INSERT INTO fts_{record.id}(fts_{record.id}) VALUES ('optimize')")
            self.db.execute("VACUUM")
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def quick_check(self) -> list[str]:
        rows = self._reader().execute("PRAGMA quick_check").fetchall()
        return [] if rows == [("ok",)] else [f"sqlite: {r[0]}" for r in rows]
