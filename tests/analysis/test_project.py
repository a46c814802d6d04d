"""Maps: seeded projections (PCA, t-SNE, UMAP) and the PNG / HTML drawings."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from semkit import Embedder
from semkit.analysis.corpus import Corpus, from_texts
from semkit.analysis.plot import MISSING, OTHER, _label_points, _place_labels, coloring, draw_map
from semkit.analysis.project import project
from semkit.errors import InputError

CORPUS = Path(__file__).parents[2] / "examples" / "data" / "corpus.jsonl"


@pytest.fixture(scope="module")
def corpus(default_provider) -> Corpus:
    """60 documents of the demo corpus, 20 from each category (ML, Dev, Food), embedded once
    per module (without a cache: nothing is shared with other tests)."""
    embedder = Embedder(default_provider, cache=False)
    rows = [json.loads(line) for line in CORPUS.read_text().splitlines()]
    picked = [
        r for c in ("ML", "Dev", "Food") for r in [r for r in rows if r["category"] == c][:20]
    ]
    return from_texts(
        [r["text"] for r in picked],
        embedder,
        ids=[r["id"] for r in picked],
        metadatas=[{k: v for k, v in r.items() if k not in ("id", "text")} for r in picked],
    )


def _separation(coords: np.ndarray, groups: list[str]) -> float:
    """Mean distance between group centres over the mean spread within groups."""
    g = np.asarray(groups)
    centres = np.stack([coords[g == name].mean(0) for name in sorted(set(groups))])
    spread = np.mean([np.linalg.norm(coords[g == n] - centres[i], axis=1).mean()
                      for i, n in enumerate(sorted(set(groups)))])  # fmt: skip
    between = np.mean(
        [np.linalg.norm(a - b) for i, a in enumerate(centres) for b in centres[i + 1 :]]
    )
    return float(between / spread)


@pytest.mark.parametrize("method", ["pca", "tsne"])
def test_projections_are_seeded_and_separate_the_categories(method, corpus):
    a = project(corpus.vectors, method, seed=0)
    b = project(corpus.vectors, method, seed=0)
    assert a.coords.shape == (60, 2) and a.coords.dtype == np.float32
    assert np.array_equal(a.coords, b.coords)
    assert _separation(a.coords, corpus.field("category")) > 1.5
    shuffled = list(np.random.default_rng(0).permutation(corpus.field("category")))
    assert _separation(a.coords, shuffled) < 0.5  # the measure itself can fail


def test_umap_is_seeded(corpus):
    """One UMAP run pair (the first UMAP call in a process compiles numba kernels, ~20 s)."""
    a = project(corpus.vectors[:40], "umap", seed=3, n_neighbors=8)
    b = project(corpus.vectors[:40], "umap", seed=3, n_neighbors=8)
    assert np.array_equal(a.coords, b.coords) and a.params["n_neighbors"] == 8
    assert _separation(a.coords, corpus.field("category")[:40]) > 1.5


def test_projection_rejects_unknown_methods_and_tiny_inputs(corpus):
    with pytest.raises(InputError, match="unknown projection 'mds'"):
        project(corpus.vectors, "mds")
    with pytest.raises(InputError, match="needs at least 4 documents"):
        project(corpus.vectors[:3], "umap")


def test_png_map_is_written_with_the_category_colours(corpus, tmp_path):
    import matplotlib.image as mpimg

    projection = project(corpus.vectors, "pca")
    path = draw_map(corpus, projection, tmp_path / "map.png", color_by="category", label_by="topic")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = (mpimg.imread(path)[..., :3] * 255).astype(int).reshape(-1, 3)
    colours = {tuple(p) for p in pixels}
    tab10 = np.asarray([(31, 119, 180), (255, 127, 14), (44, 160, 44)])  # blue, orange, green
    on_white = 0.85 * tab10 + 0.15 * 255  # points are drawn with alpha 0.85
    near = [min(np.abs(np.asarray(list(colours)) - c).sum(1)) for c in on_white]
    assert max(near) < 40  # each category colour is on the image
    assert not list(tmp_path.glob(".*tmp*"))  # written atomically, nothing left behind


def test_png_labels_never_overlap(corpus, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    coords = project(corpus.vectors, "pca").coords
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.scatter(coords[:, 0], coords[:, 1])
    wanted = _label_points(coords, corpus.texts, 40)
    placed = _place_labels(ax, coords, wanted, 40)
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in ax.texts]
    plt.close(fig)
    assert placed == len(boxes) and 3 <= placed < len(wanted)  # some fit, some did not
    for i, a in enumerate(boxes):
        assert not any(a.overlaps(b) for b in boxes[i + 1 :])


def test_html_map_embeds_plotly_and_hover_texts(corpus, tmp_path):
    projection = project(corpus.vectors, "pca")
    path = draw_map(corpus, projection, tmp_path / "map.html", color_by="category")
    page = path.read_text(encoding="utf-8")
    assert "<script src=" not in page and "<script>" in page  # no CDN: the page works offline
    assert len(page) > 3_000_000  # plotly.js inline
    assert '"name":"ML"' in page and '"name":"Food"' in page
    hover = "\\u003cb\\u003eml-001\\u003c\\u002fb\\u003e"  # <b>ml-001</b>, as plotly escapes it
    assert hover in page and "\\u003ci\\u003eyear\\u003c\\u002fi\\u003e: 20" in page


def test_colouring_choices():
    years = coloring(list(range(2000, 2030)), "year")
    assert years.values is not None and years.groups is None  # many numbers: a colour bar
    few = coloring([2020, 2021, 2020, None], "year")
    assert few.names == ["2020", "2021", MISSING]
    many = coloring([f"t{i % 30}" for i in range(300)] + ["t0"] * 5, "tag")
    assert len(many.names) == 20 and many.names[-1] == OTHER and "t0" in many.names


def test_map_errors_are_input_errors(corpus, tmp_path):
    projection = project(corpus.vectors, "pca")
    with pytest.raises(InputError, match=r"unsupported map format '\.jpg'"):
        draw_map(corpus, projection, tmp_path / "map.jpg")
    with pytest.raises(InputError, match="no document has a metadata field 'colour'"):
        draw_map(corpus, projection, tmp_path / "map.png", color_by="colour")
    with pytest.raises(InputError, match="does not exist"):
        draw_map(corpus, projection, tmp_path / "missing" / "map.png")
