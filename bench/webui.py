"""The web UI at 10k documents: page ready, map drawn, first search results, map redraw.

A collection of 10,000 real documents (the 7,600 AG News test items, title + description,
with their class as metadata, and the first 2,400 SciFact abstracts) is served by
`semkit serve` in a subprocess; Debian's Chromium (headless, through Playwright) opens
the page in a fresh browser context per visit and times, from navigation:

- ready: the collection list loaded and the page usable (``body[data-ready]``);
- map: the first map drawn (the PCA preview on a cold server, the cached UMAP map after);
- UMAP: the UMAP map drawn (cold server only: the server computes it once per
  collection version, in the background, while the preview is shown);
- first results: a query typed and Enter pressed until the results list is drawn;
- redraw: one full redraw of the map's points on the canvas (mean of 20, in the page).

The first visit is to a server that has computed nothing; the next ``--visits`` - 1 reuse
the server's cached map (what a user who comes back sees). Embedding the collection is
not timed (cached between runs in the user's semkit cache).

    python bench/webui.py [--n 10000] [--visits 4]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "server"))
from live import wait_ready

import semkit
from browser import CHROMIUM, launch
from common import agnews_rows, data_dir, report

QUERIES = [
    "oil prices rise as supply fears grow",
    "vitamin D deficiency and bone fractures",
    "new smartphone chip from a semiconductor maker",
    "football club wins the championship final",
]


def documents(n: int) -> tuple[list[str], list[str], list[dict[str, str]]]:
    texts, ids, metas = [], [], []
    rows, _ = agnews_rows()
    for i, (name, title, description) in enumerate(rows[:n]):
        description = description.replace(" #39;", "'").replace("\\", " ")
        texts.append(f"{title}. {description}")
        ids.append(f"ag-{i}")
        metas.append({"source": "agnews", "class": name})
    with (data_dir() / "scifact" / "corpus.jsonl").open(encoding="utf-8") as f:
        for line in f:
            if len(texts) >= n:
                break
            doc = json.loads(line)
            texts.append((doc["title"] + " " + doc["text"]).strip())
            ids.append(f"scifact-{doc['_id']}")
            metas.append({"source": "scifact", "class": "Science"})
    return texts, ids, metas


def visit(browser, url: str, query: str, cold: bool, shot: Path | None) -> dict[str, float]:
    context = browser.new_context(viewport={"width": 1400, "height": 860})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    start = time.perf_counter()
    page.goto(url)
    page.wait_for_selector("body[data-ready]", timeout=120_000)
    ready = time.perf_counter() - start
    page.wait_for_selector("#map-pane[data-map]", timeout=120_000)
    drawn = time.perf_counter() - start
    umap = float("nan")
    if cold:
        page.wait_for_selector("#map-pane[data-method='umap'][data-map='ready']", timeout=900_000)
        umap = time.perf_counter() - start
    page.fill("#query", query)
    t0 = time.perf_counter()
    page.press("#query", "Enter")
    page.wait_for_selector("body[data-searches='1']", timeout=120_000)
    results = time.perf_counter() - t0
    count = page.locator("#results li").count()
    redraw = page.evaluate(
        """() => { const v = window.semkit.mapView; const t = performance.now();
                   for (let i = 0; i < 20; i++) v._draw(); return (performance.now() - t) / 20; }"""
    )
    points = page.evaluate("window.semkit.state.map.ids.length")
    if shot is not None:
        page.wait_for_selector("#map-pane[data-query]", timeout=60_000)
        page.select_option("#colour-by", "class")
        page.screenshot(path=str(shot))
    context.close()
    if errors or count == 0:
        raise RuntimeError(f"page errors {errors}, {count} results")
    return {
        "ready": ready,
        "map": drawn,
        "umap": umap,
        "results": results,
        "redraw_ms": redraw,
        "points": points,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--visits", type=int, default=4)
    parser.add_argument(
        "--screenshot",
        type=Path,
        default=Path(__file__).resolve().parents[1] / "docs" / "webui.png",
        help="where the second visit's page is saved (the README's picture)",
    )
    args = parser.parse_args()
    if not CHROMIUM.exists():
        sys.exit("needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    texts, ids, metas = documents(args.n)
    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "db"
        t0 = time.perf_counter()
        with semkit.open(db_path) as db:
            db.collection("news").add(texts, ids=ids, metadatas=metas)
        added = time.perf_counter() - t0
        print(f"{len(texts):,} documents added in {added:.1f} s", flush=True)
        port = 8765
        url = f"http://127.0.0.1:{port}"
        log = (Path(tmp) / "server.log").open("w")
        server = subprocess.Popen(
            [
                *(sys.executable, "-m", "semkit.cli.main", "serve", "--db", str(db_path)),
                *("--port", str(port), "--log-level", "warning"),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"},
        )
        try:
            wait_ready(url)
            visits = []
            with sync_playwright() as p:
                browser = launch(p)
                try:
                    for i in range(args.visits):
                        shot = args.screenshot if i == 1 else None
                        v = visit(browser, url, QUERIES[i % len(QUERIES)], i == 0, shot)
                        print(json.dumps({k: round(x, 3) for k, x in v.items()}), flush=True)
                        visits.append(v)
                finally:
                    browser.close()
        finally:
            server.terminate()
            server.wait(60)
            log.close()

    def secs(x: float) -> str:
        return f"{x:.2f}"

    cold, warm = visits[0], visits[1:]
    rows = [
        [
            "first visit (nothing computed yet)",
            secs(cold["ready"]),
            secs(cold["map"]) + " (PCA preview)",
            secs(cold["umap"]),
            secs(cold["results"]),
            f"{cold['redraw_ms']:.1f}",
        ]
    ]
    if warm:
        med = {k: statistics.median(v[k] for v in warm) for k in warm[0]}
        rows.append(
            [
                f"later visits (median of {len(warm)}; map cached)",
                secs(med["ready"]),
                secs(med["map"]) + " (UMAP)",
                "-",
                secs(med["results"]),
                f"{med['redraw_ms']:.1f}",
            ]
        )
    report(
        "webui",
        f"The web UI at {len(texts):,} documents (headless Chromium, this machine)",
        ["visit", "page ready s", "map drawn s", "UMAP map s", "first results s", "redraw ms"],
        rows,
        notes=[
            f"Collection: {len(texts):,} documents (AG News test items with their class, "
            "then SciFact abstracts), one collection served by `semkit serve` on 127.0.0.1; "
            f"the map draws {int(cold['points']):,} points.",
            "Times from navigation in a fresh browser context; first results from Enter "
            "to the results list drawn (a dense search, k=10, the query embedded by the "
            "server).",
            "UMAP: computed by the server once per collection version, in the background "
            "while the PCA preview is shown; later visits get it from the server's cache.",
            "Redraw: one full draw of every point on the 2-D canvas, mean of 20, in the page.",
            "Browser and server share the machine's 2 cores.",
        ],
        extra={"visits": visits, "documents": len(texts), "add_seconds": added},
    )


if __name__ == "__main__":
    main()
