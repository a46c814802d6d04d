"""What every backend must do beyond single calls: concurrent writers, durable batches,
refused vectors, copies between backends, and the CLI on a PostgreSQL URL."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import semkit
from semkit.cli.main import main
from semkit.embedding.hashing import HashingProvider
from semkit.search.copy import copy_collection

sys.path.insert(0, str(Path(__file__).parents[2] / "bench"))
from crash import trial

WRITER = textwrap.dedent("""
    import sys
    import semkit
    location, worker = sys.argv[1], int(sys.argv[2])
    with semkit.open(location, timeout=60) as db:
        coll = db.collection("shared", model="hashing:64")
        for start in range(0, 300, 50):
            ids = [f"doc{i}" for i in range(start, start + 50)]  # the same ids in every worker
            texts = [f"document {i} written by worker {worker}" for i in range(start, start + 50)]
            coll.upsert(texts, ids=ids, metadatas=[{"worker": worker}] * 50)
            mine = [f"w{worker}-{i}" for i in range(start, start + 50)]
            coll.add([f"private {i} of {worker}" for i in range(start, start + 50)], ids=mine)
    print("ok")
""")


def test_several_processes_write_at_once(db_location):
    with semkit.open(db_location) as db:
        db.collection("shared", model="hashing:64")  # created once, before the writers start
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, db_location, str(w)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(3)
    ]
    for proc in workers:
        out, errors = proc.communicate(timeout=300)
        assert proc.returncode == 0 and out.strip() == "ok", errors
    with semkit.open(db_location) as db:
        coll = db.collection("shared")
        assert coll.count() == 300 + 3 * 300
        assert coll.info()["vectors"] == coll.count()
        shared = coll.get(ids=[f"doc{i}" for i in range(300)])
        # each shared document is one worker's version, whole: text and metadata agree
        assert all(d.text.endswith(f"worker {d.metadata['worker']}") for d in shared)
        assert db.verify() == {"database": [], "shared": []}
        hit = coll.search("private 7 of 2", k=1, mode="lexical")[0]
        assert hit.id == "w2-7"


def test_acknowledged_batches_survive_kill_9(db_location):
    result = trial(db_location, 3000, 1200, "hnsw", batch=100, jitter=0.02)
    assert result["killed"] and result["lost"] == 0
    assert result["problems"] == [] and result["searchable"]
    assert result["present"] >= result["acknowledged"]


@pytest.mark.parametrize(
    ("vector", "message"),
    [
        ([1.0, float("nan"), 0.0, 0.0], "NaN or infinity"),
        ([1.0, float("inf"), 0.0, 0.0], "NaN or infinity"),
        ([0.0, 0.0, 0.0, 0.0], "zero"),
        ([1.0, 0.0, 0.0], "3 dimensions"),
    ],
)
@pytest.mark.parametrize("metric", ["cosine", "dot", "euclidean"])
def test_bad_vectors_never_reach_the_database(db, vector, message, metric):
    coll = db.collection(f"v-{metric}", model=None, dims=4, metric=metric)
    coll.add(embeddings=[[1, 2, 3, 4]], ids=["good"])
    with pytest.raises(semkit.InputError, match=message):
        fine = [4.0, 3.0, 2.0, 1.0][: len(vector)]
        coll.add(embeddings=[fine, vector], ids=["fine", "bad"])
    with pytest.raises(semkit.InputError, match=message):
        coll.search(vector)
    assert [d.id for d in coll.get()] == ["good"]


def _fill(coll) -> None:
    rng = np.random.default_rng(1)
    words = [f"w{i}" for i in range(500)]  # a wide vocabulary: no two scores tie
    texts = [" ".join(rng.choice(words, 40)) for _ in range(300)]
    coll.add(texts, ids=[f"d{i}" for i in range(300)], metadatas=[{"i": i} for i in range(300)])


def test_copy_both_ways_without_embedding(tmp_path, pg_url):
    src = tmp_path / "src"
    with semkit.open(src) as db:
        coll = db.collection("docs", model="hashing:64", chunking={"max_tokens": 16, "overlap": 4})
        _fill(coll)
        assert coll.info()["vectors"] > coll.count()  # chunked: several vectors per document
        queries = coll.document_vectors(["d1", "d2", "d3"])
        expected = [[h.id for h in hs] for hs in coll.search_batch(queries, k=10, exact=True)]
        with semkit.open(pg_url) as pg:
            report = copy_collection(coll, pg)
            assert report.verified and report.copied == 300 and report.documents == 300
            copied = pg.collection("docs")
            assert copied.config.fingerprint == coll.config.fingerprint
            assert copied.info()["vectors"] == coll.info()["vectors"]
            got = [[h.id for h in hs] for hs in copied.search_batch(queries, k=10, exact=True)]
            assert got == expected
            again = copied.upsert(
                [d.text for d in coll.get(ids=["d5"])], ids=["d5"], metadatas=[{"i": 5}]
            )
            assert again.unchanged == 1 and again.embedded == 0  # content hashes came along
            assert copy_collection(coll, pg).skipped == 300  # re-running finishes, copies nothing
            back = copy_collection(copied, semkit.open(tmp_path / "back"), "docs-back")
            assert back.verified and back.documents == 300
    with semkit.open(tmp_path / "back") as db:
        hits = db.collection("docs-back").search_batch(queries, k=10, exact=True)
        assert [[h.id for h in hs] for hs in hits] == expected
        assert db.collection("docs-back").get(ids=["d7"])[0].metadata == {"i": 7}


def test_cli_on_a_postgresql_url(tmp_path, pg_url, capsys):
    docs = tmp_path / "docs.jsonl"
    docs.write_text(
        "".join(
            json.dumps({"id": f"n{i}", "text": t, "year": 2018 + i}) + "\n"
            for i, t in enumerate(
                ["penguins live in antarctica", "error ORA-00942 table missing", "the fox runs"]
            )
        )
    )

    def run(*argv: str) -> str:
        code = main(list(argv))
        captured = capsys.readouterr()
        assert code == 0, captured.err
        return captured.out

    assert (
        json.loads(
            run("add", "notes", str(docs), "--model", "hashing:64", "--db", pg_url, "--json")
        )["written"]
        == 3
    )
    hits = json.loads(
        run("search", "notes", "ORA-00942", "--mode", "hybrid", "--db", pg_url, "--json")
    )
    assert hits[0]["id"] == "n1"
    hits = json.loads(
        run(
            "search",
            "notes",
            "fox",
            "--where",
            '{"year": {"$gte": 2019}}',
            "--db",
            pg_url,
            "--json",
        )
    )
    assert {h["id"] for h in hits} == {"n1", "n2"}
    assert [r["name"] for r in json.loads(run("list", "--db", pg_url, "--json"))] == ["notes"]
    info = json.loads(run("info", "notes", "--db", pg_url, "--json"))
    assert info["backend"] == "postgresql" and info["index_kind"] == "hnsw"
    assert "postgres@" in info["database"] and "?" not in info["database"]
    copied = json.loads(run("copy", pg_url, str(tmp_path / "local"), "--json"))
    assert copied[0]["verified"] and copied[0]["documents"] == 3
    assert json.loads(run("verify", "--db", str(tmp_path / "local"), "--json"))["notes"] == []


def test_hnsw_settings_are_recorded_and_the_index_can_be_switched(db):
    rng = np.random.default_rng(3)
    base = rng.normal(size=(500, 8)).astype(np.float32)
    coll = db.collection("h", model=None, dims=8, index="exact", hnsw={"m": 8, "ef_search": 20})
    coll.add(embeddings=base, ids=[f"v{i}" for i in range(500)])
    assert coll.info()["index_kind"] == "exact"
    exact = [h.id for h in coll.search(base[7], k=5)]
    coll = db.collection("h", index="hnsw", hnsw={"ef_construction": 40})
    info = coll.info()
    assert info["index"] == "hnsw" and info["index_kind"] == "hnsw"
    assert info["hnsw"]["m"] == 8 and info["hnsw"]["ef_construction"] == 40
    assert info["hnsw"]["ef_search"] == 20
    assert coll.search(base[7], k=5, ef=100)[0].id == exact[0] == "v7"
    if db.backend_name == "postgresql":
        options = (
            db.backend.connection()
            .execute(
                "SELECT reloptions FROM pg_class WHERE relname = %s",
                (f"semkit_chunks_{coll.record.id}_hnsw",),
            )
            .fetchone()[0]
        )
        assert sorted(options) == ["ef_construction=40", "m=8"]
    with semkit.open(db.location if db.backend_name == "sqlite" else db.backend.url) as again:
        assert again.collection("h").info()["hnsw"] == info["hnsw"]


def test_an_empty_postgresql_database_is_not_created_by_readers(pg_url, capsys):
    with pytest.raises(semkit.NotFoundError, match="no semkit database at postgresql://"):
        semkit.open(pg_url, create=False)
    assert main(["list", "--db", pg_url]) == 2
    assert "no semkit database" in capsys.readouterr().err
    with semkit.open(pg_url) as db:  # a writer sets it up: named migrations, recorded
        assert db.collections() == []
        steps = db.backend.connection().execute("SELECT name FROM semkit_migrations").fetchall()
        assert [s[0] for s in steps] == ["m001_initial"]
    with semkit.open(pg_url, create=False) as db:
        assert db.collections() == []


class _NanOnBoom(HashingProvider):
    """The bag-of-words model, except that it answers NaN for a text saying "boom": a
    provider failing in the middle of a write."""

    def embed(self, texts, **kwargs):
        out = super().embed(texts, **kwargs)
        out[["boom" in t for t in texts]] = np.nan
        return out


def test_a_refused_write_writes_nothing(db):
    coll = db.collection("atomic", embedder=semkit.Embedder(_NanOnBoom(64), cache=False))
    coll.add(["alpha", "beta"], ids=["a", "b"], metadatas=[{"v": 1}, {"v": 1}])
    before = {d.id: (d.text, d.metadata) for d in coll.get()}

    # the model fails on a new text: the metadata change of "a" in the same call is not kept
    with pytest.raises(semkit.ProviderError):
        coll.upsert(["alpha", "boom"], ids=["a", "c"], metadatas=[{"v": 2}, None])
    assert {d.id: (d.text, d.metadata) for d in coll.get()} == before

    # a conflict far into a long call (past the first committed batch) refuses all of it
    texts = [f"text number {i}" for i in range(300)] + ["beta changed"]
    with pytest.raises(semkit.InputError, match="'b' already exists"):
        coll.add(texts, ids=[f"n{i}" for i in range(300)] + ["b"])
    assert coll.count() == 2
    assert {d.id: (d.text, d.metadata) for d in coll.get()} == before

    report = coll.upsert(["alpha", "gamma"], ids=["a", "c"], metadatas=[{"v": 2}, None])
    assert (report.written, report.metadata_only) == (1, 1)
    assert coll.get(ids=["a"])[0].metadata == {"v": 2}
    assert coll.search("gamma", k=1)[0].id == "c"


def test_chunks_of_a_document_and_a_version_that_every_write_changes(db):
    coll = db.collection("docs", model="hashing:64", chunking={"max_tokens": 16, "overlap": 4})
    text = " ".join(f"word{i}" for i in range(60))
    versions = [coll.version()]
    coll.add([text, "short one"], ids=["long", "short"], metadatas=[{"n": 1}, {"n": 2}])
    versions.append(coll.version())
    chunks = coll.chunks("long")
    assert len(chunks) > 3
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert all(c.text == text[c.start : c.end] for c in chunks)
    assert chunks[0].start == 0 and chunks[-1].end == len(text)
    assert [(c.text, c.start, c.end) for c in coll.chunks("short")] == [("short one", 0, 9)]
    with pytest.raises(semkit.NotFoundError, match="nope"):
        coll.chunks("nope")

    assert coll.version() == versions[-1]  # reads change nothing
    coll.upsert(["short one"], ids=["short"], metadatas=[{"n": 3}])  # metadata only
    versions.append(coll.version())
    coll.delete(ids=["short"])
    versions.append(coll.version())
    coll.add(["short one"], ids=["short"], metadatas=[{"n": 2}])  # back as it was
    versions.append(coll.version())
    assert len(set(versions)) == len(versions)
    db.drop("docs")
    again = db.collection("docs", model="hashing:64")
    again.add([text, "short one"], ids=["long", "short"], metadatas=[{"n": 1}, {"n": 2}])
    assert again.version() not in versions
