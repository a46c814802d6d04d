"""The persistent, content-addressed embedding cache.

A vector is stored under ``key(fingerprint, dims, normalize, prompt, text)``, a
SHA-256 over everything that determines it, so a hit is always the vector the
model would produce and a changed model can never serve stale vectors. The store
is one SQLite file in WAL mode: readers never block, writers from several
processes take turns (``busy_timeout``), and ``INSERT OR IGNORE`` makes a race
between two writers of the same key harmless. Vectors are little-endian float32
blobs. The same file memoises model-directory fingerprints.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from semkit import config
from semkit.errors import StoreError

FORMAT_VERSION = 1
_FILE_NAME = "embeddings.sqlite3"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS vectors (
    key         BLOB PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    dim         INTEGER NOT NULL,
    vector      BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS fingerprints (
    path     TEXT PRIMARY KEY,
    stat     TEXT NOT NULL,
    value    TEXT NOT NULL
);
"""
_F32 = np.dtype("<f4")
_LOOKUP_BATCH = 500


def cache_key(fingerprint: str, dims: int | None, normalize: bool, prompt: str, text: str) -> bytes:
    h = hashlib.sha256()
    for part in (fingerprint, str(dims or 0), "1" if normalize else "0", prompt, text):
        data = part.encode("utf-8")
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.digest()


def default_cache_dir() -> Path:
    return Path(config.get("cache_dir"))


class EmbeddingCache:
    """Embedding vectors by content key, shared by every process of the user."""

    def __init__(self, directory: str | Path | None = None, *, timeout: float = 60.0) -> None:
        self.directory = Path(directory) if directory is not None else default_cache_dir()
        self.path = self.directory / _FILE_NAME
        self._lock = threading.Lock()
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                self.path, timeout=timeout, check_same_thread=False, isolation_level=None
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            self._check_version()
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"cannot open the embedding cache {self.path}: {exc}; "
                f"remove it (`semkit cache clear`) or set SEMKIT_CACHE_DIR"
            ) from exc

    def _check_version(self) -> None:
        row = self._db.execute("SELECT value FROM meta WHERE name='format_version'").fetchone()
        if row is None:
            self._db.execute(
                "INSERT OR IGNORE INTO meta VALUES ('format_version', ?)", (str(FORMAT_VERSION),)
            )
        elif int(row[0]) != FORMAT_VERSION:
            raise StoreError(
                f"embedding cache {self.path} has format {row[0]}, this semkit "
                f"reads format {FORMAT_VERSION}; clear it with `semkit cache clear`"
            )

    def get_many(self, keys: Sequence[bytes]) -> dict[bytes, np.ndarray]:
        found: dict[bytes, np.ndarray] = {}
        with self._lock:
            for i in range(0, len(keys), _LOOKUP_BATCH):
                part = list(keys[i : i + _LOOKUP_BATCH])
                marks = ",".join("?" * len(part))
                rows = self._db.execute(
                    f"SELECT key, dim, vector FROM vectors WHERE key IN ({marks})", part
                )
                for key, dim, blob in rows:
                    vec = np.frombuffer(blob, dtype=_F32)
                    if vec.shape == (dim,):  # a torn or foreign row is a miss, not a crash
                        found[key] = vec.astype(np.float32)
        return found

    def put_many(self, fingerprint: str, items: Iterable[tuple[bytes, np.ndarray]]) -> None:
        rows = [
            (k, fingerprint, int(v.shape[0]), np.ascontiguousarray(v, dtype=_F32).tobytes())
            for k, v in items
        ]
        if not rows:
            return
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany("INSERT OR IGNORE INTO vectors VALUES (?, ?, ?, ?)", rows)
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise StoreError(f"cannot write to the embedding cache {self.path}: {exc}") from exc

    def stats(self) -> dict[str, Any]:
        with self._lock:
            models = [
                {"fingerprint": fp, "dim": dim, "entries": n}
                for fp, dim, n in self._db.execute(
                    "SELECT fingerprint, dim, COUNT(*) FROM vectors GROUP BY fingerprint, dim "
                    "ORDER BY COUNT(*) DESC"
                )
            ]
        size = sum(p.stat().st_size for p in self.directory.glob(_FILE_NAME + "*") if p.is_file())
        return {
            "path": str(self.path),
            "entries": sum(m["entries"] for m in models),
            "bytes": size,
            "models": models,
        }

    def clear(self, fingerprint: str | None = None) -> int:
        """Remove all vectors (or one model's) and give the disk space back."""
        with self._lock:
            if fingerprint is None:
                removed = self._db.execute("DELETE FROM vectors").rowcount
            else:
                removed = self._db.execute(
                    "DELETE FROM vectors WHERE fingerprint = ?", (fingerprint,)
                ).rowcount
            self._db.execute("VACUUM")
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return int(removed)

    def memo_fingerprint(self, path: Path, stat: str, compute: Any) -> str:
        """Fingerprint of a model directory, recomputed only when ``stat`` changes."""
        with self._lock:
            row = self._db.execute(
                "SELECT stat, value FROM fingerprints WHERE path = ?", (str(path),)
            ).fetchone()
        if row is not None and row[0] == stat:
            return str(row[1])
        value = str(compute())
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO fingerprints VALUES (?, ?, ?)", (str(path), stat, value)
            )
        return value

    def close(self) -> None:
        with self._lock:
            self._db.close()
