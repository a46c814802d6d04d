from __future__ import annotations

import pytest

import semkit


@pytest.fixture
def db(tmp_path):
    database = semkit.open(tmp_path / "db")
    yield database
    database.close()


@pytest.fixture
def hashed(db):
    """A collection on the instant bag-of-words model, for tests about storage, not meaning."""
    return db.collection("hashed", model="hashing:64")
