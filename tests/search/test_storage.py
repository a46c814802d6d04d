"""Storage behaviour on the instant hashing model: upserts, deletes, filters, files, locks."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

import semkit
from semkit.errors import InputError, LockedError
from semkit.search import dense
from semkit.search.backends import postgres

WORDS = ["alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "theta", "zeta", "rho"]


def corpus(n: int, seed: int = 0) -> tuple[list[str], list[str], list[dict]]:
    rng = np.random.default_rng(seed)
    texts = [" ".join(rng.choice(WORDS, 6)) + f" doc{i}" for i in range(n)]
    ids = [f"d{i}" for i in range(n)]
    metas = [{"bucket": i % 1000, "even": i % 2 == 0, "tag": WORDS[i % 10]} for i in range(n)]
    return texts, ids, metas


def test_readding_embeds_nothing_and_does_not_grow(db, hashed):
    texts, ids, metas = corpus(2000)
    first = hashed.add(texts, ids=ids, metadatas=metas)
    assert first.written == 2000 and first.embedded == 2000
    again = hashed.add(texts, ids=ids, metadatas=metas)
    assert again.written == 0 and again.embedded == 0 and again.unchanged == 2000
    assert hashed.count() == 2000 and hashed.info()["vectors"] == 2000


def test_readding_does_not_grow_the_file(sqlite_db, sqlite_hashed):
    texts, ids, metas = corpus(5000)
    sqlite_hashed.add(texts, ids=ids, metadatas=metas)
    sqlite_db.backend.store.checkpoint()
    size = sqlite_db.size_bytes()
    sqlite_hashed.add(texts, ids=ids, metadatas=metas)
    sqlite_db.backend.store.checkpoint()
    assert sqlite_db.size_bytes() <= size


def test_delete_half_then_compact(db, hashed):
    """SQLite's VACUUM shrinks the file; PostgreSQL's VACUUM keeps the space for reuse."""
    texts, ids, metas = corpus(5000)
    hashed.add(texts, ids=ids, metadatas=metas)
    if db.backend_name == "sqlite":
        db.backend.store.checkpoint()
    before = db.size_bytes()
    assert hashed.delete(where={"even": True}) == 2500
    db.compact()
    if db.backend_name == "sqlite":
        assert db.size_bytes() < 0.75 * before
    assert hashed.count() == 2500 and not hashed.get(ids=["d0", "d2"])
    assert len(hashed.search("alpha", k=3000)) == 2500 and db.verify()["hashed"] == []


def test_upsert_reembeds_only_what_changed(hashed):
    hashed.add(["one two", "three four"], ids=["a", "b"], metadatas=[{"v": 1}, {"v": 1}])
    r = hashed.upsert(["one two", "three four"], ids=["a", "b"], metadatas=[{"v": 1}, {"v": 2}])
    assert (r.written, r.unchanged, r.metadata_only, r.embedded) == (0, 1, 1, 0)
    assert hashed.get(ids=["b"])[0].metadata == {"v": 2}
    r = hashed.upsert(["five six"], ids=["a"])
    assert r.written == 1 and r.embedded == 1
    assert hashed.search("five six", k=1)[0].id == "a"
    assert hashed.search("one two", k=1, mode="lexical") == []  # the old text is gone from BM25
    with pytest.raises(InputError, match="already exists with different content"):
        hashed.add(["seven"], ids=["a"])


def test_get_delete_by_ids_and_filters(hashed):
    texts, ids, metas = corpus(50)
    hashed.add(texts, ids=ids, metadatas=metas)
    assert [d.id for d in hashed.get(ids=["d7", "d3", "missing"])] == ["d7", "d3"]
    assert {d.id for d in hashed.get(where={"bucket": {"$lt": 5}})} == {f"d{i}" for i in range(5)}
    assert len(hashed.get(limit=10, offset=45)) == 5
    assert hashed.delete(ids=["d1", "d2"], where={"even": True}) == 1  # both must hold
    assert hashed.count() == 49
    with pytest.raises(InputError, match="give ids, where"):
        hashed.delete()


def test_auto_ids_are_content_derived(hashed):
    first = hashed.add(["same text", "other text"])
    second = hashed.add(["same text"])
    assert second.ids == first.ids[:1] and second.unchanged == 1 and hashed.count() == 2


@pytest.mark.parametrize("kind", ["exact", "hnsw"])
@pytest.mark.parametrize("selectivity", [0.5, 0.1, 0.01, 0.001])
def test_filtered_search_returns_min_k_matches(db, kind, selectivity, monkeypatch):
    """On PostgreSQL "hnsw" goes through pgvector's iterative index scans, "exact" has no index."""
    monkeypatch.setattr(dense, "EXACT_FILTER_MAX", 0)  # force the graph path for hnsw
    monkeypatch.setattr(postgres, "EXACT_FILTER_MAX", 0)
    coll = db.collection(f"f{kind}", model="hashing:64", index=kind)
    texts, ids, metas = corpus(3000)
    coll.add(texts, ids=ids, metadatas=metas)
    where = {"bucket": {"$lt": int(1000 * selectivity)}}
    matches = len(coll.get(where=where))
    assert matches == int(3000 * selectivity)
    for query in ["alpha beta", "omega zeta rho", "doc17"]:
        hits = coll.search(query, k=10, where=where)
        assert len(hits) == min(10, matches)
        assert all(h.metadata["bucket"] < 1000 * selectivity for h in hits)
        exact = coll.search(query, k=10, where=where, exact=True)
        assert len(exact) == len(hits)
        # Bag-of-words vectors tie a lot, so compare scores rather than ids.
        good = sum(h.score >= exact[-1].score - 1e-6 for h in hits)
        assert good >= 0.8 * len(exact)


@pytest.mark.parametrize("selectivity", [0.5, 0.1, 0.02, 0.01, 0.001])
def test_small_matched_sets_are_searched_exactly(db, selectivity):
    """A filter matching few documents gives the exact answer, however poor the graph
    (here m=2: a graph search under a 2% filter misses some of the true top 10)."""
    rng = np.random.default_rng(5)
    vectors = rng.normal(size=(5000, 16)).astype(np.float32)
    coll = db.collection(
        "tight", model=None, dims=16, index="hnsw", hnsw={"m": 2, "ef_construction": 4}
    )
    coll.add(
        embeddings=vectors,
        ids=[f"v{i}" for i in range(5000)],
        metadatas=[{"bucket": i % 1000} for i in range(5000)],
    )
    where = {"bucket": {"$lt": int(1000 * selectivity)}}
    matches = int(5000 * selectivity)
    for query in rng.normal(size=(5, 16)):
        hits = coll.search(query, k=10, where=where)
        assert len(hits) == min(10, matches)
        if matches <= min(dense.EXACT_FILTER_MAX, postgres.EXACT_FILTER_MAX):
            exact = coll.search(query, k=10, where=where, exact=True)
            assert [h.id for h in hits] == [h.id for h in exact]


def test_lexical_and_hybrid(hashed):
    hashed.add(
        ["the quick brown fox", "a lazy dog sleeps", "error code ORA-00942 in oracle"],
        ids=["fox", "dog", "ora"],
        metadatas=[{"k": 1}, {"k": 2}, {"k": 3}],
    )
    assert hashed.search("ORA-00942", k=1, mode="lexical")[0].id == "ora"
    assert hashed.search("foxes", k=3, mode="lexical")[0].id == "fox"  # porter stemming
    assert hashed.search("fox", k=3, mode="lexical", where={"k": {"$gt": 1}}) == []
    fused = hashed.search("quick dog", k=3, mode="hybrid")
    assert {h.id for h in fused[:2]} == {"fox", "dog"}
    assert fused[0].score > 0
    with pytest.raises(InputError, match="mode"):
        hashed.search("x", mode="fuzzy")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="need query text"):
        hashed.search(np.ones(64), mode="lexical")


def test_vector_only_collection(db):
    coll = db.collection("vecs", model=None, dims=4, metric="euclidean")
    coll.add(embeddings=np.eye(4) * 2, ids=list("abcd"), metadatas=[{"n": i} for i in range(4)])
    hits = coll.search(np.array([2.0, 0.1, 0, 0]), k=2)
    assert hits[0].id == "a" and hits[0].score == pytest.approx(-0.1, abs=1e-5)
    with pytest.raises(InputError, match="no model"):
        coll.search("text query")
    with pytest.raises(InputError, match="collection without a model needs dims"):
        db.collection("nodims", model=None)


def test_hnsw_file_is_checked_rebuilt_and_kept_in_step(tmp_path):
    texts, ids, _metas = corpus(2000)
    with semkit.open(tmp_path / "db") as db:
        coll = db.collection("h", model="hashing:64", index="hnsw")
        coll.add(texts[:1500], ids=ids[:1500])
        expected = [h.id for h in coll.search("alpha omega", k=10)]
    path = next((tmp_path / "db" / "indexes").glob("*.hnsw"))
    # Another writer adds and deletes while our index file sits on disk.
    with semkit.open(tmp_path / "db") as other:
        c = other.collection("h")
        c._store.vectors._index = None  # this process never loads the index: only the store changes
        c.add(texts[1500:], ids=ids[1500:])
        c.delete(ids=ids[:100])
        other._open.clear()
    with semkit.open(tmp_path / "db") as db:
        coll = db.collection("h")
        hits = coll.search("alpha omega", k=2000)
        assert len(hits) == 1900 and not {h.id for h in hits} & set(ids[:100])
        assert coll._store.vectors.events[0] == "loaded"  # reconciled, not rebuilt
        assert coll.verify() == []
    # Tampering is detected before anything is loaded, and the index is rebuilt.
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with semkit.open(tmp_path / "db") as db:
        coll = db.collection("h")
        assert "checksum" in " ".join(coll.verify())
        result = [h.id for h in coll.search("alpha omega", k=10)]
        assert (
            coll._store.vectors.events[0].startswith("rebuilt")
            and "checksum" in coll._store.vectors.events[0]
        )
        assert len(set(result) & set(expected)) >= 8 or len(result) == 10
        assert coll.verify() == []


def test_second_writer_waits_then_gets_a_clear_error(tmp_path):
    with semkit.open(tmp_path / "db") as db:
        db.collection("c", model="hashing:8").add(["x"])
    holder = sqlite3.connect(tmp_path / "db" / "semkit.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process in the middle of a write
    try:
        with semkit.open(tmp_path / "db", timeout=0.3) as db:
            coll = db.collection("c")
            with pytest.raises(LockedError, match="another process"):
                coll.add(["y"])
            assert [h.id for h in coll.search("x", k=1)]  # readers never block
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_verify_reports_damage(sqlite_db, sqlite_hashed):
    sqlite_hashed.add(["a b", "c d"], ids=["1", "2"])
    assert sqlite_db.verify() == {"database": [], "hashed": []}
    with sqlite_db.backend.store.write() as conn:
        conn.execute(
            f"DELETE FROM fts_{sqlite_hashed.record.id} "
            "WHERE rowid = (SELECT min(rowid) FROM documents)"
        )
    assert "lexical index holds 1 documents, the store 2" in sqlite_db.verify()["hashed"]


def test_bad_names_and_options(db):
    with pytest.raises(InputError, match="invalid collection name"):
        db.collection("../evil")
    with pytest.raises(InputError, match="unknown index"):
        db.collection("x", index="ivf")
    with pytest.raises(InputError, match="unknown metric"):
        db.collection("x", metric="manhattan")
    with pytest.raises(InputError, match="unknown hnsw setting"):
        db.collection("x", hnsw={"M": 8})
    with pytest.raises(semkit.NotFoundError, match="no collection"):
        db.collection("missing", create=False)
    assert db.collections() == []


def test_a_file_is_not_a_database(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(semkit.StoreError, match="is a file"):
        semkit.open(tmp_path / "file")


def test_filter_results_are_remembered_only_until_the_collection_changes(db_location, db, hashed):
    hashed.add(["alpha beta"], ids=["1"], metadatas=[{"t": 1}])
    assert [h.id for h in hashed.search("alpha", where={"t": 1})] == ["1"]
    hashed.add(["alpha gamma"], ids=["2"], metadatas=[{"t": 1}])
    assert {h.id for h in hashed.search("alpha", where={"t": 1})} == {"1", "2"}
    hashed.upsert(["alpha gamma"], ids=["2"], metadatas=[{"t": 2}])  # metadata-only change
    assert [h.id for h in hashed.search("alpha", where={"t": 1})] == ["1"]
    with semkit.open(db_location) as other:  # another writer
        other.collection("hashed").delete(ids=["1"])
    assert hashed.search("alpha", where={"t": 1}) == []
