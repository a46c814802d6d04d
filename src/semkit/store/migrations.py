"""Schema migrations: named steps, each applied in the transaction that records it.

Add a step by appending ``(name, sql)``; never edit a step that has shipped.
"""

from __future__ import annotations

import sqlite3

FORMAT = "semkit-db"
MIGRATIONS: list[tuple[str, str]] = [
    (
        "m001_initial",
        """
        CREATE TABLE collections (
            id          INTEGER PRIMARY KEY AUTOINCREMENT,
            name        TEXT NOT NULL UNIQUE,
            config      TEXT NOT NULL,           -- JSON: model, fingerprint, dim, metric, ...
            version     INTEGER NOT NULL DEFAULT 0,  -- bumped by every committed write
            created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
        );
        CREATE TABLE documents (
            rowid         INTEGER PRIMARY KEY AUTOINCREMENT,
            collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
            id            TEXT NOT NULL,
            text          TEXT,
            metadata      TEXT NOT NULL DEFAULT '{}',
            content_hash  BLOB NOT NULL,
            UNIQUE (collection_id, id)
        );
        -- One row per embedded chunk. ``label`` is the vector's id in every index and is
        -- never reused (AUTOINCREMENT), so a derived index can be checked against it.
        CREATE TABLE chunks (
            label         INTEGER PRIMARY KEY AUTOINCREMENT,
            collection_id INTEGER NOT NULL,
            doc_rowid     INTEGER NOT NULL REFERENCES documents(rowid) ON DELETE CASCADE,
            idx           INTEGER NOT NULL,
            start         INTEGER NOT NULL,
            end           INTEGER NOT NULL,
            vector        BLOB NOT NULL
        );
        CREATE INDEX chunks_by_collection ON chunks (collection_id, label);
        CREATE INDEX chunks_by_document ON chunks (doc_rowid);
    """,
    ),
]


def migrate(db: sqlite3.Connection) -> None:
    """Bring a database up to date; each step and its record commit together.

    An up-to-date database is only read, so opening one never waits for a writer.
    """
    has_meta = (
        db.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='migrations'"
        ).fetchone()
        is not None
    )
    done = {row[0] for row in db.execute("SELECT name FROM migrations")} if has_meta else set()
    if all(name in done for name, _ in MIGRATIONS):
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute(
            "CREATE TABLE IF NOT EXISTS semkit_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)"
        )
        db.execute(
            "CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, "
            "applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')))"
        )
        db.execute("INSERT OR IGNORE INTO semkit_meta VALUES ('format', ?)", (FORMAT,))
        done = {row[0] for row in db.execute("SELECT name FROM migrations")}
        for name, sql in MIGRATIONS:
            if name in done:
                continue
            for statement in sql.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute("INSERT INTO migrations (name) VALUES (?)", (name,))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def unknown_migrations(db: sqlite3.Connection) -> list[str]:
    """Steps recorded in the file that this semkit does not know (a newer semkit wrote it)."""
    known = {name for name, _ in MIGRATIONS}
    return [row[0] for row in db.execute("SELECT name FROM migrations") if row[0] not in known]
