"""The HTML map renders in a real browser: Debian's Chromium, headless, through Playwright.

Never downloads a browser: the test skips when /usr/bin/chromium is absent (CI installs
it, see .ci/run).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from browser import launch, needs_chromium
from semkit.analysis.corpus import from_texts
from semkit.analysis.plot import draw_map
from semkit.analysis.project import project

CORPUS = Path(__file__).parents[2] / "examples" / "data" / "corpus.jsonl"

pytestmark = needs_chromium


@pytest.fixture
def html_map(embedder, tmp_path) -> Path:
    rows = [json.loads(line) for line in CORPUS.read_text().splitlines()]
    picked = [
        r for c in ("ML", "Dev", "Food") for r in [r for r in rows if r["category"] == c][:25]
    ]
    corpus = from_texts(
        [r["text"] for r in picked],
        embedder,
        ids=[r["id"] for r in picked],
        metadatas=[{"category": r["category"], "topic": r["topic"]} for r in picked],
    )
    return draw_map(corpus, project(corpus.vectors, "pca"), tmp_path / "map.html",
                    color_by="category", label_by="topic")  # fmt: skip


def test_the_html_map_renders_points_legend_and_hover(html_map, tmp_path):
    from PIL import Image
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 850})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(html_map.as_uri())
            page.wait_for_selector(".scatterlayer .point", timeout=30_000)
            points = page.locator(".scatterlayer .point")
            assert points.count() == 75
            legend = page.locator(".legend .traces")
            assert legend.count() == 3
            assert sorted(t.strip() for t in legend.all_text_contents()) == ["Dev", "Food", "ML"]

            shot = tmp_path / "map.png"
            page.screenshot(path=str(shot))
            pixels = np.asarray(Image.open(shot).convert("RGB")).reshape(-1, 3)
            _, counts = np.unique(pixels // 16, axis=0, return_counts=True)
            assert (counts > 200).sum() >= 4  # white and the three category colours

            points.first.hover(force=True)
            page.wait_for_selector(".hoverlayer .hovertext", timeout=10_000)
            hover = page.locator(".hoverlayer .hovertext").first.text_content() or ""
            assert "category: " in hover and "topic: " in hover

            page.locator(".legend .traces", has_text="Food").click()  # hides the group
            page.wait_for_function(
                "document.querySelectorAll('.scatterlayer .point').length === 50"
            )
            page.locator(".legend .traces", has_text="Food").click()  # shows it again
            page.wait_for_function(
                "document.querySelectorAll('.scatterlayer .point').length === 75"
            )
            assert errors == []
        finally:
            browser.close()
