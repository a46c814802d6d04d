"""Collections with the real model: the seeds' example, exact search vs numpy, chunks, models."""

from __future__ import annotations

import numpy as np
import pytest

import semkit
from semkit.errors import InputError, ModelError

TUTORIAL = [
    "Python is a high-level programming language",
    "Machine learning is a subset of artificial intelligence",
    "Neural networks are inspired by the human brain",
    "Gradient descent is an optimization algorithm used to train models",
    "The Eiffel Tower is located in Paris",
]


def test_the_seeds_tutorial_example(db):
    docs = db.collection("tutorial")
    docs.add(TUTORIAL, ids=["python", "ml", "nn", "gd", "paris"])
    hits = docs.search("how do AI models learn?", k=3)
    assert {h.id for h in hits} == {"ml", "nn", "gd"}
    assert hits[0].score >= hits[1].score >= hits[2].score
    assert all(isinstance(h, semkit.Hit) and -1 <= h.score <= 1 for h in hits)


def test_exact_top10_equals_numpy(db, sentences, default_provider):
    coll = db.collection("s", index="exact")
    coll.add(sentences, ids=[f"s{i}" for i in range(len(sentences))])
    emb = semkit.Embedder(default_provider, cache=False)
    doc_vecs = emb.encode(sentences)
    for query in ["a sporting event", "healthy food", "computer programs"]:
        q = emb.encode(query, kind="query")
        scores = doc_vecs @ q
        order = np.argsort(-scores, kind="stable")[:10]
        hits = coll.search(query, k=10)
        assert [h.id for h in hits] == [f"s{i}" for i in order]
        np.testing.assert_allclose([h.score for h in hits], scores[order], atol=1e-5)


def test_batch_queries_and_query_vectors(db, sentences):
    coll = db.collection("s")
    coll.add(sentences)
    batch = coll.search_batch(["the weather", "music"], k=2)
    assert len(batch) == 2 and all(len(hits) == 2 for hits in batch)
    vec = coll.embedder.encode("music", kind="query")
    assert [h.id for h in coll.search(vec, k=2)] == [h.id for h in batch[1]]
    vectors = coll.embedder.encode(["the weather", "music"], kind="query")
    assert [[h.id for h in hs] for hs in coll.search_batch(vectors, k=2)] == [
        [h.id for h in hs] for hs in batch
    ]
    # one query, one list of hits; many queries, one list per query: never mixed up
    with pytest.raises(InputError, match="use search_batch"):
        coll.search(["the weather", "music"])
    with pytest.raises(InputError, match="use search_batch"):
        coll.search(vectors)
    with pytest.raises(InputError, match="use search for one text"):
        coll.search_batch("music")


def test_long_documents_are_chunked_and_hits_carry_the_best_chunk(db):
    coll = db.collection("long")
    filler = " ".join(f"The committee discussed budget item number {i}." for i in range(120))
    text = (
        filler + " Meanwhile, penguins huddle together to survive the Antarctic winter. " + filler
    )
    coll.add([text, "A short note about taxes."], ids=["long", "short"])
    assert coll.info()["vectors"] > 3
    hit = coll.search("how do penguins stay warm in Antarctica?", k=1)[0]
    assert hit.id == "long" and hit.text == text
    assert "penguins" in hit.chunk.text
    assert text[hit.chunk.start : hit.chunk.end] == hit.chunk.text


def test_document_vectors_are_the_normalised_mean_of_their_chunks(db, embedder):
    coll = db.collection("docvec")
    filler = " ".join(f"The committee discussed budget item number {i}." for i in range(120))
    coll.add([filler, "A short note about taxes."], ids=["long", "short"])
    chunks = embedder.chunk(filler)
    assert len(chunks) > 1
    mean = embedder.encode([c.text for c in chunks]).mean(0)
    vectors = coll.document_vectors(["short", "long"])  # in the order asked
    assert vectors.shape == (2, coll.dim)
    np.testing.assert_allclose(vectors[1], mean / np.linalg.norm(mean), atol=1e-5)
    np.testing.assert_allclose(
        vectors[0], embedder.encode(["A short note about taxes."])[0], atol=1e-6
    )
    with pytest.raises(InputError, match="no document with id 'gone'"):
        coll.document_vectors(["short", "gone"])


def test_one_chunk_documents_and_chunked_documents_rank_the_same_way(sqlite_db, sentences):
    """The one-chunk-per-document fast path and the merging path agree on documents."""
    db = sqlite_db
    plain = db.collection("plain")
    plain.add(sentences, ids=[f"s{i}" for i in range(len(sentences))])
    mixed = db.collection("mixed")
    mixed.add(sentences, ids=[f"s{i}" for i in range(len(sentences))])
    mixed.add(["word " * 700], ids=["long"])  # several chunks: documents are merged from now on
    assert plain._store.vectors.one_chunk_per_document()
    assert not mixed._store.vectors.one_chunk_per_document()
    for query in ("a cat on a mat", "financial markets", "someone is cooking"):
        a = [(h.id, round(h.score, 5)) for h in plain.search(query, k=8)]
        b = [(h.id, round(h.score, 5)) for h in mixed.search(query, k=9) if h.id != "long"][:8]
        assert a == b


def test_truncate_policy_embeds_one_chunk_per_document(db):
    coll = db.collection("mteb", chunking={"truncate": True})
    coll.add(["word " * 600, "short"])
    assert coll.info()["vectors"] == 2


def test_collection_refuses_another_model_and_wrong_vectors(db):
    db.collection("c").add(["hello"])
    with pytest.raises(ModelError, match="cannot be mixed"):
        db.collection("c", model="hashing:384")
    with pytest.raises(InputError, match="dims"):
        db.collection("c", dims=128)
    with pytest.raises(InputError, match="metric"):
        db.collection("c", metric="dot")
    coll = db.collection("c")
    with pytest.raises(InputError, match="384-dimensional"):
        coll.add(["x"], embeddings=np.ones((1, 12)))
    with pytest.raises(InputError, match="NaN"):
        coll.add(["x"], embeddings=np.full((1, 384), np.nan))
    with pytest.raises(InputError, match="text #1 is empty"):
        coll.add(["fine", " "])
    assert coll.count() == 1  # nothing from a refused call was written


def test_reopening_gives_identical_results(db_location, sentences):
    with semkit.open(db_location) as db:
        db.collection("s").add(sentences)
        before = db.collection("s").search("the ocean", k=5)
    with semkit.open(db_location, create=False) as db:
        after = db.collection("s").search("the ocean", k=5)
    assert [(h.id, round(h.score, 6)) for h in before] == [(h.id, round(h.score, 6)) for h in after]


def test_matryoshka_collection(db, sentences):
    coll = db.collection("small", dims=64)
    coll.add(sentences[:20])
    assert coll.dim == 64 and coll.info()["dims"] == 64
    assert len(coll.search("food", k=3)) == 3


def test_more_like_this(db):
    coll = db.collection("t")
    coll.add(
        [*TUTORIAL, "Stochastic gradient descent updates weights on mini-batches"],
        ids=["python", "ml", "nn", "gd", "paris", "sgd"],
    )
    hits = coll.more_like_this(["nn"], k=2)
    assert "nn" not in {h.id for h in hits} and hits[0].id in {"ml", "gd", "sgd"}
    plain = {h.id: h.score for h in coll.more_like_this(["ml"], k=5)}
    pushed = {h.id: h.score for h in coll.more_like_this(["ml"], negative_ids=["gd"], k=5)}
    assert "gd" not in pushed  # examples are left out
    assert pushed["sgd"] < plain["sgd"]  # like the negative example: pushed down
    assert pushed["paris"] - pushed["sgd"] > plain["paris"] - plain["sgd"]
    with pytest.raises(InputError, match="no document"):
        coll.more_like_this(["nope"])


def test_reindex_switches_model_on_purpose(db, sentences):
    coll = db.collection("r", model="hashing:32")
    coll.add(sentences[:30], ids=[f"d{i}" for i in range(30)])
    report = coll.reindex("default")
    assert report.written == 30
    again = db.collection("r")
    assert again.info()["model_id"] == semkit.DEFAULT_MODEL_ID and again.dim == 384
    assert again.count() == 30 and db.collections() == ["r"]
    assert len(again.search("sport", k=3)) == 3


def test_search_include_chooses_what_hits_carry(db, sentences):
    coll = db.collection("inc")
    coll.add(
        sentences,
        ids=[f"s{i}" for i in range(len(sentences))],
        metadatas=[{"n": i} for i in range(len(sentences))],
    )
    full = coll.search_batch(["a cat on a mat", "the stock market"], k=5)
    bare = coll.search_batch(["a cat on a mat", "the stock market"], k=5, include=())
    assert [[(h.id, h.score) for h in hs] for hs in bare] == [
        [(h.id, h.score) for h in hs] for hs in full
    ]
    assert all(h.text is None and h.metadata == {} and h.chunk is None for hs in bare for h in hs)
    meta_only = coll.search("a cat on a mat", k=3, include=["metadata"])
    assert meta_only[0].text is None and meta_only[0].metadata == full[0][0].metadata
    # the in-memory id table follows changes of the collection
    coll.delete(ids=[full[0][0].id])
    coll.add(["A kitten sleeps on the mat"], ids=["kitten"])
    again = coll.search("a cat on a mat", k=5, include=())
    assert full[0][0].id not in {h.id for h in again} and "kitten" in {h.id for h in again}
    with pytest.raises(InputError, match="include: unknown"):
        coll.search("a cat", include=["vectors"])


def test_hits_deleted_by_another_process_after_the_index_search_are_left_out(db_location, hashed):
    hashed.add(["red apples", "green apples", "ripe apples", "blue sky"], ids=["r", "g", "p", "b"])
    store = hashed._store
    ranked = store.dense(hashed.embedder.encode(["apples"], kind="query"), 3, None, False, None)
    before = [h.id for h in store.hits(ranked, frozenset())[0]]
    assert len(before) == 3
    other = semkit.open(db_location)  # the same database, another connection
    other.collection("hashed", model="hashing:64").delete(ids=[before[1]])
    other.close()
    assert [h.id for h in store.hits(ranked, frozenset())[0]] == [before[0], before[2]]
    assert [h.id for h in store.hits(ranked, frozenset({"text"}))[0]] == [before[0], before[2]]
