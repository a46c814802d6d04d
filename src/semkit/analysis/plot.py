"""Drawing maps of a corpus: a PNG (matplotlib) or an interactive HTML page (plotly).

Points are coloured by a metadata field (categories get a legend, a numeric field with
many values a colour bar) or by cluster, and a few points carry text labels. In the
PNG, labels are placed greedily: a label whose box would overlap one already placed
(or leave the plot) tries the other sides of its point and is dropped if none is free.
The HTML page embeds plotly.js (works offline, ~4.5 MB): hovering a point shows its id,
text (shortened) and metadata; clicking a legend entry hides or shows that group.
"""

from __future__ import annotations

import html
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from semkit.atomic import replace_into
from semkit.errors import InputError
from semkit.extras import require

if TYPE_CHECKING:
    from semkit.analysis.corpus import Corpus
    from semkit.analysis.project import Projection

FORMATS = (".png", ".html")
MAX_GROUPS = 20  # more categories than this: the rarest are drawn as "other"
MISSING = "(none)"
OTHER = "other"
WEBGL_ABOVE = 5000  # points; beyond this the HTML map draws with WebGL instead of SVG
GREY = "#b0b0b0"


@dataclass(frozen=True, slots=True)
class Coloring:
    """Either one category per point (``groups`` with ``names`` in legend order) or a
    number per point (``values``)."""

    field: str | None
    groups: list[str] | None = None
    names: list[str] | None = None
    values: np.ndarray | None = None


def coloring(values: Sequence[Any] | None, field: str | None = None) -> Coloring:
    """How to colour points by ``values`` (None: one colour)."""
    if values is None:
        return Coloring(None)
    numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    distinct = {v for v in values if v is not None}
    if numbers and len(numbers) == len(values) and len(distinct) > 12:
        return Coloring(field, values=np.asarray(numbers, dtype=np.float64))
    groups = [MISSING if v is None or str(v) == "" else str(v) for v in values]
    counts = Counter(groups)
    if len(counts) > MAX_GROUPS:
        keep = {g for g, _ in counts.most_common(MAX_GROUPS - 1)}
        groups = [g if g in keep else OTHER for g in groups]
        counts = Counter(groups)

    def order(name: str) -> tuple[int, Any]:
        if name in (MISSING, OTHER):
            return (2, name)
        try:
            return (0, float(name))
        except ValueError:
            return (1, name.lower())

    return Coloring(field, groups=groups, names=sorted(counts, key=order))


def _palette(names: Sequence[str]) -> dict[str, str]:
    require("matplotlib", "analysis", "drawing a map")
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    real = [n for n in names if n not in (MISSING, OTHER)]
    cmap = colormaps["tab10" if len(real) <= 10 else "tab20"]
    colors = {n: to_hex(cmap(i % cmap.N)) for i, n in enumerate(real)}
    colors.update({n: GREY for n in names if n in (MISSING, OTHER)})
    return colors


def _short(text: Any, width: int) -> str:
    s = " ".join(str(text).split())
    return s if len(s) <= width else s[: width - 1] + "…"


def _label_points(coords: np.ndarray, labels: Sequence[Any], limit: int) -> list[tuple[int, str]]:
    """Which points to label, most useful first: for a field with repeated values (a
    topic), each value once at the point nearest the middle of its points; otherwise
    points spread over the map (farthest-point order)."""
    names = [None if v is None else _short(v, 32) for v in labels]
    distinct = {n for n in names if n}
    if distinct and len(distinct) <= max(limit, len(names) // 3):
        out = []
        for name in sorted(distinct, key=lambda n: -names.count(n)):
            rows = np.asarray([i for i, n in enumerate(names) if n == name])
            centre = np.median(coords[rows], axis=0)
            best = rows[np.argmin(((coords[rows] - centre) ** 2).sum(1))]
            out.append((int(best), name))
        return out
    named = [i for i, n in enumerate(names) if n]
    if not named:
        return []
    pts = coords[named]
    centre = pts.mean(0)
    chosen = [int(np.argmin(((pts - centre) ** 2).sum(1)))]
    dist = ((pts - pts[chosen[0]]) ** 2).sum(1)
    while len(chosen) < min(len(named), limit * 3):
        nxt = int(np.argmax(dist))
        if dist[nxt] == 0:
            break
        chosen.append(nxt)
        dist = np.minimum(dist, ((pts - pts[nxt]) ** 2).sum(1))
    return [(named[i], names[named[i]]) for i in chosen]  # type: ignore[misc]


def _place_labels(ax: Any, coords: np.ndarray, wanted: list[tuple[int, str]], limit: int) -> int:
    """Greedy placement without overlaps (see the module doc); returns how many were placed."""
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    placed: list[Any] = []
    offsets = (
        (6, 4, "left", "bottom"),
        (-6, 4, "right", "bottom"),
        (6, -4, "left", "top"),
        (-6, -4, "right", "top"),
    )
    for row, name in wanted:
        if len(placed) >= limit:
            break
        for dx, dy, ha, va in offsets:
            text = ax.annotate(
                name,
                coords[row],
                xytext=(dx, dy),
                textcoords="offset points",
                ha=ha,
                va=va,
                fontsize=8,
                color="#222222",
                bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.75},
            )
            box = text.get_window_extent(renderer).expanded(1.08, 1.15)
            inside = (
                box.x0 >= frame.x0
                and box.x1 <= frame.x1
                and box.y0 >= frame.y0
                and box.y1 <= frame.y1
            )
            if inside and not any(box.overlaps(other) for other in placed):
                placed.append(box)
                break
            text.remove()
    return len(placed)


def _write_atomic(path: Path, write: Any) -> Path:
    path = Path(path)
    if path.parent and not path.parent.exists():
        raise InputError(f"folder {path.parent} does not exist")
    return replace_into(path, write)


def plot_png(
    coords: np.ndarray,
    path: str | Path,
    *,
    color: Coloring | None = None,
    labels: Sequence[Any] | None = None,
    title: str | None = None,
    max_labels: int = 20,
) -> Path:
    """A scatter plot of ``coords`` as PNG (see the module doc)."""
    require("matplotlib", "analysis", "drawing a PNG map")
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    color = color or Coloring(None)
    n = len(coords)
    size = float(np.clip(6000 / max(n, 1), 5, 40))
    fig, ax = plt.subplots(figsize=(11, 8), dpi=130)
    try:
        if color.values is not None:
            sc = ax.scatter(
                coords[:, 0],
                coords[:, 1],
                c=color.values,
                cmap="viridis",
                s=size,
                alpha=0.85,
                linewidths=0,
            )
            fig.colorbar(sc, ax=ax, fraction=0.04, pad=0.02, label=color.field)
        elif color.groups is not None and color.names is not None:
            colors = _palette(color.names)
            groups = np.asarray(color.groups)
            for name in color.names:
                rows = groups == name
                ax.scatter(
                    coords[rows, 0],
                    coords[rows, 1],
                    s=size,
                    color=colors[name],
                    alpha=0.85,
                    linewidths=0,
                    label=f"{_short(name, 28)} ({int(rows.sum())})",
                )
            ax.legend(
                title=color.field,
                loc="upper left",
                bbox_to_anchor=(1.01, 1.0),
                frameon=False,
                fontsize=9,
                title_fontsize=10,
                markerscale=max(1.0, math.sqrt(60 / size)),
                borderaxespad=0.0,
            )
        else:
            ax.scatter(coords[:, 0], coords[:, 1], s=size, color="#1f77b4", alpha=0.8, linewidths=0)
        ax.set_xticks([])
        ax.set_yticks([])
        for side in ax.spines.values():
            side.set_color("#cccccc")
        pad = 0.04 * (np.ptp(coords, axis=0) + 1e-9)
        ax.set_xlim(coords[:, 0].min() - pad[0], coords[:, 0].max() + pad[0])
        ax.set_ylim(coords[:, 1].min() - pad[1], coords[:, 1].max() + pad[1])
        if title:
            ax.set_title(title, fontsize=12)
        fig.tight_layout()
        if labels is not None and max_labels > 0:
            _place_labels(ax, coords, _label_points(coords, labels, max_labels), max_labels)
        return _write_atomic(Path(path), lambda p: fig.savefig(p, format="png"))
    finally:
        plt.close(fig)


def _hover(doc_id: str, text: Any, metadata: dict[str, Any]) -> str:
    lines = [f"<b>{html.escape(_short(doc_id, 60))}</b>"]
    if text:
        words = _short(text, 240).split(" ")
        line = ""
        for w in words:  # wrap at ~70 characters: hover boxes do not wrap by themselves
            if line and len(line) + len(w) > 70:
                lines.append(html.escape(line))
                line = ""
            line = f"{line} {w}".strip()
        if line:
            lines.append(html.escape(line))
    for key, value in list(metadata.items())[:12]:
        lines.append(f"<i>{html.escape(str(key))}</i>: {html.escape(_short(value, 60))}")
    return "<br>".join(lines)


def plot_html(
    coords: np.ndarray,
    path: str | Path,
    *,
    ids: Sequence[str],
    texts: Sequence[Any] | None = None,
    metadatas: Sequence[dict[str, Any]] | None = None,
    color: Coloring | None = None,
    labels: Sequence[Any] | None = None,
    title: str | None = None,
    max_labels: int = 20,
) -> Path:
    """An interactive scatter plot as a self-contained HTML page (see the module doc)."""
    require("plotly", "analysis", "drawing an HTML map")
    import plotly.graph_objects as go

    color = color or Coloring(None)
    n = len(coords)
    texts = texts if texts is not None else [None] * n
    metadatas = metadatas if metadatas is not None else [{}] * n
    hover = np.asarray([_hover(ids[i], texts[i], metadatas[i]) for i in range(n)], dtype=object)
    scatter = go.Scattergl if n > WEBGL_ABOVE else go.Scatter
    size = float(np.clip(1500 / max(n, 1) ** 0.5 / 4, 4, 9))
    template = "%{customdata}<extra>%{fullData.name}</extra>"
    fig = go.Figure()
    if color.groups is not None and color.names is not None:
        colors = _palette(color.names)
        groups = np.asarray(color.groups)
        for name in color.names:
            rows = np.flatnonzero(groups == name)
            fig.add_trace(
                scatter(
                    x=coords[rows, 0],
                    y=coords[rows, 1],
                    mode="markers",
                    name=name,
                    customdata=hover[rows],
                    hovertemplate=template,
                    marker={"size": size, "color": colors[name], "opacity": 0.85},
                )
            )
    else:
        marker: dict[str, Any] = {"size": size, "opacity": 0.85, "color": "#1f77b4"}
        if color.values is not None:
            marker.update(
                color=color.values,
                colorscale="Viridis",
                showscale=True,
                colorbar={"title": {"text": color.field}},
            )
        fig.add_trace(
            scatter(
                x=coords[:, 0],
                y=coords[:, 1],
                mode="markers",
                name=color.field or "documents",
                customdata=hover,
                hovertemplate=template,
                marker=marker,
                showlegend=False,
            )
        )
    if labels is not None and max_labels > 0:
        wanted = _label_points(coords, labels, max_labels)[:max_labels]
        for row, name in wanted:
            fig.add_annotation(
                x=float(coords[row, 0]),
                y=float(coords[row, 1]),
                text=html.escape(name),
                showarrow=False,
                yshift=10,
                font={"size": 11, "color": "#222"},
                bgcolor="rgba(255,255,255,0.7)",
            )
    axis = {"showticklabels": False, "showgrid": False, "zeroline": False, "title": None}
    fig.update_layout(
        title=title,
        template="plotly_white",
        hovermode="closest",
        legend={"title": {"text": color.field or ""}, "itemsizing": "constant"},
        xaxis=axis,
        yaxis=axis,
        height=800,
        margin={"l": 20, "r": 20, "t": 60, "b": 20},
    )
    return _write_atomic(
        Path(path),
        lambda p: fig.write_html(
            p, include_plotlyjs=True, full_html=True, config={"displaylogo": False}
        ),
    )


def draw_map(
    corpus: Corpus,
    projection: Projection,
    path: str | Path,
    *,
    color_by: str | None = None,
    groups: Sequence[str] | None = None,
    label_by: str | None = None,
    title: str | None = None,
    max_labels: int = 20,
) -> Path:
    """Draw ``corpus`` at ``projection.coords`` into ``path`` (.png or .html).

    Colours come from the metadata field ``color_by`` or from ``groups`` (e.g. clusters);
    text labels from the field ``label_by`` ("id" and "text" name the id and the text)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise InputError(f"unsupported map format {path.suffix!r}; use {' or '.join(FORMATS)}")
    if len(projection.coords) != len(corpus):
        raise InputError(
            f"{len(projection.coords)} coordinates for {len(corpus)} documents; project this corpus"
        )
    if groups is not None:
        color = coloring(list(groups), color_by or "cluster")
    else:
        color = coloring(corpus.field(color_by) if color_by else None, color_by)
    labels = corpus.field(label_by) if label_by else None
    if title is None:
        name = {"umap": "UMAP", "tsne": "t-SNE", "pca": "PCA"}.get(projection.method, "")
        title = f"{name} map of {len(corpus)} documents" + (
            f", coloured by {color.field}" if color.field else ""
        )
    if suffix == ".png":
        return plot_png(
            projection.coords, path, color=color, labels=labels, title=title, max_labels=max_labels
        )
    return plot_html(
        projection.coords,
        path,
        ids=corpus.ids,
        texts=corpus.texts,
        metadatas=corpus.metadatas,
        color=color,
        labels=labels,
        title=title,
        max_labels=max_labels,
    )


__all__ = ["FORMATS", "Coloring", "coloring", "draw_map", "plot_html", "plot_png"]
