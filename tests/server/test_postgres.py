"""`semkit serve --db postgresql://...`: the collections API on a real PostgreSQL."""

from __future__ import annotations

import pytest
from live import live_server

import semkit
from semkit.server import ServerSettings

DOCS = [
    {"id": "py", "text": "Python is a high-level programming language", "metadata": {"t": "dev"}},
    {
        "id": "gd",
        "text": "Gradient descent trains machine learning models",
        "metadata": {"t": "ml"},
    },
    {"id": "pasta", "text": "Cook the pasta in salted boiling water", "metadata": {"t": "food"}},
]


def test_collections_api_on_postgresql(pg_url, tmp_path, default_provider):
    settings = ServerSettings(db=pg_url)
    with live_server(settings, cache=tmp_path / "cache") as server, server.client() as http:
        assert http.post("/v1/collections", json={"name": "notes"}).status_code == 201
        added = http.post("/v1/collections/notes/add", json={"documents": DOCS}).json()
        assert added["written"] == 3
        url = "/v1/collections/notes/search"
        hits = http.post(url, json={"query": "how do AI models learn?", "k": 2}).json()
        assert [h["id"] for h in hits["data"]] == ["gd", "py"]
        assert hits["data"][0]["metadata"] == {"t": "ml"}
        food = http.post(url, json={"query": "learn", "where": {"t": {"$in": ["food"]}}})
        assert [h["id"] for h in food.json()["data"]] == ["pasta"]
        lexical = http.post(url, json={"query": "pasta water", "mode": "lexical"}).json()
        assert lexical["data"][0]["id"] == "pasta"
        info = http.get("/v1/collections/notes").json()
        assert info["documents"] == 3 and info["index_kind"] in ("exact", "hnsw")
        assert http.post("/v1/collections/notes/delete", json={"ids": ["py"]}).json() == {
            "deleted": 1
        }
    with semkit.open(pg_url, create=False) as db:  # what the server wrote is in PostgreSQL
        coll = db.collection("notes")
        assert coll.count() == 2
        expected = coll.search("how do AI models learn?", k=1)[0]
        assert expected.id == "gd"
        assert expected.score == pytest.approx(hits["data"][0]["score"], abs=1e-4)
