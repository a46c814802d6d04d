"""Opening databases: files written by earlier versions, mistyped paths, threads reading at once."""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
from pathlib import Path

import numpy as np
import pytest

import semkit
from semkit.cli.main import main
from semkit.search import CollectionConfig

LEGACY = Path(__file__).parents[1] / "data" / "legacy-db"


@pytest.fixture
def legacy(tmp_path):
    path = tmp_path / "legacy-db"
    shutil.copytree(LEGACY, path)
    return path


def test_a_database_written_by_semkit_0_1_opens_and_answers_as_it_did(legacy):
    """tests/data/legacy-db was written by semkit 0.1.0 (tests/data/make_legacy_db.py);
    the expected answers are what that version gave."""
    with semkit.open(legacy, create=False) as db:
        assert db.collections() == ["vecs", "words"]
        words = db.collection("words", create=False)
        assert words.count() == 3 and words.info()["vectors"] == 5
        hits = words.search("antarctic penguins", k=3)
        assert [(h.id, round(h.score, 4)) for h in hits] == [
            ("penguin", 0.5345),
            ("fox", 0.0),
            ("ora", 0.0),
        ]
        assert hits[1].chunk.text == "the quick brown fox jumps over the lazy"
        lexical = words.search("ORA-00942", k=3, mode="lexical")
        assert [(h.id, round(h.score, 4)) for h in lexical] == [("ora", 0.9612)]
        hybrid = words.search("fox table", k=3, mode="hybrid")
        assert [h.id for h in hybrid] == ["ora", "fox", "penguin"]
        assert [d.id for d in words.get(where={"tag": "a"})] == ["fox", "penguin"]
        vecs = db.collection("vecs")
        assert vecs.info()["index_kind"] == "hnsw"
        assert [(h.id, round(h.score, 4)) for h in vecs.search([0, 2, 0.1], k=2)] == [
            ("y", -0.1),
            ("x", -2.2383),
        ]
        assert db.verify() == {"database": [], "vecs": [], "words": []}
        words.add(["a new document about penguins"], ids=["new"])  # and it takes writes
        assert words.search("penguins", k=1)[0].id in {"new", "penguin"}


def test_collection_config_keeps_the_json_that_is_on_disk(legacy):
    conn = sqlite3.connect(legacy / "semkit.db")
    rows = conn.execute("SELECT config FROM collections").fetchall()
    conn.close()
    for (text,) in rows:
        config = CollectionConfig.from_dict(json.loads(text))
        assert json.dumps(config.as_dict(), sort_keys=True) == text
        with pytest.raises(AttributeError):
            config.metric = "dot"  # type: ignore[misc]


def test_opening_a_missing_database_without_create_is_refused(tmp_path, capsys):
    missing = tmp_path / "typo-db"
    with pytest.raises(semkit.NotFoundError, match="no semkit database at"):
        semkit.open(missing, create=False)
    assert not missing.exists()
    for argv in (
        ["search", "docs", "query"],
        ["get", "docs"],
        ["info", "docs"],
        ["list"],
        ["verify"],
        ["similar", "docs", "x"],
    ):
        assert main([*argv, "--db", str(missing)]) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("semkit: error: no semkit database at") and err.count("\n") == 1
    assert not missing.exists()  # read-only commands never create a database
    (tmp_path / "empty-dir").mkdir()
    with pytest.raises(semkit.NotFoundError):
        semkit.open(tmp_path / "empty-dir", create=False)


def test_reads_go_on_in_other_threads_while_a_write_is_open(tmp_path):
    with semkit.open(tmp_path / "db") as db:
        coll = db.collection("c", model=None, dims=4)
        coll.add(embeddings=np.eye(4), ids=list("abcd"), metadatas=[{"n": i} for i in range(4)])
        in_write, release = threading.Event(), threading.Event()

        def hold_the_writer() -> None:
            with db.backend.store.write():
                in_write.set()
                release.wait(10)

        writer = threading.Thread(target=hold_the_writer)
        writer.start()
        try:
            assert in_write.wait(5)
            results: list[object] = []

            def read() -> None:
                try:
                    results.append(
                        (coll.search([1, 0, 0, 0], k=1)[0].id, coll.count(), coll.get(ids=["b"]))
                    )
                except Exception as exc:  # pragma: no cover - reported below
                    results.append(exc)

            readers = [threading.Thread(target=read) for _ in range(4)]
            for t in readers:
                t.start()
            for t in readers:
                t.join(5)
            assert not any(t.is_alive() for t in readers), "a reader waited for the writer"
            assert all(r == ("a", 4, [semkit.Document("b", None, {"n": 1})]) for r in results)
        finally:
            release.set()
            writer.join()


def test_many_threads_search_while_one_writes(tmp_path):
    rng = np.random.default_rng(0)
    base = rng.normal(size=(3000, 16)).astype(np.float32)
    base[:100] += 10.0  # the documents deleted below: far from every query
    with semkit.open(tmp_path / "db") as db:
        coll = db.collection("c", model=None, dims=16, index="hnsw")
        coll.add(embeddings=base[:1000], ids=[f"v{i}" for i in range(1000)])
        errors: list[BaseException] = []
        done = threading.Event()

        def search() -> None:
            try:
                while not done.is_set():
                    for hits in coll.search_batch(base[500:520], k=5):
                        assert len(hits) == 5
                    assert len(coll.search(base[600], k=3, where={"missing": None})) == 3
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=search) for _ in range(3)]
        for t in threads:
            t.start()
        for start in range(1000, 3000, 250):
            coll.add(
                embeddings=base[start : start + 250],
                ids=[f"v{i}" for i in range(start, start + 250)],
            )
            if start == 2000:
                coll.delete(ids=[f"v{i}" for i in range(100)])
        done.set()
        for t in threads:
            t.join()
        assert errors == []
        assert coll.count() == 2900 and coll.search(base[2999], k=1)[0].id == "v2999"
