"""The web UI in a real browser (Debian's Chromium, headless, through Playwright) against a
real `semkit serve` process with API keys and a real collection: key prompt, search with
mode and filter, a document with its chunk marked, more like this, the map's hover, click
and query overlay. Screenshots go to $SEMKIT_TEST_ARTIFACTS (else the test's tmp dir).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from live import free_port, wait_ready

import semkit
from browser import launch, needs_chromium

CORPUS = Path(__file__).parents[2] / "examples" / "data" / "corpus.jsonl"
KEY = "webui-test-key"
# one long document (several chunks): its later part is what the query matches
LONG_ID = "handbook"
LONG_TEXT = "\n\n".join(
    [
        "A field guide to the garden. " + "Roses want sun, water and patience. " * 40,
        "Compost turns kitchen scraps into soil. " * 20,
        "Telescopes: a refracting telescope bends starlight through a lens, while a "
        "reflecting telescope gathers it with a curved mirror; amateur astronomers "
        "often start with a small reflector to watch the rings of Saturn. On a clear, "
        "dark night away from city lights, the rings of Saturn and the moons of Jupiter "
        "show in even a modest backyard telescope, and planets are best watched when "
        "they stand high above the horizon.",
    ]
)

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, default_provider) -> Iterator[str]:
    """`semkit serve --api-key KEY` on a database holding the example corpus."""
    tmp = tmp_path_factory.mktemp("webui")
    rows = [json.loads(line) for line in CORPUS.read_text().splitlines()]
    with semkit.open(tmp / "db") as db:
        coll = db.collection("corpus")
        coll.add(
            [r["text"] for r in rows] + [LONG_TEXT],
            ids=[r["id"] for r in rows] + [LONG_ID],
            metadatas=[{"category": r["category"], "topic": r["topic"]} for r in rows]
            + [{"category": "Guide"}],
        )
        assert len(coll.chunks(LONG_ID)) >= 3
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp / "server.log").open("w")
    command = [sys.executable, "-m", "semkit.cli.main", "serve", "--db", str(tmp / "db")]
    process = subprocess.Popen(
        [*command, "--port", str(port), "--api-key", KEY, "--log-level", "warning"],
        env={**os.environ, "SEMKIT_CACHE_DIR": str(tmp / "cache")},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_ready(url)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    path = Path(os.environ.get("SEMKIT_TEST_ARTIFACTS", tmp_path))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _colours(shot: Path, box: dict[str, float]) -> int:
    """Distinct colours (16 levels per channel) covering > 30 pixels inside ``box``."""
    from PIL import Image

    image = Image.open(shot).convert("RGB")
    crop = image.crop(
        (int(box["x"]), int(box["y"]), int(box["x"] + box["width"]), int(box["y"] + box["height"]))
    )
    pixels = np.asarray(crop).reshape(-1, 3) // 16
    _, counts = np.unique(pixels, axis=0, return_counts=True)
    return int((counts > 30).sum())


def test_search_read_and_explore_the_map_in_a_browser(served, artifacts):
    from playwright.sync_api import sync_playwright

    api = httpx.Client(base_url=served, headers={"Authorization": f"Bearer {KEY}"}, timeout=60)
    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 860})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            outside: list[str] = []
            page.on(
                "request",
                lambda r: None if r.url.startswith((served, "data:")) else outside.append(r.url),
            )
            page.goto(served)

            # the server has keys: the page asks for one, keeps it in sessionStorage
            page.wait_for_selector("#key-form:not([hidden])")
            assert "key" in (page.text_content("#status") or "").lower()
            page.fill("#key-input", KEY)
            page.press("#key-input", "Enter")
            page.wait_for_selector("body[data-ready]")
            assert page.evaluate("sessionStorage.getItem('semkit.apiKey')") == KEY
            assert page.input_value("#collection") == "corpus"
            assert "301 documents" in (page.text_content("#coll-info") or "")

            # the map: a PCA preview at once, UMAP when it is computed
            page.wait_for_selector("#map-pane[data-map]", timeout=60_000)
            page.wait_for_selector(
                "#map-pane[data-method='umap'][data-map='ready']", timeout=300_000
            )
            legend = page.locator("#legend li")
            assert legend.count() == 8  # clusters, named by keywords
            assert all(name.strip() for name in legend.all_text_contents())
            page.select_option("#colour-by", "category")
            categories = {json.loads(line)["category"] for line in CORPUS.read_text().splitlines()}
            assert sorted(t.split(" (")[0] for t in legend.all_text_contents()) == sorted(
                {*categories, "Guide"}
            )
            shot = artifacts / "webui-map.png"
            page.screenshot(path=str(shot))
            assert _colours(shot, page.locator("#map").bounding_box()) >= 4

            # search: "/" focuses the box; results with score, id, marked chunk, metadata
            page.keyboard.press("/")
            page.keyboard.type("how do amateur astronomers watch the rings of Saturn")
            page.keyboard.press("Enter")
            page.wait_for_selector("body[data-searches='1']")
            results = page.locator("#results li")
            assert results.count() == 10
            first = results.first
            assert first.get_attribute("data-id") == LONG_ID
            assert "Saturn" in (first.locator("mark").text_content() or "")
            assert float(first.locator(".score").text_content() or "0") > 0.3
            page.wait_for_selector("#map-pane[data-query='10']")
            page.screenshot(path=str(artifacts / "webui-search.png"))

            # the document: full text, its chunks, the matching one marked
            page.keyboard.press("ArrowDown")  # from the search box to the first result
            page.keyboard.press("Enter")
            page.wait_for_selector(f"body[data-doc='{LONG_ID}']")
            chunks = api.post("/v1/collections/corpus/chunks", json={"id": LONG_ID}).json()["data"]
            assert page.locator("#doc-chunks button.chunk").count() == len(chunks)
            on = page.locator("#doc-chunks button.chunk.on")
            assert on.count() == 1
            marked_chunk = chunks[int(on.get_attribute("data-index") or "-1")]
            assert marked_chunk["index"] > 0
            assert page.text_content("#doc-text mark") == marked_chunk["text"]
            assert page.text_content("#doc-text") == LONG_TEXT
            assert "Guide" in (page.text_content("#doc-meta") or "")
            page.screenshot(path=str(artifacts / "webui-document.png"))

            # more like this (m), through the collections API
            page.keyboard.press("m")
            page.wait_for_selector(f"#result-note:text('More like {LONG_ID}')")
            assert page.locator("#doc").is_hidden()
            expected = api.post(
                "/v1/collections/corpus/more_like_this", json={"ids": [LONG_ID], "k": 10}
            ).json()["data"]
            shown = [results.nth(i).get_attribute("data-id") for i in range(results.count())]
            assert shown == [h["id"] for h in expected]

            # a filtered lexical search
            page.fill("#where", '{"category": "Food"}')
            page.select_option("#mode", "lexical")
            page.fill("#query", "pasta")
            page.press("#query", "Enter")
            page.wait_for_selector("body[data-searches='2']")
            assert results.count() > 0
            assert all("Food" in t for t in results.locator("dl.meta").all_text_contents())
            page.fill("#where", "{not json")
            page.press("#where", "Enter")
            page.wait_for_selector("#where.invalid")
            assert "JSON object" in (page.text_content("#status") or "")

            # hover a point: its text; click it: its nearest neighbours, drawn and listed
            row = page.evaluate("window.semkit.state.map.ids.indexOf('ml-002')")
            x, y = page.evaluate(f"window.semkit.mapView.screenOf({row})")
            box = page.locator("#map").bounding_box()
            page.mouse.move(box["x"] + x, box["y"] + y)
            page.wait_for_selector("#tooltip:not([hidden])")
            tip = page.text_content("#tooltip") or ""
            hovered = page.evaluate("window.semkit.mapView.hover")  # ml-002, or a point on it
            selected = page.evaluate(f"window.semkit.state.map.ids[{hovered}]")
            assert tip.startswith(selected)
            page.mouse.click(box["x"] + x, box["y"] + y)
            # (the open document was selected before: wait for the clicked point's turn)
            page.wait_for_selector(f"#map-pane[data-selected='{selected}']")
            neighbours = page.locator("#neighbour-list li")
            assert neighbours.count() == 10
            expected = api.post(
                "/v1/collections/corpus/more_like_this", json={"ids": [selected], "k": 10}
            ).json()["data"]
            assert [t.split(" ")[0] for t in neighbours.all_text_contents()] == [
                h["id"] for h in expected
            ]
            page.screenshot(path=str(artifacts / "webui-neighbours.png"))
            neighbours.first.locator("button").click()
            page.wait_for_selector(f"body[data-doc='{expected[0]['id']}']")
            page.keyboard.press("Escape")
            page.wait_for_selector("#doc", state="hidden")

            assert errors == []
            assert outside == []  # nothing fetched from anywhere but this server
        finally:
            browser.close()
            api.close()
