"""What the web UI stands on: the page and its assets (offline, locked down by CSP), the
chunks route, and the map routes (coordinates cached per collection version, places for
documents outside the drawn sample and for queries)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

CORPUS = Path(__file__).parents[2] / "examples" / "data" / "corpus.jsonl"


@pytest.fixture(scope="module")
def corpus(server):
    rows = [json.loads(line) for line in CORPUS.read_text().splitlines()][:120]
    docs = [
        {"id": r["id"], "text": r["text"], "metadata": {"category": r["category"]}} for r in rows
    ]
    with server.client() as c:
        assert c.post("/v1/collections", json={"name": "ui"}).status_code in (200, 201)
        assert c.post("/v1/collections/ui/add", json={"documents": docs}).status_code == 200
    return rows


def test_the_page_and_its_assets_are_served_from_the_package_only(http):
    page = http.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "unsafe-inline" not in csp
    html = page.text
    assets = re.findall(r'(?:src|href)="(/ui/[^"]+)"', html)
    assert {"/ui/app.css", "/ui/app.js"} <= set(assets)
    assert "http://" not in html and "https://" not in html
    for path in ["/ui/app.js", "/ui/api.js", "/ui/map.js", "/ui/doc.js", "/ui/dom.js"]:
        asset = http.get(path)
        assert asset.status_code == 200, path
        assert "javascript" in asset.headers["content-type"]
        assert "content-security-policy" in asset.headers
        # every import is a relative module of the package: no CDN, nothing to build
        for spec in re.findall(r'from "([^"]+)"', asset.text):
            assert spec.startswith("./"), (path, spec)
        assert not re.search(r"https?://", asset.text), path
    assert http.get("/ui/missing.js").status_code == 404


def test_chunks_of_a_document(http, corpus):
    found = http.post("/v1/collections/ui/chunks", json={"id": corpus[0]["id"]})
    assert found.status_code == 200
    (chunk,) = found.json()["data"]
    assert chunk == {
        "text": corpus[0]["text"],
        "start": 0,
        "end": len(corpus[0]["text"]),
        "index": 0,
    }
    missing = http.post("/v1/collections/ui/chunks", json={"id": "nope"})
    assert missing.status_code == 404
    assert "nope" in missing.json()["error"]["message"]


def test_the_map_is_cached_per_version_and_places_queries_among_their_hits(http, corpus):
    first = http.get("/v1/collections/ui/map", params={"method": "pca"})
    assert first.status_code == 200, first.text
    m = first.json()
    assert m["method"] == "pca" and m["pending"] is None and m["total"] == 120
    assert sorted(m["ids"]) == sorted(r["id"] for r in corpus)
    assert all(0 <= v <= 1 for v in m["x"] + m["y"])
    assert len(m["clusters"]["names"]) == 8 and len(m["clusters"]["codes"]) == 120
    assert all(name for name in m["clusters"]["names"])  # keywords
    category = m["fields"]["category"]
    by_id = dict(zip(m["ids"], category["codes"], strict=True))
    for r in corpus:
        assert category["names"][by_id[r["id"]]] == r["category"]

    again = http.get("/v1/collections/ui/map", params={"method": "pca"}).json()
    assert again == m  # the same version: the cached map

    placed = http.post(
        "/v1/collections/ui/map/place",
        json={"ids": [m["ids"][3], "nope"], "query": corpus[5]["text"], "method": "pca"},
    ).json()
    assert placed["points"] == {m["ids"][3]: [m["x"][3], m["y"][3]]}
    row = m["ids"].index(corpus[5]["id"])
    qx, qy = placed["query"]
    assert abs(qx - m["x"][row]) < 0.02 and abs(qy - m["y"][row]) < 0.02  # on its own text

    http.post(
        "/v1/collections/ui/add",
        json={"documents": [{"id": "new", "text": corpus[5]["text"] + " Indeed."}]},
    )
    changed = http.get("/v1/collections/ui/map", params={"method": "pca"}).json()
    assert changed["version"] != m["version"] and changed["total"] == 121
    assert "new" in changed["ids"]


def test_map_errors(http, corpus):
    assert http.get("/v1/collections/none/map").status_code == 404
    assert http.get("/v1/collections/ui/map", params={"method": "lda"}).status_code == 400
    assert http.get("/v1/collections/ui/map", params={"clusters": 1}).status_code == 400
    http.post("/v1/collections", json={"name": "tiny"})
    http.post("/v1/collections/tiny/add", json={"documents": [{"text": "one"}]})
    small = http.get("/v1/collections/tiny/map", params={"method": "pca"})
    assert small.status_code == 400
    assert "at least 4 documents" in small.json()["error"]["message"]


def test_the_page_needs_no_key_but_the_map_does(tmp_path, default_provider):
    from live import live_server

    from semkit.server import ServerSettings

    settings = ServerSettings(db=tmp_path / "db", api_keys=("a-long-key",))
    with live_server(settings) as live, live.client() as c:
        assert c.get("/").status_code == 200
        assert c.get("/ui/app.js").status_code == 200
        assert c.get("/v1/collections/x/map").status_code == 401
        assert c.post("/v1/collections/x/map/place", json={}).status_code == 401
        assert c.post("/v1/collections/x/chunks", json={"id": "a"}).status_code == 401
