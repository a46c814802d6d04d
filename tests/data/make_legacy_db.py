"""How ``tests/data/legacy-db`` was made: by semkit 0.1.0 before the backend contract
(commit 66737fa), so tests can prove that databases written then still open.

Run from the repository root with that version of semkit installed:
``python tests/data/make_legacy_db.py``. Do not re-run it with a newer semkit.
"""

import shutil
import sqlite3
from pathlib import Path

import semkit

OUT = Path(__file__).parent / "legacy-db"
TEXTS = [
    "the quick brown fox jumps over the lazy dog",
    "error code ORA-00942: table or view does not exist",
    "penguins huddle together in the antarctic winter",
    "gradient descent trains neural networks",
]

if __name__ == "__main__":
    shutil.rmtree(OUT, ignore_errors=True)
    with semkit.open(OUT) as db:
        words = db.collection("words", model="hashing:64", chunking={"max_tokens": 8, "overlap": 2})
        words.add(
            TEXTS,
            ids=["fox", "ora", "penguin", "gd"],
            metadatas=[{"n": i, "tag": t} for i, t in enumerate("abab")],
        )
        words.delete(ids=["gd"])
        vecs = db.collection("vecs", model=None, dims=3, metric="euclidean", index="hnsw")
        vecs.add(embeddings=[[1, 0, 0], [0, 2, 0], [0, 0, 3]], ids=["x", "y", "z"])
        vecs.search([1, 0, 0], k=1)  # writes the HNSW file
    conn = sqlite3.connect(OUT / "semkit.db")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()
