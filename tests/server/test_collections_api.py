"""The collections API: the Python API's semantics and errors over HTTP."""

from __future__ import annotations

import numpy as np
import pytest

import semkit

DOCS = [
    {
        "id": "py",
        "text": "Python is a high-level programming language",
        "metadata": {"topic": "dev"},
    },
    {
        "id": "gd",
        "text": "Gradient descent is an optimization algorithm used to train models",
        "metadata": {"topic": "ml"},
    },
    {
        "id": "pasta",
        "text": "Cook the pasta in salted boiling water",
        "metadata": {"topic": "food"},
    },
]


@pytest.fixture
def articles(http):
    name = "articles"
    http.delete(f"/v1/collections/{name}")
    created = http.post("/v1/collections", json={"name": name})
    assert created.status_code == 201
    assert http.post("/v1/collections", json={"name": name}).status_code == 200  # open again
    report = http.post(f"/v1/collections/{name}/add", json={"documents": DOCS}).json()
    assert report["ids"] == ["py", "gd", "pasta"] and report["written"] == 3
    assert report["embedded"] in (0, 3)  # 0 once an earlier test embedded them: the cache
    return name


def test_search_equals_the_python_api(server, http, articles):
    hits = http.post(
        f"/v1/collections/{articles}/search", json={"query": "how do AI models learn?", "k": 2}
    ).json()["data"]
    with semkit.open(server.state.settings.db) as db:
        expected = db.collection(articles).search("how do AI models learn?", k=2)
    assert [h["id"] for h in hits] == [h.id for h in expected] == ["gd", "py"]
    assert hits[0]["score"] == pytest.approx(expected[0].score, abs=1e-4)
    assert hits[0]["metadata"] == {"topic": "ml"}
    assert hits[0]["chunk"]["text"] == DOCS[1]["text"]


def test_filters_modes_and_include(http, articles):
    url = f"/v1/collections/{articles}/search"
    hits = http.post(url, json={"query": "learn", "where": {"topic": {"$in": ["food"]}}}).json()
    assert [h["id"] for h in hits["data"]] == ["pasta"]
    lexical = http.post(url, json={"query": "pasta water", "mode": "lexical"}).json()["data"]
    assert lexical[0]["id"] == "pasta"
    hybrid = http.post(url, json={"query": "pasta", "mode": "hybrid", "k": 1}).json()["data"]
    assert [h["id"] for h in hybrid] == ["pasta"]
    bare = http.post(url, json={"query": "pasta", "include": []}).json()["data"][0]
    assert bare["text"] is None and bare["metadata"] == {}


def test_get_upsert_delete(http, articles):
    base = f"/v1/collections/{articles}"
    got = http.post(f"{base}/get", json={"ids": ["gd", "nope", "py"]}).json()["data"]
    assert [d["id"] for d in got] == ["gd", "py"]
    changed = {"id": "py", "text": "Python is a snake", "metadata": {"topic": "zoo"}}
    assert http.post(f"{base}/add", json={"documents": [changed]}).status_code == 400
    report = http.post(f"{base}/upsert", json={"documents": [changed]}).json()
    assert report["written"] == 1 and report["embedded"] == 1
    again = http.post(f"{base}/upsert", json={"documents": [changed]}).json()
    assert again["unchanged"] == 1 and again["embedded"] == 0
    assert (
        http.post(f"{base}/get", json={"where": {"topic": "zoo"}}).json()["data"][0]["text"]
        == "Python is a snake"
    )
    assert http.post(f"{base}/delete", json={"where": {"topic": "zoo"}}).json() == {"deleted": 1}
    assert http.post(f"{base}/delete", json={}).status_code == 400  # ids, where or both
    assert http.get(base).json()["documents"] == 2


def test_more_like_this_and_context(http, articles):
    base = f"/v1/collections/{articles}"
    similar = http.post(f"{base}/more_like_this", json={"ids": ["gd"], "k": 5}).json()["data"]
    assert "gd" not in [h["id"] for h in similar] and len(similar) == 2
    ctx = http.post(f"{base}/context", json={"query": "training models", "max_tokens": 40}).json()
    assert ctx["tokens"] <= 40 and ctx["chunks"][0]["id"] == "gd"
    assert ctx["text"].startswith("[gd:0-")
    tiny = http.post(f"{base}/context", json={"query": "training", "max_tokens": 2}).json()
    assert tiny["chunks"] == [] and tiny["note"]


def test_errors_are_the_library_errors(http, articles):
    base = f"/v1/collections/{articles}"
    missing = http.post("/v1/collections/nope/search", json={"query": "x"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert http.post(f"{base}/more_like_this", json={"ids": ["nope"]}).status_code == 404
    bad_filter = http.post(f"{base}/search", json={"query": "x", "where": {"$bad": 1}})
    assert bad_filter.status_code == 400 and "$bad" in bad_filter.json()["error"]["message"]
    wrong_size = http.post(f"{base}/search", json={"query": [1.0, 0.0]})
    assert wrong_size.status_code == 400 and "384" in wrong_size.json()["error"]["message"]
    other = http.post("/v1/collections", json={"name": articles, "metric": "dot"})
    assert other.status_code == 400 and "cosine" in other.json()["error"]["message"]
    assert http.post("/v1/collections", json={"name": "bad name!"}).status_code == 400
    remote = http.post(
        "/v1/collections", json={"name": "r", "model": "openai:text-embedding-3-small"}
    )
    assert remote.status_code == 400 and "outbound" in remote.json()["error"]["message"]
    assert http.post(f"{base}/search", json={"query": "x", "k": 10**6}).status_code == 400


def test_a_failing_batch_stores_nothing(http, articles):
    base = f"/v1/collections/{articles}"
    batch = [{"id": f"new-{i}", "text": f"new document {i}"} for i in range(5)]
    batch.append({"id": "py", "text": "different content for an existing id"})
    assert http.post(f"{base}/add", json={"documents": batch}).status_code == 400
    mixed = [{"id": "a", "text": "x"}, {"text": "no id"}]
    assert http.post(f"{base}/add", json={"documents": mixed}).status_code == 400
    empty = [{"id": "b", "text": "fine"}, {"id": "c", "text": "   "}]
    assert http.post(f"{base}/add", json={"documents": empty}).status_code == 400
    assert http.get(base).json()["documents"] == 3
    too_many = [{"text": f"doc {i}"} for i in range(257)]
    answer = http.post(f"{base}/add", json={"documents": too_many})
    assert answer.status_code == 400 and "256" in answer.json()["error"]["message"]


def test_vector_collections(http):
    http.delete("/v1/collections/vecs")
    info = http.post("/v1/collections", json={"name": "vecs", "model": None, "dims": 3}).json()
    assert info["model"] is None and info["dim"] == 3
    docs = [{"id": "x", "embedding": [1, 0, 0]}, {"id": "y", "embedding": [0, 1, 0]}]
    assert http.post("/v1/collections/vecs/add", json={"documents": docs}).status_code == 200
    hits = http.post("/v1/collections/vecs/search", json={"query": [0.9, 0.1, 0]}).json()
    assert [h["id"] for h in hits["data"]] == ["x", "y"]
    nan = http.post(
        "/v1/collections/vecs/add",
        content='{"documents": [{"id": "z", "embedding": [NaN, 0, 0]}]}',
        headers={"content-type": "application/json"},
    )
    assert nan.status_code == 400
    text = http.post("/v1/collections/vecs/search", json={"query": "text"})
    assert text.status_code == 400


def test_list_and_drop(http, articles):
    names = [c["name"] for c in http.get("/v1/collections").json()["data"]]
    assert articles in names
    assert http.delete(f"/v1/collections/{articles}").json() == {"deleted": 3}
    assert http.get(f"/v1/collections/{articles}").status_code == 404
    assert http.delete(f"/v1/collections/{articles}").status_code == 404


def test_concurrent_writes_and_reads(server, http):
    """Many clients at once: every write lands (one writer), reads never fail."""
    from concurrent.futures import ThreadPoolExecutor

    http.delete("/v1/collections/busy")
    http.post("/v1/collections", json={"name": "busy"})

    def write(i: int) -> int:
        with server.client() as c:
            docs = [{"id": f"{i}-{j}", "text": f"document {j} of writer {i}"} for j in range(10)]
            return c.post("/v1/collections/busy/add", json={"documents": docs}).status_code

    def read(i: int) -> int:
        with server.client() as c:
            return c.post("/v1/collections/busy/search", json={"query": f"writer {i}"}).status_code

    with ThreadPoolExecutor(16) as pool:
        writes = pool.map(write, range(12))
        reads = pool.map(read, range(24))
        assert set(writes) == {200} and set(reads) == {200}
    assert http.get("/v1/collections/busy").json()["documents"] == 120
    vectors = np.asarray(
        http.post(
            "/v1/embeddings", json={"model": "default", "input": ["document 3 of writer 5"]}
        ).json()["data"][0]["embedding"]
    )
    top = http.post("/v1/collections/busy/search", json={"query": vectors.tolist(), "k": 1})
    assert top.json()["data"][0]["id"] == "5-3"
