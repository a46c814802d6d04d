"""`semkit cluster`, `semkit duplicates`, `semkit outliers`: a collection or a file of texts
analysed through ``semkit.analysis``; this module only parses options and formats."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from semkit.analysis.duplicates import MUTUAL_MARGIN
from semkit.cli.collections import _short
from semkit.cli.common import JsonOpt, err, out, print_json, progress_wanted, table
from semkit.cli.sources import (
    CollectionOpt,
    DbOpt,
    DimsOpt,
    IdFieldOpt,
    InputOpt,
    ModelOpt,
    Source,
    TextFieldOpt,
    WhereOpt,
    open_corpus,
    read_corpus,
)
from semkit.errors import InputError

ASSIGNMENT_FORMATS = (".jsonl", ".csv")

NeighborsOpt = Annotated[
    int, typer.Option("--neighbors", "-k", min=1, help="Nearest neighbours searched per document.")
]
IndexOpt = Annotated[
    str,
    typer.Option("--index", help="auto (exact up to 50,000 documents, else HNSW), exact or hnsw."),
]


@contextmanager
def _spinner(message: str, show: bool) -> Iterator[None]:
    """A spinner on a terminal while a step without its own progress bar runs."""
    if not show:
        yield
        return
    with err.status(message):
        yield


def _one_of(option: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise InputError(f"{option} must be one of {', '.join(choices)}, got {value!r}")


def _parse_k(k: str) -> int | None:
    if k.strip().lower() == "auto":
        return None
    try:
        return int(k)
    except ValueError:
        raise InputError(f"--k must be a number of clusters or 'auto', got {k!r}") from None


def _parse_range(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*(?:\.\.|-|:)\s*(\d+)\s*", text)
    if not m or not 2 <= int(m[1]) <= int(m[2]):
        raise InputError(f"--k-range must look like 2..12 (low >= 2, low <= high), got {text!r}")
    return int(m[1]), int(m[2])


def _write_assignments(path: Path, rows: list[dict[str, Any]]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as f:
        if path.suffix.lower() == ".csv":
            writer = csv.DictWriter(f, fieldnames=["id", "cluster", "name"])
            writer.writeheader()
            writer.writerows(rows)
        else:
            f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    tmp.replace(path)


def cluster(
    collection: CollectionOpt = None,
    input_path: InputOpt = None,
    method: Annotated[str, typer.Option(help="kmeans or hdbscan (finds k, marks noise).")] = (
        "kmeans"
    ),
    k: Annotated[
        str,
        typer.Option(
            "--k", help="k-means: the number of clusters, or 'auto' (best silhouette in --k-range)."
        ),
    ] = "auto",
    k_range: Annotated[
        str, typer.Option("--k-range", help="The k tried by --k auto, inclusive.")
    ] = "2..12",
    min_cluster_size: Annotated[
        int, typer.Option("--min-cluster-size", min=2, help="HDBSCAN: smallest cluster.")
    ] = 5,
    min_samples: Annotated[
        int | None,
        typer.Option("--min-samples", min=1, help="HDBSCAN: higher marks more noise."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed: same input, same clusters.")] = 0,
    keywords: Annotated[
        int, typer.Option("--keywords", min=1, help="Keywords per cluster (c-TF-IDF).")
    ] = 8,
    examples: Annotated[
        int, typer.Option("--examples", min=0, help="Most typical documents shown per cluster.")
    ] = 3,
    write_field: Annotated[
        str | None,
        typer.Option(
            "--write-field",
            help="Store each document's cluster in this metadata field of the collection.",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write id, cluster and name to a .jsonl or .csv file."),
    ] = None,
    db: DbOpt = None,
    where: WhereOpt = None,
    text_field: TextFieldOpt = None,
    id_field: IdFieldOpt = None,
    model: ModelOpt = None,
    dims: DimsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Group documents by meaning: k-means or HDBSCAN, clusters named by their keywords."""
    source = Source.of(locals())
    from semkit.analysis.cluster import METHODS, write_clusters
    from semkit.analysis.cluster import cluster as run_cluster

    _one_of("--method", method, METHODS)
    n_clusters, low_high = _parse_k(k), _parse_range(k_range)
    if method == "hdbscan" and n_clusters is not None:
        raise InputError("HDBSCAN finds the number of clusters itself; leave out --k")
    if write_field is not None and collection is None:
        raise InputError("--write-field writes to a collection; use --out FILE with --input")
    if output is not None and output.suffix.lower() not in ASSIGNMENT_FORMATS:
        raise InputError(f"--out must end in {' or '.join(ASSIGNMENT_FORMATS)}, got {output.name}")
    with open_corpus(source) as (corpus, coll):
        one_fit = n_clusters is not None or method == "hdbscan"  # k by silhouette: a bar
        with _spinner(f"clustering {len(corpus)} documents", one_fit and progress_wanted()):
            result = run_cluster(
                corpus,
                method,  # type: ignore[arg-type]
                k=n_clusters,
                k_range=low_high,
                min_cluster_size=min_cluster_size,
                min_samples=min_samples,
                seed=seed,
                n_keywords=keywords,
                n_representatives=examples,
                show_progress_bar=progress_wanted(),
            )
        written = (
            write_clusters(coll, result, write_field) if coll is not None and write_field else None
        )
    text_of = dict(zip(corpus.ids, corpus.texts, strict=True))
    names = {c.label: c.name for c in result.clusters}
    assignments = [
        {"id": doc_id, "cluster": int(label), "name": names[int(label)]}
        for doc_id, label in zip(result.ids, result.labels, strict=True)
    ]
    if output is not None:
        _write_assignments(output, assignments)
    if as_json:
        print_json(
            {
                "method": result.method,
                "documents": len(result.ids),
                "k": result.k,
                "noise": result.noise,
                "seed": result.seed,
                "silhouette": result.silhouette,
                "silhouette_by_k": {str(n): v for n, v in result.silhouette_by_k.items()},
                "clusters": [
                    {
                        "cluster": c.label,
                        "name": c.name,
                        "size": c.size,
                        "keywords": c.keywords,
                        "representatives": [
                            {"id": i, "text": text_of[i]} for i in c.representatives
                        ],
                    }
                    for c in result.clusters
                ],
                "assignments": [{"id": a["id"], "cluster": a["cluster"]} for a in assignments],
                "written": written,
            }
        )
        return
    how = (
        f"k chosen by silhouette over {low_high[0]}..{low_high[1]}"
        if result.silhouette_by_k
        else ("HDBSCAN" if method == "hdbscan" else "k given")
    )
    silhouette = "n/a" if result.silhouette is None else f"{result.silhouette:.3f}"
    table(
        ["cluster", "size", "keywords", "most typical"],
        [
            [
                "noise" if c.label < 0 else c.label,
                c.size,
                ", ".join(c.keywords),
                "\n".join(_short(text_of[i] or i, 70) for i in c.representatives),
            ]
            for c in result.clusters
        ],
        title=f"{result.k} clusters of {len(result.ids)} documents ({how}; silhouette {silhouette})",
    )
    if result.silhouette_by_k:
        out.print(
            "silhouette by k: "
            + ", ".join(f"{n}: {v:.3f}" for n, v in result.silhouette_by_k.items())
        )
    if written is not None:
        out.print(
            f"wrote each document's cluster to metadata field {write_field!r} "
            f"({written} of {len(result.ids)} documents changed)"
        )
    if output is not None:
        out.print(f"wrote {len(assignments)} assignments to {output}")


def duplicates(
    collection: CollectionOpt = None,
    input_path: InputOpt = None,
    threshold: Annotated[
        float,
        typer.Option(
            "--threshold", "-t", help="Cosine similarity from which two texts are duplicates."
        ),
    ] = 0.9,
    mutual: Annotated[
        bool,
        typer.Option(
            "--mutual",
            help="Keep a pair only if each text is the other's best match (within "
            "--mutual-margin): finds each text's counterpart; members of a looser group of "
            "paraphrases may be left out.",
        ),
    ] = False,
    mutual_margin: Annotated[
        float,
        typer.Option(
            "--mutual-margin",
            min=0.0,
            help="--mutual: how far below a text's best match a pair may score (cosine; "
            "0 = mutual nearest neighbours only).",
        ),
    ] = MUTUAL_MARGIN,
    neighbors: NeighborsOpt = 10,
    index: IndexOpt = "auto",
    limit: Annotated[
        int, typer.Option("--limit", min=1, help="Pairs and groups shown (--json: all).")
    ] = 50,
    db: DbOpt = None,
    where: WhereOpt = None,
    text_field: TextFieldOpt = None,
    id_field: IdFieldOpt = None,
    model: ModelOpt = None,
    dims: DimsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Find near-duplicate pairs (cosine >= --threshold) and the groups they link."""
    source = Source.of(locals())
    from semkit.analysis.duplicates import check_threshold, find_duplicates
    from semkit.analysis.neighbors import INDEX_KINDS

    check_threshold(threshold)
    _one_of("--index", index, INDEX_KINDS)
    corpus = read_corpus(source)
    result = find_duplicates(
        corpus,
        threshold,
        k=neighbors,
        index=index,  # type: ignore[arg-type]
        mutual=mutual,
        mutual_margin=mutual_margin,
        show_progress_bar=progress_wanted(),
    )
    text_of = dict(zip(corpus.ids, corpus.texts, strict=True))
    if as_json:
        print_json(
            {
                "threshold": result.threshold,
                "documents": result.documents,
                "index": result.index,
                "incomplete": result.incomplete,
                "mutual": result.mutual,
                "mutual_margin": result.mutual_margin,
                "pairs": [
                    {
                        "id_a": p.id_a,
                        "id_b": p.id_b,
                        "score": p.score,
                        "text_a": text_of[p.id_a],
                        "text_b": text_of[p.id_b],
                    }
                    for p in result.pairs
                ],
                "groups": [
                    {"group": g, "size": len(ids), "ids": ids}
                    for g, ids in enumerate(result.groups)
                ],
            }
        )
        return
    mutual_note = f", mutual best matches within {result.mutual_margin:g}" if result.mutual else ""
    out.print(
        f"{len(result.pairs)} pairs with cosine >= {result.threshold:g} in "
        f"{len(result.groups)} groups among {result.documents} documents "
        f"({result.index} search{mutual_note})"
    )
    if not result.pairs:
        return
    table(
        ["score", "id a", "id b", "text a", "text b"],
        [
            [p.score, p.id_a, p.id_b, _short(text_of[p.id_a], 50), _short(text_of[p.id_b], 50)]
            for p in result.pairs[:limit]
        ],
        title="pairs, most similar first"
        + (f" (first {limit} of {len(result.pairs)})" if len(result.pairs) > limit else ""),
    )
    table(
        ["group", "size", "ids", "first text"],
        [
            [g, len(ids), _short(", ".join(ids), 40), _short(text_of[ids[0]], 60)]
            for g, ids in enumerate(result.groups[:limit])
        ],
        title="groups (connected pairs), largest first",
    )
    if result.incomplete:
        out.print(
            f"{result.incomplete} documents have more duplicates than could be listed; "
            f"raise --threshold"
        )


def outliers(
    collection: CollectionOpt = None,
    input_path: InputOpt = None,
    method: Annotated[
        str, typer.Option(help="knn (mean cosine distance to the k nearest) or lof.")
    ] = "knn",
    neighbors: NeighborsOpt = 10,
    top: Annotated[int, typer.Option("--top", "-n", min=1, help="How many to show.")] = 20,
    index: IndexOpt = "auto",
    db: DbOpt = None,
    where: WhereOpt = None,
    text_field: TextFieldOpt = None,
    id_field: IdFieldOpt = None,
    model: ModelOpt = None,
    dims: DimsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Rank documents by how unlike the rest they are (most anomalous first)."""
    source = Source.of(locals())
    from semkit.analysis.neighbors import INDEX_KINDS
    from semkit.analysis.outliers import METHODS, outlier_scores

    _one_of("--method", method, METHODS)
    _one_of("--index", index, INDEX_KINDS)
    corpus = read_corpus(source)
    result = outlier_scores(
        corpus,
        method,  # type: ignore[arg-type]
        k=neighbors,
        index=index,  # type: ignore[arg-type]
        show_progress_bar=progress_wanted(),
    )
    text_of = dict(zip(corpus.ids, corpus.texts, strict=True))
    ranked = result.top(top)
    if as_json:
        print_json(
            {
                "method": result.method,
                "k": result.k,
                "documents": len(result.ids),
                "top": [
                    {"rank": o.rank, "id": o.id, "score": o.score, "text": text_of[o.id]}
                    for o in ranked
                ],
            }
        )
        return
    table(
        ["#", "score", "id", "text"],
        [[o.rank, o.score, o.id, _short(text_of[o.id])] for o in ranked],
        title=f"the {len(ranked)} most anomalous of {len(result.ids)} documents "
        f"({result.method}, k={result.k}; higher = more anomalous)",
    )
