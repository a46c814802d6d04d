"""The PostgreSQL schema: named, versioned migrations and the tables of one collection.

Database-wide tables come from ``MIGRATIONS``; each step runs in the transaction that
records it, under an advisory lock, so processes that open a new database at once
apply it once. Add a step by appending ``(name, sql)``; never edit a step that has
shipped. Each collection owns two tables named by its id (so names never need
quoting): documents (``jsonb`` metadata, a generated ``tsvector`` for full-text
search) and chunks (``vector(dim)`` or ``halfvec(dim)``, with an HNSW index whose
operator class follows the metric).
"""

from __future__ import annotations

from typing import Any

from semkit.search.config import CollectionConfig

FORMAT = "semkit-db"
MIGRATION_LOCK = 0x53454D4B  # pg_advisory_xact_lock key while migrating ("SEMK")
TEXT_SEARCH_CONFIG = "english"  # Porter stemming, English stop words (FTS5: porter)

MIGRATIONS: list[tuple[str, str]] = [
    (
        "m001_initial",
        """
        CREATE EXTENSION IF NOT EXISTS vector;
        CREATE TABLE semkit_meta (name text PRIMARY KEY, value text NOT NULL);
        CREATE TABLE semkit_collections (
            id          bigserial PRIMARY KEY,
            name        text NOT NULL UNIQUE,
            config      jsonb NOT NULL,
            created_at  timestamptz NOT NULL DEFAULT now()
        );
    """,
    ),
]

# (distance operator, HNSW operator class suffix); the score is 1 - distance for cosine,
# -distance otherwise (``<#>`` is the negative inner product)
METRIC_SQL = {
    "cosine": ("<=>", "cosine_ops"),
    "dot": ("<#>", "ip_ops"),
    "euclidean": ("<->", "l2_ops"),
}


def docs_table(cid: int) -> str:
    return f"semkit_docs_{int(cid)}"


def chunks_table(cid: int) -> str:
    return f"semkit_chunks_{int(cid)}"


def hnsw_index(cid: int) -> str:
    return f"semkit_chunks_{int(cid)}_hnsw"


def vector_type(config: CollectionConfig) -> str:
    return f"{config.vector_type or 'vector'}({int(config.dim)})"


def create_collection_sql(cid: int, config: CollectionConfig) -> list[str]:
    docs, chunks = docs_table(cid), chunks_table(cid)
    statements = [
        f"""CREATE TABLE {docs} (
            key           bigserial PRIMARY KEY,
            id            text NOT NULL UNIQUE,
            text          text,
            metadata      jsonb NOT NULL DEFAULT '{{}}',
            content_hash  bytea NOT NULL,
            tsv           tsvector GENERATED ALWAYS AS
                          (to_tsvector('{TEXT_SEARCH_CONFIG}', coalesce(text, ''))) STORED
        )""",
        f"CREATE INDEX {docs}_tsv ON {docs} USING gin (tsv)",
        f"""CREATE TABLE {chunks} (
            label       bigserial PRIMARY KEY,
            doc_key     bigint NOT NULL REFERENCES {docs}(key) ON DELETE CASCADE,
            idx         integer NOT NULL,
            start_char  integer NOT NULL,
            end_char    integer NOT NULL,
            embedding   {vector_type(config)} NOT NULL
        )""",
        f"CREATE INDEX {chunks}_doc ON {chunks} (doc_key)",
    ]
    if config.index != "exact":
        statements.append(create_hnsw_sql(cid, config))
    return statements


def create_hnsw_sql(cid: int, config: CollectionConfig) -> str:
    opclass = f"{config.vector_type or 'vector'}_{METRIC_SQL[config.metric][1]}"
    return (
        f"CREATE INDEX {hnsw_index(cid)} ON {chunks_table(cid)} USING hnsw (embedding {opclass}) "
        f"WITH (m = {int(config.hnsw.m)}, ef_construction = {int(config.hnsw.ef_construction)})"
    )


def drop_collection_sql(cid: int) -> list[str]:
    return [f"DROP TABLE IF EXISTS {chunks_table(cid)}", f"DROP TABLE IF EXISTS {docs_table(cid)}"]


def migrate(conn: Any) -> None:
    """Bring the database up to date (``conn``: a psycopg connection in autocommit mode)."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS semkit_migrations (name text PRIMARY KEY, "
            "applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r[0] for r in conn.execute("SELECT name FROM semkit_migrations")}
        for name, sql in MIGRATIONS:
            if name in done:
                continue
            for statement in sql.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute("INSERT INTO semkit_migrations (name) VALUES (%s)", (name,))
        conn.execute(
            "INSERT INTO semkit_meta VALUES ('format', %s) ON CONFLICT (name) DO NOTHING",
            (FORMAT,),
        )


def unknown_migrations(conn: Any) -> list[str]:
    """Steps recorded in the database that this semkit does not know."""
    known = {name for name, _ in MIGRATIONS}
    return [r[0] for r in conn.execute("SELECT name FROM semkit_migrations") if r[0] not in known]
