"""The PostgreSQL + pgvector backend: ``semkit.open("postgresql://user@host/dbname")``.

A server database: many processes and threads read and write at once. Each thread
has its own connection (psycopg 3, autocommit, ``synchronous_commit=on``); a write is
one transaction, so an acknowledged batch is committed and durable, and concurrent
writers of the same documents are ordered by PostgreSQL's row locks (ids are written
in sorted order, and a transaction that still loses a deadlock is retried).

Dense search is pgvector's HNSW index. A filter matching few documents (at most
``EXACT_FILTER_MAX``) is answered exactly over them, without the graph; a broader one
goes through the graph with iterative index scans (pgvector >= 0.8, ``relaxed_order``),
which keep scanning until they have enough matches, and if they still find fewer than
``min(k, matches)`` documents the query is answered exactly over the matching
documents. ``exact=True`` orders by the true distance without the index. Lexical search is PostgreSQL's full-text search
(``english`` configuration, ``ts_rank`` normalised by the log of the document length). Filters compile to SQL over ``jsonb``
(``pg_filters``). The schema is in ``pg_schema``.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ClassVar, TypeVar

import numpy as np

from semkit.errors import NotFoundError, StoreError
from semkit.extras import require
from semkit.search.backends.base import (
    Backend,
    CollectionRecord,
    CollectionStore,
    DocMatch,
    Existing,
    NewDocument,
    Where,
)
from semkit.search.backends.pg_filters import compile_where_pg
from semkit.search.backends.pg_schema import (
    FORMAT,
    METRIC_SQL,
    TEXT_SEARCH_CONFIG,
    chunks_table,
    create_collection_sql,
    create_hnsw_sql,
    docs_table,
    drop_collection_sql,
    hnsw_index,
    migrate,
    unknown_migrations,
)
from semkit.search.config import CollectionConfig
from semkit.search.lexical import match_terms
from semkit.store.codec import metadata_to_json
from semkit.types import Chunk, Document, Hit

T = TypeVar("T")
ITERATIVE_SCAN = "relaxed_order"  # pgvector >= 0.8: keep scanning the graph under filters
MAX_SCAN_TUPLES = 40_000  # how far an iterative scan goes before the exact fall-back
# Filters matching at most this many documents skip the graph. Measured at 100k (Zen 5,
# bench/results/postgres_cutover_100k.md): the graph's filtered recall@10 is 0.984 at
# 1,000 matches and 0.990 (an unfiltered search's) from 2,000; exact costs ~80 ms at any size.
EXACT_FILTER_MAX = 2_000
_SAMPLE_PAGES = 32  # pages of documents sampled to tell a broad filter from a tight one
WRITE_RETRIES = 5  # a deadlock between concurrent writers is retried this often
EF_SEARCH_MAX = 1000  # pgvector's limit; iterative scans go deeper when LIMIT needs more
_FIRST_FETCH = 3  # chunks fetched per wanted document in the first round (chunked texts)
_FILTER_OVERFETCH = 4  # filtered searches fetch this many times more, then keep the best


def _psycopg() -> Any:
    """psycopg, or a ``MissingExtraError`` naming ``semkit[postgres]`` (pgvector too)."""
    require("pgvector", "postgres", "PostgreSQL support")
    return require("psycopg", "postgres", "PostgreSQL support")


def display_url(url: str) -> str:
    """The URL without its password, for messages."""
    _psycopg()
    from psycopg.conninfo import conninfo_to_dict

    try:
        parts = conninfo_to_dict(url)
    except Exception:
        return "postgresql://..."
    user = parts.get("user") or ""
    host = parts.get("host") or "localhost"
    port = f":{parts['port']}" if parts.get("port") else ""
    return f"postgresql://{user}{'@' if user else ''}{host}{port}/{parts.get('dbname') or ''}"


class PostgresBackend(Backend):
    name = "postgresql"
    # chosen by measurement (bench/results/postgres_graphs_*.md): pgvector's own 16/64
    # graph reached recall@10 0.87 at 1M with ef_search 64; the wider build and search
    # beams buy recall with a 2.3x longer build and ~1 ms more per query
    default_hnsw: ClassVar[dict[str, int]] = {"m": 16, "ef_construction": 128, "ef_search": 100}
    vector_types = ("vector", "halfvec")

    def __init__(self, url: str, *, create: bool = True, timeout: float = 30.0) -> None:
        self.url = url
        self.location = display_url(url)
        self.timeout = timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[Any] = []
        try:
            self._open(create)
        except BaseException:
            self.close()
            raise

    def _open(self, create: bool) -> None:
        """Check (or set up) the schema; refuses an empty database unless ``create``."""
        conn = self.connection()
        if not self._is_database(conn):
            if not create:
                raise NotFoundError(
                    f"no semkit database at {self.location}; check the URL (--db / "
                    f"$SEMKIT_DB), or create one by adding documents"
                )
            try:
                migrate(conn)
                from pgvector.psycopg import register_vector

                register_vector(conn)
            except _psycopg().Error as exc:
                raise StoreError(
                    f"cannot set up a semkit database at {self.location}: {exc}".strip()
                    + " (the pgvector extension must be installed on the server: "
                    "CREATE EXTENSION vector, as a superuser)"
                ) from exc
        newer = unknown_migrations(conn)
        if newer:
            raise StoreError(
                f"{self.location} was written by a newer semkit (schema steps "
                f"{', '.join(newer)}); upgrade semkit to open it"
            )

    @staticmethod
    def _is_database(conn: Any) -> bool:
        found = conn.execute(
            "SELECT to_regclass('semkit_migrations') IS NOT NULL, "
            "to_regclass('semkit_meta') IS NOT NULL"
        ).fetchone()
        if not found[1]:
            return False
        row = conn.execute("SELECT value FROM semkit_meta WHERE name = 'format'").fetchone()
        if row is None or row[0] != FORMAT:
            raise StoreError(f"{conn.info.dbname} holds a semkit_meta table but is not semkit's")
        return True

    # --- connections ----------------------------------------------------------------------
    def connection(self) -> Any:
        """This thread's connection (autocommit; writes open their own transaction)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None and not conn.closed:
            return conn
        psycopg = _psycopg()
        from pgvector.psycopg import register_vector

        try:
            conn = psycopg.connect(
                self.url,
                autocommit=True,
                connect_timeout=max(1, int(self.timeout)),
                options="-c synchronous_commit=on",
            )
        except psycopg.OperationalError as exc:
            raise StoreError(f"cannot connect to {self.location}: {exc}".strip()) from exc
        with contextlib.suppress(psycopg.ProgrammingError):  # no vector type before migrating
            register_vector(conn)
        conn.execute(f"SET hnsw.iterative_scan = {ITERATIVE_SCAN}")
        conn.execute(f"SET hnsw.max_scan_tuples = {MAX_SCAN_TUPLES}")
        self._local.conn = conn
        self._local.ef = None
        with self._lock:
            self._connections.append(conn)
        return conn

    def set_ef(self, ef: int) -> None:
        """``hnsw.ef_search`` for this thread's connection, sent only when it changes."""
        if getattr(self._local, "ef", None) != ef:
            self.connection().execute(f"SET hnsw.ef_search = {int(ef)}")
            self._local.ef = ef

    def transaction(self, action: Callable[[Any], T]) -> T:
        """Run ``action(conn)`` in one transaction, retried if it loses a deadlock."""
        psycopg = _psycopg()
        conn = self.connection()
        for attempt in range(WRITE_RETRIES):
            try:
                with conn.transaction():
                    return action(conn)
            except (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure):
                if attempt == WRITE_RETRIES - 1:
                    raise
                time.sleep(0.01 * 2**attempt)
        raise AssertionError("unreachable")

    # --- collections ----------------------------------------------------------------------
    @staticmethod
    def _record(row: Sequence[Any]) -> CollectionRecord:
        return CollectionRecord(int(row[0]), str(row[1]), CollectionConfig.from_dict(row[2]))

    def records(self) -> list[CollectionRecord]:
        rows = self.connection().execute(
            "SELECT id, name, config FROM semkit_collections ORDER BY name"
        )
        return [self._record(r) for r in rows]

    def record(self, name: str) -> CollectionRecord | None:
        row = (
            self.connection()
            .execute("SELECT id, name, config FROM semkit_collections WHERE name = %s", (name,))
            .fetchone()
        )
        return None if row is None else self._record(row)

    def create(self, name: str, config: CollectionConfig) -> CollectionRecord:
        from psycopg.types.json import Jsonb

        def create(conn: Any) -> CollectionRecord | None:
            row = conn.execute(
                "INSERT INTO semkit_collections (name, config) VALUES (%s, %s) "
                "ON CONFLICT (name) DO NOTHING RETURNING id",
                (name, Jsonb(config.as_dict())),
            ).fetchone()
            if row is None:
                return None  # another process created it first
            for statement in create_collection_sql(int(row[0]), config):
                conn.execute(statement)
            return CollectionRecord(int(row[0]), name, config)

        created = self.transaction(create)
        record = created or self.record(name)
        assert record is not None
        return record

    def set_config(self, record: CollectionRecord, config: CollectionConfig) -> CollectionRecord:
        from psycopg.types.json import Jsonb

        old = record.config

        def change(conn: Any) -> None:
            conn.execute(
                "UPDATE semkit_collections SET config = %s WHERE id = %s",
                (Jsonb(config.as_dict()), record.id),
            )
            graph = (old.hnsw.m, old.hnsw.ef_construction) != (
                config.hnsw.m,
                config.hnsw.ef_construction,
            )  # ef_search is a setting of searches, not of the graph
            if (old.index == "exact") != (config.index == "exact") or graph:
                conn.execute(f"DROP INDEX IF EXISTS {hnsw_index(record.id)}")
                if config.index != "exact":
                    conn.execute(create_hnsw_sql(record.id, config))

        self.transaction(change)
        return CollectionRecord(record.id, record.name, config)

    def drop(self, record: CollectionRecord) -> None:
        def drop(conn: Any) -> None:
            for statement in drop_collection_sql(record.id):
                conn.execute(statement)
            conn.execute("DELETE FROM semkit_collections WHERE id = %s", (record.id,))

        self.transaction(drop)

    def swap(self, old: CollectionRecord, new: CollectionRecord) -> None:
        def swap(conn: Any) -> None:
            for statement in drop_collection_sql(old.id):
                conn.execute(statement)
            conn.execute("DELETE FROM semkit_collections WHERE id = %s", (old.id,))
            conn.execute(
                "UPDATE semkit_collections SET name = %s WHERE id = %s", (old.name, new.id)
            )

        self.transaction(swap)

    def open_store(self, record: CollectionRecord) -> PostgresCollection:
        return PostgresCollection(self, record)

    def verify(self) -> list[str]:
        missing = [
            r.name
            for r in self.records()
            if self.connection()
            .execute("SELECT to_regclass(%s) IS NULL", (chunks_table(r.id),))
            .fetchone()[0]
        ]
        return [f"collection {name!r} has lost its tables" for name in missing]

    def compact(self) -> None:
        conn = self.connection()
        for record in self.records():
            conn.execute(f"VACUUM ANALYZE {docs_table(record.id)}")
            conn.execute(f"VACUUM ANALYZE {chunks_table(record.id)}")

    def size_bytes(self) -> int:
        tables = ["semkit_collections", "semkit_meta", "semkit_migrations"]
        for record in self.records():
            tables += [docs_table(record.id), chunks_table(record.id)]
        row = (
            self.connection()
            .execute(
                "SELECT sum(pg_total_relation_size(to_regclass(t))) FROM unnest(%s::text[]) t",
                (tables,),
            )
            .fetchone()
        )
        return int(row[0] or 0)

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                with contextlib.suppress(Exception):
                    conn.close()
            self._connections.clear()
        self._local = threading.local()


def _same(x: T) -> T:
    return x


class PostgresCollection(CollectionStore):
    def __init__(self, backend: PostgresBackend, record: CollectionRecord) -> None:
        self.backend = backend
        self.record = record
        cfg = record.config
        self.docs = docs_table(record.id)
        self.chunks = chunks_table(record.id)
        self.operator = METRIC_SQL[cfg.metric][0]
        self.distance = f"c.embedding {self.operator} %s"
        self.cosine = cfg.metric == "cosine"
        self.one_chunk = cfg.model is None  # vectors given by the caller: one per document

    def _conn(self) -> Any:
        return self.backend.connection()

    def _query(self, vector: np.ndarray) -> Any:
        from pgvector import HalfVector, Vector

        kind = HalfVector if self.record.config.vector_type == "halfvec" else Vector
        return kind(vector)

    # --- writing ------------------------------------------------------------------------------
    def existing(self, ids: Sequence[str]) -> dict[str, Existing]:
        rows = self._conn().execute(
            f"SELECT id, key, content_hash, metadata FROM {self.docs} WHERE id = ANY(%s)",
            (list(ids),),
        )
        return {
            i: Existing(int(k), bytes(h), metadata_to_json(m, f"document {i!r}"))
            for i, k, h, m in rows
        }

    def write(
        self,
        docs: Sequence[NewDocument],
        vectors: np.ndarray,
        metadata_updates: Sequence[tuple[int, str, bytes]] = (),
    ) -> None:
        starts = np.cumsum([0] + [len(d.spans) for d in docs])
        order = sorted(range(len(docs)), key=lambda i: docs[i].id)  # one lock order for all
        wrap = self._query if self.record.config.vector_type == "halfvec" else _same

        def write(conn: Any) -> None:
            if metadata_updates:
                self._set_metadata(conn, metadata_updates)
            if not docs:
                return
            rows = conn.execute(
                f"INSERT INTO {self.docs} (id, text, metadata, content_hash) "
                "SELECT * FROM unnest(%s::text[], %s::text[], %s::jsonb[], %s::bytea[]) "
                "ON CONFLICT (id) DO UPDATE SET text = EXCLUDED.text, "
                "metadata = EXCLUDED.metadata, content_hash = EXCLUDED.content_hash "
                "RETURNING id, key",
                (
                    [docs[i].id for i in order],
                    [docs[i].text for i in order],
                    [docs[i].metadata_json for i in order],
                    [docs[i].content_hash for i in order],
                ),
            ).fetchall()
            keys = dict(rows)
            conn.execute(
                f"DELETE FROM {self.chunks} WHERE doc_key = ANY(%s)", (list(keys.values()),)
            )
            with conn.cursor().copy(
                f"COPY {self.chunks} (doc_key, idx, start_char, end_char, embedding) "
                "FROM STDIN WITH (FORMAT BINARY)"
            ) as copy:
                copy.set_types(
                    ["int8", "int4", "int4", "int4", self.record.config.vector_type or "vector"]
                )
                for i in order:
                    key = keys[docs[i].id]
                    for j, (idx, start, end) in enumerate(docs[i].spans):
                        copy.write_row((key, idx, start, end, wrap(vectors[starts[i] + j])))

        self.backend.transaction(write)

    def update_metadata(self, updates: Sequence[tuple[int, str, bytes]]) -> None:
        self.backend.transaction(lambda conn: self._set_metadata(conn, updates))

    def _set_metadata(self, conn: Any, updates: Sequence[tuple[int, str, bytes]]) -> None:
        ordered = sorted(updates)
        conn.execute(
            f"UPDATE {self.docs} AS d SET metadata = u.m, content_hash = u.h FROM "
            "unnest(%s::bigint[], %s::jsonb[], %s::bytea[]) AS u(k, m, h) WHERE d.key = u.k",
            ([u[0] for u in ordered], [u[1] for u in ordered], [u[2] for u in ordered]),
        )

    def delete(self, keys: Sequence[int]) -> None:
        self.backend.transaction(
            lambda conn: conn.execute(
                f"DELETE FROM {self.docs} WHERE key = ANY(%s)", (sorted(int(k) for k in keys),)
            )
        )

    # --- reading ------------------------------------------------------------------------------
    def count(self) -> int:
        return int(self._conn().execute(f"SELECT count(*) FROM {self.docs}").fetchone()[0])

    def count_vectors(self) -> int:
        return int(self._conn().execute(f"SELECT count(*) FROM {self.chunks}").fetchone()[0])

    def _filtered(self, ids: Sequence[str] | None, where: Where) -> tuple[str, list[Any]]:
        sql, params = compile_where_pg(where)
        if ids is not None:
            sql, params = f"{sql} AND d.id = ANY(%s)", [*params, list(ids)]
        return sql, params

    def keys(self, ids: Sequence[str] | None, where: Where) -> np.ndarray:
        sql, params = self._filtered(ids, where)
        rows = (
            self._conn()
            .execute(f"SELECT d.key FROM {self.docs} d WHERE {sql} ORDER BY d.key", params)
            .fetchall()
        )
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def documents(
        self,
        ids: Sequence[str] | None = None,
        where: Where = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Document]:
        sql, params = self._filtered(ids, where)
        if ids is not None:
            rows = self._conn().execute(
                f"SELECT d.id, d.text, d.metadata FROM {self.docs} d WHERE {sql}", params
            )
            found = {i: Document(i, t, m) for i, t, m in rows}
            out = [found[i] for i in ids if i in found]
            return out[offset:][:limit] if limit is not None else out[offset:]
        rows = self._conn().execute(
            f"SELECT d.id, d.text, d.metadata FROM {self.docs} d WHERE {sql} "
            "ORDER BY d.key LIMIT %s OFFSET %s",
            [*params, limit, offset],
        )
        return [Document(i, t, m) for i, t, m in rows]

    def chunk_vectors(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rows = (
            self._conn()
            .execute(
                f"SELECT doc_key, embedding FROM {self.chunks} WHERE doc_key = ANY(%s) ORDER BY label",
                (keys.tolist(),),
            )
            .fetchall()
        )
        owners = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        vectors = np.array([r[1].to_numpy() for r in rows], dtype=np.float32)
        return owners, vectors.reshape(len(rows), self.record.config.dim)

    def spans(self, key: int) -> list[tuple[int, int, int]]:
        rows = self._conn().execute(
            f"SELECT idx, start_char, end_char FROM {self.chunks} WHERE doc_key = %s ORDER BY idx",
            (int(key),),
        )
        return [(int(i), int(s), int(e)) for i, s, e in rows]

    def version(self) -> str:
        # Every committed insert or update gives its rows a new xmin; a delete lowers the
        # count, and keys are never reused, so any committed write changes one of the three
        # (the collection's id tells a collection made again under the same name apart).
        row = (
            self._conn()
            .execute(
                f"SELECT count(*), coalesce(max(key), 0), "
                f"coalesce(max(xmin::text::bigint), 0) FROM {self.docs}"
            )
            .fetchone()
        )
        return ".".join(str(int(v)) for v in (self.record.id, *row))

    # --- searching ----------------------------------------------------------------------------
    def dense(
        self, queries: np.ndarray, k: int, where: Where, exact: bool, ef: int | None
    ) -> list[list[DocMatch]]:
        return [
            [DocMatch(r[0], r[2], r[1]) for r in rows]
            for rows in self._nearest(queries, k, where, exact, ef, "")
        ]

    def dense_hits(
        self,
        queries: np.ndarray,
        k: int,
        where: Where,
        exact: bool,
        ef: int | None,
        include: frozenset[str],
    ) -> list[list[Hit]]:
        """One query per search: the nearest chunks joined with what the hits carry."""
        keep_text, keep_meta = "text" in include, "metadata" in include
        extra = ", d.id" + (", d.text, c.idx, c.start_char, c.end_char" if keep_text else "")
        extra += ", d.metadata" if keep_meta else ""
        out = []
        for rows in self._nearest(queries, k, where, exact, ef, extra):
            hits = []
            for row in rows:
                hit = Hit(row[3], row[2])
                if keep_text:
                    text, idx, start, end = row[4:8]
                    hit.text = text
                    if text is not None:
                        hit.chunk = Chunk(text[start:end], start, end, idx)
                if keep_meta:
                    hit.metadata = row[-1]
                hits.append(hit)
            out.append(hits)
        return out

    def _nearest(
        self,
        queries: np.ndarray,
        k: int,
        where: Where,
        exact: bool,
        ef: int | None,
        extra: str,
    ) -> list[list[tuple[Any, ...]]]:
        """Per query, rows ``(doc_key, label, score, *extra)`` of the best chunk of the ``k``
        best documents; ``extra``: more columns of ``c`` (the chunk) and ``d`` (its
        document)."""
        filter_sql, params = compile_where_pg(where) if where else ("TRUE", [])
        use_index = not exact and self.record.config.index != "exact"
        if where and use_index:
            small = self._small_match(filter_sql, params)
            if small is not None:  # few matches: exact over them, whatever the graph says
                if not small:
                    return [[] for _ in queries]
                filter_sql, params, use_index = "c.doc_key = ANY(%s)", [small], False
        out = []
        for q in queries:
            vector = self._query(q)
            rows = (
                self._approximate(vector, k, where, filter_sql, params, ef, extra)
                if use_index
                else None
            )
            if rows is None:  # no index, or the graph gave up under a tight filter
                rows = self._exact(vector, k, filter_sql, params, extra)
            out.append(rows)
        return out

    def _small_match(self, filter_sql: str, params: list[Any]) -> list[int] | None:
        """The keys of the documents a filter matches if there are at most
        ``EXACT_FILTER_MAX`` of them, else None. Under a tight filter the graph's
        iterative scan meets few matches and not always the nearest ones.

        A sample of the documents table (``_SAMPLE_PAGES`` pages) first estimates the
        matches, so a broad filter costs little; below twice the limit, a scan that stops
        at the first key past the limit decides (it costs a scan of the documents under a
        tight filter, which the exact search needs anyway)."""
        conn = self._conn()
        share = (
            f"least(100, {100 * _SAMPLE_PAGES}.0 / greatest(1, pg_relation_size("
            f"'{self.docs}'::regclass) / current_setting('block_size')::int))"
        )
        estimate = conn.execute(
            f"SELECT count(*) FILTER (WHERE {filter_sql}) * 100.0 / {share} "
            f"FROM {self.docs} d TABLESAMPLE SYSTEM ({share})",
            params,
        ).fetchone()[0]
        if estimate > 2 * EXACT_FILTER_MAX:
            return None
        rows = conn.execute(
            f"SELECT d.key FROM {self.docs} d WHERE {filter_sql} LIMIT {EXACT_FILTER_MAX + 1}",
            params,
        ).fetchall()
        return None if len(rows) > EXACT_FILTER_MAX else [r[0] for r in rows]

    def _approximate(
        self,
        vector: Any,
        k: int,
        where: Where,
        filter_sql: str,
        params: list[Any],
        ef: int | None,
        extra: str,
    ) -> list[tuple[Any, ...]] | None:
        """Documents from the HNSW index (iterative scans), fetching deeper while chunks of
        the same documents crowd the results; None if the scan could not fill ``k``."""
        if where:  # the filter on the documents is applied while the index is scanned
            sql = (
                f"SELECT c.doc_key, c.label, {self.distance} AS dist{extra} FROM {self.chunks} c "
                f"JOIN {self.docs} d ON d.key = c.doc_key WHERE {filter_sql} ORDER BY dist "
                "LIMIT {limit}"
            )
        else:
            sql = (
                f"SELECT c.doc_key, c.label, c.dist{extra} FROM (SELECT doc_key, label, idx, "
                f"start_char, end_char, embedding {self.operator} %s AS dist FROM {self.chunks} "
                "ORDER BY dist LIMIT {limit}) c"
                + (f" JOIN {self.docs} d ON d.key = c.doc_key" if extra else "")
            )
        fetch = k if self.one_chunk else k * _FIRST_FETCH
        if where:
            # relaxed order under a filter: the first matches met are not always the nearest;
            # fetching a few times k and keeping the best lifts recall@10 at 0.1% of 100k
            fetch *= _FILTER_OVERFETCH
        while True:
            self.backend.set_ef(
                min(EF_SEARCH_MAX, max(ef or self.record.config.hnsw.ef_search, fetch))
            )
            # LIMIT as a literal: a bound LIMIT costs pgvector's scan ~0.15 ms per query
            query = sql.replace("{limit}", str(int(fetch)))
            rows = self._conn().execute(query, [vector, *params]).fetchall()
            rows.sort(key=lambda r: r[2])  # relaxed order: nearly sorted
            best = self._best_per_document(rows, k)
            if len(best) >= k:
                return best
            if len(rows) < fetch:  # the scan ended: every match, or it gave up
                return None if where else best
            fetch *= 4

    def _exact(
        self, vector: Any, k: int, filter_sql: str, params: list[Any], extra: str
    ) -> list[tuple[Any, ...]]:
        """The true top-``k`` documents by their best chunk (no index: a scan of the matches)."""
        rows = (
            self._conn()
            .execute(
                f"SELECT c.doc_key, c.label, c.dist{extra} FROM (SELECT DISTINCT ON (c.doc_key) "
                f"c.doc_key, c.label, c.idx, c.start_char, c.end_char, {self.distance} AS dist "
                f"FROM {self.chunks} c JOIN {self.docs} d ON d.key = c.doc_key WHERE {filter_sql} "
                f"ORDER BY c.doc_key, dist) c JOIN {self.docs} d ON d.key = c.doc_key "
                "ORDER BY c.dist, c.doc_key LIMIT %s",
                [vector, *params, k],
            )
            .fetchall()
        )
        return self._best_per_document(rows, k)

    def _best_per_document(self, rows: list[Any], k: int) -> list[tuple[Any, ...]]:
        """The first row of each document, with its distance turned into a score."""
        seen: set[int] = set()
        out: list[tuple[Any, ...]] = []
        for row in rows:
            if row[0] in seen:
                continue
            seen.add(row[0])
            score = 1.0 - row[2] if self.cosine else -row[2]
            out.append((row[0], row[1], score, *row[3:]))
            if len(out) == k:
                break
        return out

    def lexical(self, texts: Sequence[str], k: int, where: Where) -> list[list[DocMatch]]:
        filter_sql, params = compile_where_pg(where) if where else ("TRUE", [])
        out: list[list[DocMatch]] = []
        for text in texts:
            terms = match_terms(text)
            if not terms:
                out.append([])
                continue
            rows = (
                self._conn()
                .execute(
                    f"SELECT d.key, ts_rank(d.tsv, q, 1) AS s FROM {self.docs} d, "
                    f"to_tsquery('{TEXT_SEARCH_CONFIG}', %s) q WHERE d.tsv @@ q AND {filter_sql} "
                    "ORDER BY s DESC, d.key LIMIT %s",
                    [" | ".join(terms), *params, k],
                )
                .fetchall()
            )
            out.append([DocMatch(int(key), float(s), -1) for key, s in rows])
        return out

    def hits(self, ranked: list[list[DocMatch]], include: frozenset[str]) -> list[list[Hit]]:
        keys = sorted({m.key for ms in ranked for m in ms})
        keep_text, keep_meta = "text" in include, "metadata" in include
        columns = (
            "key, id"
            + (", text" if keep_text else ", NULL")
            + (", metadata" if keep_meta else ", NULL")
        )
        conn = self._conn()
        docs = {
            r[0]: r[1:]
            for r in conn.execute(f"SELECT {columns} FROM {self.docs} WHERE key = ANY(%s)", (keys,))
        }
        spans: dict[int, tuple[int, int, int]] = {}
        labels = sorted({m.label for ms in ranked for m in ms if m.label >= 0})
        if keep_text and labels:
            spans = {
                r[0]: r[1:]
                for r in conn.execute(
                    f"SELECT label, idx, start_char, end_char FROM {self.chunks} "
                    "WHERE label = ANY(%s)",
                    (labels,),
                )
            }
        out = []
        for matches in ranked:
            hits = []
            for m in matches:
                doc = docs.get(m.key)
                if doc is None:  # deleted since the search
                    continue
                doc_id, text, meta = doc
                chunk = None
                span = spans.get(m.label)
                if span is not None and text is not None:
                    idx, start, end = span
                    chunk = Chunk(text[start:end], start, end, idx)
                hits.append(Hit(doc_id, m.score, text, meta if keep_meta else {}, chunk))
            out.append(hits)
        return out

    # --- moving collections -------------------------------------------------------------------
    def export(self, batch: int = 1000) -> Iterator[tuple[list[NewDocument], np.ndarray]]:
        after = 0
        conn = self._conn()
        while True:
            with conn.transaction():
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                rows = conn.execute(
                    f"SELECT key, id, text, metadata, content_hash FROM {self.docs} "
                    "WHERE key > %s ORDER BY key LIMIT %s",
                    (after, batch),
                ).fetchall()
                chunks = conn.execute(
                    f"SELECT doc_key, idx, start_char, end_char, embedding FROM {self.chunks} "
                    "WHERE doc_key = ANY(%s) ORDER BY label",
                    ([r[0] for r in rows],),
                ).fetchall()
            if not rows:
                return
            by_doc: dict[int, list[Any]] = {}
            for doc_key, *rest in chunks:
                by_doc.setdefault(doc_key, []).append(rest)
            docs, vectors = [], []
            for key, doc_id, text, meta, content_hash in rows:
                mine = by_doc.get(key, [])
                docs.append(
                    NewDocument(
                        doc_id,
                        text,
                        metadata_to_json(meta, f"document {doc_id!r}"),
                        bytes(content_hash),
                        [(c[0], c[1], c[2]) for c in mine],
                    )
                )
                vectors += [c[3].to_numpy() for c in mine]
            dim = self.record.config.dim
            yield docs, np.array(vectors, dtype=np.float32).reshape(len(vectors), dim)
            after = rows[-1][0]

    # --- maintenance --------------------------------------------------------------------------
    def rebuild_index(self) -> None:
        if self.record.config.index != "exact":
            self._conn().execute(f"REINDEX INDEX {hnsw_index(self.record.id)}")

    def verify(self) -> list[str]:
        conn = self._conn()
        problems = []
        orphans = conn.execute(
            f"SELECT count(*) FROM {self.docs} d WHERE NOT EXISTS "
            f"(SELECT 1 FROM {self.chunks} c WHERE c.doc_key = d.key)"
        ).fetchone()[0]
        if orphans:
            problems.append(f"{orphans} documents have no vectors")
        if self.record.config.index != "exact":
            row = conn.execute(
                "SELECT i.indisvalid FROM pg_index i WHERE i.indexrelid = to_regclass(%s)",
                (hnsw_index(self.record.id),),
            ).fetchone()
            if row is None or not row[0]:
                problems.append("the HNSW index is missing or invalid: `semkit index rebuild`")
        return problems

    def index_info(self) -> dict[str, Any]:
        row = (
            self._conn()
            .execute(
                "SELECT pg_relation_size(to_regclass(%s)), pg_total_relation_size(to_regclass(%s))",
                (hnsw_index(self.record.id), self.chunks),
            )
            .fetchone()
        )
        return {
            "index_kind": "exact" if self.record.config.index == "exact" else "hnsw",
            "vector_type": self.record.config.vector_type or "vector",
            "index_bytes": int(row[0] or 0),
            "chunks_bytes": int(row[1] or 0),
        }
