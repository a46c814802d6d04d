"""Fixtures of the collection tests.

``db`` is a database on each backend in turn (SQLite + FAISS, then PostgreSQL +
pgvector): every test that takes it is part of the backend contract that every
backend must pass. Tests of one backend's own machinery (files, locks, FAISS) take
``sqlite_db``.
"""

from __future__ import annotations

import pytest

import semkit


@pytest.fixture
def db(db_location):
    database = semkit.open(db_location)
    yield database
    database.close()


@pytest.fixture
def sqlite_db(tmp_path):
    database = semkit.open(tmp_path / "db")
    yield database
    database.close()


@pytest.fixture
def hashed(db):
    """A collection on the instant bag-of-words model, for tests about storage, not meaning."""
    return db.collection("hashed", model="hashing:64")


@pytest.fixture
def sqlite_hashed(sqlite_db):
    return sqlite_db.collection("hashed", model="hashing:64")
