"""`semkit eval retrieval|sts|ann`: measure quality through semkit's own search path."""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path
from typing import Annotated, Any

import typer

from semkit.cli.collections import CollArg, DbOpt, open_db
from semkit.cli.common import BackendOpt, JsonOpt, ModelOpt, out, print_json, table
from semkit.errors import InputError

eval_app = typer.Typer(
    help="Measure retrieval, similarity and index quality.", no_args_is_help=True
)
MAIN = ("ndcg_at_10", "map_at_100", "recall_at_100", "mrr_at_10")


def _ints(text: str | None, what: str) -> list[int | None]:
    if text is None:
        return [None]
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError as exc:
        raise InputError(f"{what} must be comma-separated integers, got {text!r}") from exc


def _write(path: Path | None, payload: Any) -> None:
    if path is not None:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        tmp.replace(path)


@eval_app.command("retrieval")
def retrieval(
    beir: Annotated[
        Path,
        typer.Option(
            "--beir", help=("BEIR folder: corpus.jsonl, queries.jsonl, qrels/<split>.tsv.")
        ),
    ],
    split: Annotated[str, typer.Option(help="qrels split to evaluate.")] = "test",
    model: ModelOpt = None,
    mode: Annotated[
        str, typer.Option(help="dense, lexical, hybrid, or a comma list (grid).")
    ] = "dense",
    index: Annotated[str, typer.Option(help="exact or hnsw.")] = "exact",
    dims: Annotated[
        str | None, typer.Option(help="Matryoshka dims, e.g. 384,256,128,64 (grid).")
    ] = None,
    truncate: Annotated[
        bool,
        typer.Option(
            "--truncate",
            help=("Cut documents at the model's limit (MTEB's policy) instead of chunking them."),
        ),
    ] = False,
    both: Annotated[
        bool, typer.Option("--both", help="Report truncated and chunked side by side.")
    ] = False,
    k: Annotated[str, typer.Option("--k", help="Cut-offs, comma-separated.")] = "1,3,5,10,100,1000",
    hybrid_weights: Annotated[
        str, typer.Option(help="Dense,lexical weights of the fusion.")
    ] = "1,1",
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help=(
                "Keep the evaluation database here: a directory or a postgresql:// URL "
                "(default: a temporary directory)."
            ),
        ),
    ] = None,
    backend: BackendOpt = None,
    output: Annotated[Path | None, typer.Option("--out", help="Write the results as JSON.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """nDCG/MAP/Recall/MRR of a BEIR dataset, built and searched as a semkit collection."""
    from semkit.embedding.embedder import TruncationWarning
    from semkit.evaluate.collections import evaluate_beir

    k_values = [int(x) for x in _ints(k, "--k") if x]
    weights = tuple(float(x) for x in hybrid_weights.split(","))
    if len(weights) != 2:
        raise InputError("--hybrid-weights takes two numbers: dense,lexical")
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter(
            "ignore", TruncationWarning
        )  # documents are chunked or cut on purpose
        results = evaluate_beir(
            beir,
            split,
            model=model,
            modes=mode.split(","),
            dims=_ints(dims, "--dims"),
            truncate=(True, False) if both else (truncate,),
            index=index,
            k_values=k_values,
            db_path=db,
            backend=backend,
            weights=weights,
        )
    payload = {
        "results": [r.as_dict() for r in results],
        "seconds": round(time.perf_counter() - t0, 1),
    }
    _write(output, payload)
    if as_json:
        print_json(payload)
        return
    shown = [m for m in MAIN if m in results[0].scores] or list(results[0].scores)[:4]
    headers = [
        m.replace("ndcg", "nDCG")
        .replace("map", "MAP")
        .replace("recall", "Recall")
        .replace("mrr", "MRR")
        .replace("_at_", "@")
        for m in shown
    ]
    table(
        ["mode", "dims", "documents", "index", *headers, "build s", "search s"],
        [
            [
                r.config["mode"],
                r.config["dims"],
                r.config["chunking"],
                r.config["index"],
                *(r.scores[m] for m in shown),
                r.timings["build_s"],
                r.timings["search_s"],
            ]
            for r in results
        ],
        title=f"{beir.name} {split} ({results[0].config['queries']} queries, "
        f"{results[0].config['model']})",
    )


@eval_app.command("sts")
def sts(
    pairs: Annotated[
        Path,
        typer.Option(
            "--pairs", help=("STS-Benchmark file, or a CSV/TSV with sentence1, sentence2, score.")
        ),
    ],
    model: ModelOpt = None,
    dims: Annotated[int | None, typer.Option(help="Matryoshka truncation.")] = None,
    backend: BackendOpt = None,
    output: Annotated[Path | None, typer.Option("--out", help="Write the results as JSON.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Spearman and Pearson correlation of cosine similarity with gold scores."""
    from semkit.embedding import Embedder
    from semkit.evaluate import evaluate_sts, load_sts

    data = load_sts(pairs)
    options: dict[str, Any] = {"backend": backend} if backend else {}
    embedder = Embedder(model, dims=dims, **options)
    scores = evaluate_sts(embedder, data)
    payload = {
        "scores": scores,
        "config": {
            "pairs": str(pairs),
            "n": len(data),
            "model": embedder.model_id,
            "fingerprint": embedder.fingerprint,
            "dims": embedder.dim,
        },
    }
    _write(output, payload)
    if as_json:
        print_json(payload)
        return
    table(
        ["pairs", "model", "dims", *scores],
        [[len(data), embedder.model_id, embedder.dim, *scores.values()]],
    )


@eval_app.command("ann")
def ann(
    collection: CollArg,
    k: Annotated[int, typer.Option("-k", min=1, help="Recall cut-off.")] = 10,
    sample: Annotated[int, typer.Option(min=1, help="Stored documents used as queries.")] = 200,
    queries: Annotated[
        Path | None,
        typer.Option(
            "--queries", help=("Query texts (.txt, one per line) instead of sampled documents.")
        ),
    ] = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Recall@k of the collection's HNSW index against exact search."""
    from semkit.evaluate.collections import ann_recall
    from semkit.text.io import read_texts

    with open_db(db) as database:
        coll = database.collection(collection, create=False)
        result = ann_recall(coll, read_texts(queries) if queries else None, k=k, sample=sample)
    if as_json:
        print_json(result)
        return
    table(list(result), [list(result.values())])
    if result["index"] != "hnsw":
        out.print(
            "note: this collection is searched exactly (index 'exact'), so recall is 1 "
            "by construction; `semkit index` and --index hnsw choose HNSW"
        )
