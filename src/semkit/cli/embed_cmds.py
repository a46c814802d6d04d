"""`semkit embed`, `semkit similarity`, `semkit analogy`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from semkit.cli.collections import DbOpt
from semkit.cli.common import (
    BackendOpt,
    DimsOpt,
    JsonOpt,
    ModelOpt,
    RayCpusOpt,
    RayOpt,
    RayWorkersOpt,
    embedder,
    print_json,
    progress_wanted,
    table,
)
from semkit.errors import InputError
from semkit.extras import require

OUTPUT_FORMATS = (".npy", ".jsonl", ".parquet")


def _gather(
    texts: list[str], input_path: Path | None, field: str | None, id_field: str | None = None
) -> tuple[list[str], list[str | None]]:
    """The texts to embed and their ids (None where the input gives none)."""
    from semkit.text.io import read_records

    if input_path is not None:
        if texts:
            raise InputError("give texts as arguments or with --input, not both")
        records = list(read_records(input_path, field, id_field))
        return [r.text for r in records], [r.id for r in records]
    if id_field is not None:
        raise InputError("--id-field applies to --input files")
    if texts == ["-"] or (not texts and not sys.stdin.isatty()):
        records = list(read_records("-"))
        return [r.text for r in records], [r.id for r in records]
    if not texts:
        raise InputError("no texts: pass them as arguments, with --input FILE, or on stdin")
    return texts, [None] * len(texts)


def _write(path: Path | None, texts: list[str], vectors: np.ndarray, ids: list[str | None]) -> None:
    if path is None:
        for text, vec in zip(texts, vectors, strict=True):
            sys.stdout.write(
                json.dumps({"text": text, "embedding": vec.tolist()}, ensure_ascii=False) + "\n"
            )
        return
    suffix = path.suffix.lower()
    tmp = path.with_name(path.name + ".tmp")
    if suffix == ".npy":
        with tmp.open("wb") as f:
            np.save(f, vectors, allow_pickle=False)
    elif suffix == ".jsonl":
        with tmp.open("w", encoding="utf-8") as f:
            for text, vec in zip(texts, vectors, strict=True):
                f.write(
                    json.dumps({"text": text, "embedding": vec.tolist()}, ensure_ascii=False) + "\n"
                )
    elif suffix == ".parquet":
        require("pyarrow", "parquet", "writing .parquet files")
        import pyarrow.parquet as pq

        from semkit.search.ingest import auto_id
        from semkit.text.io import vectors_table

        # Every row gets an id: the input's, else the one a collection derives from the text.
        full_ids = [
            i if i is not None else auto_id(t, None) for i, t in zip(ids, texts, strict=True)
        ]
        pq.write_table(vectors_table(full_ids, texts, vectors), tmp)
    else:
        raise InputError(
            f"unsupported output format '{suffix}'; use one of {', '.join(OUTPUT_FORMATS)}"
        )
    tmp.replace(path)


def embed(
    texts: Annotated[
        list[str] | None, typer.Argument(help="Texts to embed ('-' reads stdin).")
    ] = None,
    input_path: Annotated[
        Path | None,
        typer.Option(
            "--input",
            "-i",
            help=("Read texts from a file: .txt (one per line), .jsonl, .csv, .tsv or .parquet."),
        ),
    ] = None,
    field: Annotated[
        str | None,
        typer.Option("--field", help="Text field of .jsonl/.csv/.parquet input (default: text)."),
    ] = None,
    id_field: Annotated[
        str | None,
        typer.Option(
            "--id-field",
            help=(
                "Id field of the input (default: id if present); Parquet output has an id "
                "column: this, else an id derived from the text."
            ),
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help=("Write to .npy, .jsonl or .parquet; without it, JSON lines go to stdout."),
        ),
    ] = None,
    kind: Annotated[
        str, typer.Option(help="'document' or 'query': picks the model's prompt.")
    ] = "document",
    model: ModelOpt = None,
    dims: DimsOpt = None,
    batch_size: Annotated[
        int | None, typer.Option("--batch-size", min=1, help="Texts per model batch.")
    ] = None,
    backend: BackendOpt = None,
    ray: RayOpt = None,
    ray_workers: RayWorkersOpt = None,
    ray_cpus: RayCpusOpt = 1.0,
) -> None:
    """Embed texts and write their vectors (cached: a text is never embedded twice)."""
    if ray is not None:
        from semkit.distributed.pipeline import RayOptions

        if texts:
            raise InputError("--ray embeds an --input file; give no texts as arguments")
        _embed_on_ray(
            input_path,
            output,
            model=model,
            dims=dims,
            backend=backend,
            kind=kind,
            text_field=field,
            id_field=id_field,
            options=RayOptions(
                address=ray, workers=ray_workers, cpus_per_worker=ray_cpus, batch_size=batch_size
            ),
        )
        return
    items, ids = _gather(texts or [], input_path, field, id_field)
    if not items:
        raise InputError("the input holds no texts")
    if output is not None and output.suffix.lower() not in OUTPUT_FORMATS:
        raise InputError(
            f"unsupported output format '{output.suffix}'; use one of {', '.join(OUTPUT_FORMATS)}"
        )
    emb = embedder(model, dims, backend)
    vectors = emb.encode(
        items,
        kind=kind,
        batch_size=batch_size,
        show_progress_bar=progress_wanted(),
    )
    _write(output, items, vectors, ids)
    if output is not None:
        s = emb.last_stats
        from semkit.cli.common import err

        err.print(
            f"wrote {len(items)} vectors of dimension {vectors.shape[1]} to {output} "
            f"({s.embedded} embedded, {s.cached} from cache)"
        )


def _embed_on_ray(input_path: Path | None, output: Path | None, **options: Any) -> None:
    from semkit.cli.collections import _progress
    from semkit.cli.common import err
    from semkit.distributed import embed_file

    if input_path is None or output is None:
        raise InputError(
            "--ray embeds an --input file (.jsonl or .parquet) into --out FILE.parquet"
        )
    with _progress("embedding", str(input_path), None) as (progress, task):
        report = embed_file(
            input_path, output, progress=lambda n: progress.advance(task, n), **options
        )
    err.print(
        f"wrote {report.rows} vectors of dimension {report.dim} to {output} on Ray "
        f"({report.workers} workers; {report.embedded} embedded, "
        f"{report.rows - report.embedded} from cache or repeated; {report.seconds:.1f} s)"
    )


def similarity(
    texts: Annotated[list[str], typer.Argument(help="Two or more texts.")],
    metric: Annotated[str, typer.Option(help="cosine, dot or euclidean (a distance).")] = "cosine",
    model: ModelOpt = None,
    dims: DimsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The similarity matrix of two or more texts."""
    import semkit.similarity as sim

    if len(texts) < 2:
        raise InputError("give at least two texts to compare")
    if metric not in sim.METRICS:
        raise InputError(f"unknown metric {metric!r}; use one of {', '.join(sim.METRICS)}")
    vectors = embedder(model, dims).encode(texts)
    fn = {"cosine": sim.cosine, "dot": sim.dot, "euclidean": sim.euclidean}[metric]
    matrix = np.asarray(fn(vectors, vectors))
    if as_json:
        print_json({"metric": metric, "texts": texts, "matrix": matrix})
        return
    labels = [f"[{i}]" for i in range(len(texts))]
    for label, text in zip(labels, texts, strict=True):
        typer.echo(f"{label} {text}")
    table(
        ["", *labels],
        [[labels[i], *map(float, matrix[i])] for i in range(len(texts))],
        title=f"{metric} similarity" if metric != "euclidean" else "euclidean distance",
    )


def analogy(
    a: Annotated[str, typer.Argument(help="A in A - B + C (e.g. king).")],
    b: Annotated[str, typer.Argument(help="B (e.g. man).")],
    c: Annotated[str, typer.Argument(help="C (e.g. woman).")],
    vocab: Annotated[
        Path | None, typer.Option("--vocab", help="Candidate words: a .txt file, one per line.")
    ] = None,
    collection: Annotated[
        str | None,
        typer.Option(
            "--collection", "-c", help="Candidates: this collection's documents (stored vectors)."
        ),
    ] = None,
    db: DbOpt = None,
    top_k: Annotated[
        int, typer.Option("--top-k", "-k", min=1, help="How many candidates to show.")
    ] = 10,
    model: ModelOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Rank candidates for A - B + C (king - man + woman -> queen): words of --vocab, or the
    documents of --collection (embedded with its model; the inputs themselves left out)."""
    if (vocab is None) == (collection is None):
        raise InputError("give the candidates with --vocab FILE or --collection NAME (one)")
    if collection is not None:
        _collection_analogy(a, b, c, collection, db, top_k, as_json)
        return
    from semkit.shortcuts import analogy as rank
    from semkit.text.io import read_texts

    assert vocab is not None
    words = list(dict.fromkeys(w.strip() for w in read_texts(vocab)))
    ranked = rank(a, b, c, words, k=top_k, model=model)
    if as_json:
        print_json(
            {"query": [a, b, c], "results": [{"candidate": w, "score": s} for w, s in ranked]}
        )
        return
    table(
        ["rank", "candidate", "cosine"],
        [[i + 1, w, s] for i, (w, s) in enumerate(ranked)],
        title=f"{a} - {b} + {c}",
    )


def _collection_analogy(
    a: str, b: str, c: str, name: str, db: str | None, k: int, as_json: bool
) -> None:
    from semkit.analysis.analogy import corpus_analogy
    from semkit.analysis.corpus import from_collection
    from semkit.cli.collections import _short, open_db

    with open_db(db) as database:
        coll = database.collection(name, create=False)
        if coll.embedder is None:
            raise InputError(
                f"collection {name!r} holds vectors without a model; it cannot embed {a!r}"
            )
        ranked = corpus_analogy(from_collection(coll), coll.embedder, a, b, c, k=k)
    if as_json:
        print_json(
            {
                "query": [a, b, c],
                "collection": name,
                "results": [
                    {"candidate": m.text, "id": m.id, "score": m.score, "metadata": m.metadata}
                    for m in ranked
                ],
            }
        )
        return
    table(
        ["rank", "id", "document", "cosine"],
        [[i + 1, m.id, _short(m.text, 70), m.score] for i, m in enumerate(ranked)],
        title=f"{a} - {b} + {c} in {name}",
    )
