"""Using embeddings: `semkit classify train|predict|eval|zero-shot`, `semkit similar`,
`semkit context` (RAG) and `semkit map`."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Annotated, Any

import typer

from semkit import config
from semkit.cli.collections import (
    CollArg,
    DbOpt,
    WhereOpt,
    _short,
    open_db,
    parse_where,
    print_hits,
)
from semkit.cli.common import (
    DimsOpt,
    JsonOpt,
    ModelOpt,
    err,
    out,
    print_json,
    progress_wanted,
    table,
)
from semkit.cli.sources import (
    CollectionOpt,
    IdFieldOpt,
    InputOpt,
    Source,
    TextFieldOpt,
    open_corpus,
    read_corpus,
)
from semkit.errors import InputError
from semkit.extras import require_extra

classify_app = typer.Typer(
    help="Classify texts by their embeddings: train, predict, eval, zero-shot.",
    no_args_is_help=True,
)

TextsArg = Annotated[
    list[str] | None, typer.Argument(help="Texts to classify (or use --input / --collection).")
]
LabelFieldOpt = Annotated[
    str, typer.Option("--label-field", "-l", help="Metadata field / column holding the label.")
]
MethodOpt = Annotated[
    str, typer.Option("--method", help="logreg (logistic regression) or knn (k nearest).")
]
KOpt = Annotated[
    int | None,
    typer.Option(
        "--k",
        min=1,
        help=(
            "Neighbours that vote (knn). Default: k and the vote weighting chosen by "
            "cross-validation on the training texts, which also says if logreg does better."
        ),
        show_default=False,
    ),
]
COpt = Annotated[
    float, typer.Option("-C", help="Inverse regularisation strength (logreg).", min=1e-9)
]


# --- where texts come from ------------------------------------------------------------------


@dataclass
class _Documents:
    """Documents to be loaded, the space their vectors live in, and the model that embeds
    them (None for a collection without a model)."""

    space: Any
    model: Any
    load: Callable[[], Any]


@contextmanager
def _documents(source: Source, texts: list[str] | None = None) -> Iterator[_Documents]:
    """Texts given as arguments, a file (embedded with the source's model), or a collection
    (its stored vectors and model). The model is not used before ``load()``."""
    from semkit.analysis.classify import EmbeddingSpace
    from semkit.analysis.corpus import from_texts

    given = sum(x is not None for x in (texts or None, source.collection, source.input_path))
    if given != 1:
        raise InputError("give texts as arguments, --input FILE, or --collection NAME (one)")
    if source.collection is not None:
        with open_corpus(source) as (corpus, coll):
            assert coll is not None
            yield _Documents(EmbeddingSpace.of_collection(coll), coll.embedder, lambda: corpus)
        return
    source.without_where()
    emb = source.embedder()
    space = EmbeddingSpace.of_embedder(emb, config.value("model", source.model))
    if texts:
        yield _Documents(space, emb, lambda: from_texts(texts, emb))
        return
    yield _Documents(space, emb, lambda: source.read_file(emb))


# --- classify -------------------------------------------------------------------------------


def _knn_choice(params: dict[str, Any]) -> None:
    """What cross-validation chose for k-NN, and its advice when logreg does better."""
    if "cv_accuracy" in params:
        weighting = (
            "one vote each"
            if not params["temperature"]
            else f"votes weighted exp(cosine/{params['temperature']})"
        )
        out.print(
            f"k-NN: k={params['k']}, {weighting} (cross-validated accuracy "
            f"{params['cv_accuracy']:.3f}; logistic regression {params['cv_logreg_accuracy']:.3f})"
        )
    if "advice" in params:
        err.print(f"semkit: warning: {params['advice']}", markup=False, highlight=False)


def _labelled(docs: _Documents, label_field: str) -> tuple[Any, list[str], int]:
    from semkit.analysis.classify import labelled

    return labelled(docs.load(), label_field)


@classify_app.command("train")
def classify_train(
    label_field: LabelFieldOpt,
    out_dir: Annotated[
        Path, typer.Option("--out", "-o", help="Save the classifier in this directory.")
    ],
    collection: CollectionOpt = None,
    input_path: InputOpt = None,
    text_field: TextFieldOpt = None,
    id_field: IdFieldOpt = None,
    where: WhereOpt = None,
    db: DbOpt = None,
    model: ModelOpt = None,
    dims: DimsOpt = None,
    method: MethodOpt = "logreg",
    k: KOpt = None,
    c: COpt = 1.0,
    as_json: JsonOpt = False,
) -> None:
    """Train a classifier on labelled texts (a file or a collection) and save it (no pickle)."""
    from semkit.analysis.classify import train_classifier

    with _documents(Source.of(locals())) as docs:
        corpus, labels, unlabelled = _labelled(docs, label_field)
        clf = train_classifier(corpus.vectors, labels, docs.space, method=method, k=k, C=c)
    clf.save(out_dir)
    counts = Counter(labels)
    summary = {
        "classifier": str(out_dir),
        "method": clf.method,
        "trained_on": clf.trained_on,
        "unlabelled_skipped": unlabelled,
        "labels": {label: counts[label] for label in clf.labels},
        "space": asdict(clf.space),
        "params": clf.params,
    }
    if as_json:
        print_json(summary)
        return
    table(["label", "examples"], [[label, counts[label]] for label in clf.labels])
    _knn_choice(clf.params)
    out.print(
        f"trained {clf.method} on {clf.trained_on} examples; model {clf.space.describe()}"
        + (f"; {unlabelled} without a label skipped" if unlabelled else "")
        + f"; saved to {out_dir}"
    )


@classify_app.command("predict")
def classify_predict(
    classifier: Annotated[Path, typer.Argument(help="A directory saved by `classify train`.")],
    texts: TextsArg = None,
    collection: CollectionOpt = None,
    input_path: InputOpt = None,
    text_field: TextFieldOpt = None,
    id_field: IdFieldOpt = None,
    where: WhereOpt = None,
    db: DbOpt = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model", "-m", help="Embed with this model (default: the one it was trained on)."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Label texts with a saved classifier (refused if they are embedded with another model)."""
    from semkit.analysis.classify import Classifier

    clf = Classifier.load(classifier)
    if model is None and collection is None:
        if clf.space.model is None:
            raise InputError(
                "the classifier was trained on vectors without a model; predict on a "
                "--collection of the same vectors"
            )
        model = clf.space.model
    with _documents(Source.of(locals(), dims=clf.space.dims), texts) as docs:
        clf.space.check(docs.space)  # before embedding anything
        corpus = docs.load()
        predictions = clf.predict(corpus.vectors)
    _print_predictions(corpus, predictions, "score", as_json)


def _print_predictions(corpus: Any, predictions: list[Any], score: str, as_json: bool) -> None:
    """Each document's label and score (JSON: with its text); ``score`` names the column."""
    rows = [
        {"id": i, "label": p.label, "score": p.score, "text": t}
        for i, t, p in zip(corpus.ids, corpus.texts, predictions, strict=True)
    ]
    if as_json:
        print_json(rows)
        return
    table(
        ["id", "label", score, "text"],
        [[r["id"], r["label"], r["score"], _short(r["text"], 70)] for r in rows],
    )


def _print_evaluation(title: str, evaluation: Any) -> None:
    table(
        ["label", "precision", "recall", "F1", "support"],
        [
            [name, s["precision"], s["recall"], s["f1"], s["support"]]
            for name, s in evaluation.per_label.items()
        ],
        title=title,
    )
    out.print(
        f"accuracy {evaluation.accuracy:.4f}  macro-F1 {evaluation.macro_f1:.4f}  "
        f"({evaluation.n} examples)"
    )


@classify_app.command("eval")
def classify_eval(
    label_field: LabelFieldOpt,
    collection: CollectionOpt = None,
    input_path: InputOpt = None,
    test: Annotated[
        Path | None,
        typer.Option("--test", help="Test on this file (same fields) instead of a split."),
    ] = None,
    test_size: Annotated[
        float, typer.Option("--test-size", help="Share held out for testing (stratified).")
    ] = 0.5,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the split.")] = 0,
    text_field: TextFieldOpt = None,
    id_field: IdFieldOpt = None,
    where: WhereOpt = None,
    db: DbOpt = None,
    model: ModelOpt = None,
    dims: DimsOpt = None,
    method: MethodOpt = "logreg",
    k: KOpt = None,
    c: COpt = 1.0,
    as_json: JsonOpt = False,
) -> None:
    """Train on part of the labelled texts and report accuracy and macro-F1 on the rest."""
    from semkit.analysis.classify import evaluate_predictions, stratified_split, train_classifier

    source = Source.of(locals())
    with _documents(source) as docs:
        corpus, labels, _ = _labelled(docs, label_field)
        if test is not None:
            if docs.model is None:
                raise InputError("--test needs a model to embed the test file with")
            from semkit.analysis.classify import labelled

            test_corpus, test_labels, _ = labelled(
                replace(source, input_path=test).read_file(docs.model), label_field
            )
            train_x, train_y = corpus.vectors, labels
            test_x = test_corpus.vectors
        else:
            train_rows, test_rows = stratified_split(labels, test_size, seed)
            train_x, train_y = corpus.vectors[train_rows], [labels[i] for i in train_rows]
            test_x, test_labels = corpus.vectors[test_rows], [labels[i] for i in test_rows]
        clf = train_classifier(train_x, train_y, docs.space, method=method, k=k, C=c)
        evaluation = evaluate_predictions([p.label for p in clf.predict(test_x)], test_labels)
    result = {
        "method": method,
        "params": clf.params,
        "train": len(train_y),
        "test": evaluation.n,
        "split": None if test is not None else {"test_size": test_size, "seed": seed},
        "accuracy": evaluation.accuracy,
        "macro_f1": evaluation.macro_f1,
        "per_label": evaluation.per_label,
        "model": clf.space.model_id,
    }
    if as_json:
        print_json(result)
        return
    _knn_choice(clf.params)
    _print_evaluation(
        f"{method}: trained on {len(train_y)}, tested on {evaluation.n}"
        + (f" ({test})" if test is not None else f" (stratified split, seed {seed})"),
        evaluation,
    )


@classify_app.command("zero-shot")
def classify_zero_shot(
    texts: TextsArg = None,
    labels: Annotated[
        str | None,
        typer.Option("--labels", help='Label names, comma-separated: "World,Sports,Business".'),
    ] = None,
    labels_file: Annotated[
        Path | None,
        typer.Option(
            "--labels-file",
            help="Labels with descriptions: .txt ('label' or 'label: description' per line) "
            "or .json {label: description}.",
        ),
    ] = None,
    template: Annotated[
        str, typer.Option("--template", help="How a label is put in words; {label} is replaced.")
    ] = "This text is about {label}.",
    plain: Annotated[
        bool, typer.Option("--plain", help="Embed the bare label (or description), no template.")
    ] = False,
    label_field: Annotated[
        str | None,
        typer.Option(
            "--label-field",
            "-l",
            help="True labels: evaluate plain vs template (and query vs document) instead.",
        ),
    ] = None,
    collection: CollectionOpt = None,
    input_path: InputOpt = None,
    text_field: TextFieldOpt = None,
    id_field: IdFieldOpt = None,
    where: WhereOpt = None,
    db: DbOpt = None,
    model: ModelOpt = None,
    dims: DimsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Classify without training: each text gets the label whose embedding is most similar."""
    from semkit.analysis.classify import compare_zero_shot, read_label_file, zero_shot

    if (labels is None) == (labels_file is None):
        raise InputError('give --labels "A,B,C" or --labels-file FILE (one)')
    if labels is not None:
        names = [x.strip() for x in labels.split(",") if x.strip()]
        descriptions: dict[str, str] = {}
    else:
        assert labels_file is not None
        names, descriptions = read_label_file(labels_file)
    with _documents(Source.of(locals()), texts) as docs:
        if docs.model is None:
            raise InputError("zero-shot needs the collection's model to embed the labels")
        if label_field is not None:
            from semkit.analysis.classify import labelled

            corpus, truth, _ = labelled(docs.load(), label_field)
            unknown = sorted(set(truth) - set(names))
            if unknown:
                raise InputError(
                    f"true label(s) {', '.join(map(repr, unknown[:5]))} are not among the "
                    f"zero-shot labels {names}; the labels must be named as in --label-field"
                )
            results = compare_zero_shot(
                corpus.vectors,
                truth,
                names,
                docs.model,
                descriptions=descriptions,
                templates=(None, template),
            )
            rows = [
                {
                    "template": r.template,
                    "kind": r.kind,
                    "accuracy": r.evaluation.accuracy,
                    "macro_f1": r.evaluation.macro_f1,
                }
                for r in results
            ]
            if as_json:
                print_json({"labels": names, "n": len(truth), "results": rows})
                return
            table(
                ["labels embedded as", "kind", "accuracy", "macro-F1"],
                [
                    [r["template"] or "plain label", r["kind"], r["accuracy"], r["macro_f1"]]
                    for r in rows
                ],
                title=f"zero-shot on {len(truth)} labelled texts",
            )
            best = rows[0]
            out.print(f"best: {best['template'] or 'plain label'} ({best['kind']})")
            return
        zs = zero_shot(
            names, docs.model, descriptions=descriptions, template=None if plain else template
        )
        corpus = docs.load()
        predictions = zs.predict(corpus.vectors)
    _print_predictions(corpus, predictions, "cosine", as_json)


# --- similar --------------------------------------------------------------------------------


def _hit_json(h: Any) -> dict[str, Any]:
    return {"id": h.id, "score": h.score, "text": h.text, "metadata": h.metadata}


def similar(
    collection: CollArg,
    ids: Annotated[list[str], typer.Argument(help="Ids of documents you like.")],
    negative: Annotated[
        list[str] | None,
        typer.Option("--negative", "-n", help="Id of a document you do not like (repeatable)."),
    ] = None,
    k: Annotated[int, typer.Option("-k", "--top-k", min=1, help="How many results.")] = 10,
    where: WhereOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """More like these documents (and unlike --negative ones): recommendations from a collection."""
    with open_db(db) as database:
        coll = database.collection(collection, create=False)
        hits = coll.more_like_this(ids, negative_ids=negative, k=k, where=parse_where(where))
    if as_json:
        print_json([_hit_json(h) for h in hits])
        return
    print_hits(
        hits,
        title=f"like {', '.join(ids)}" + (f", unlike {', '.join(negative)}" if negative else ""),
        text_width=70,
        chunks=False,
    )


# --- context --------------------------------------------------------------------------------


def context(
    collection: CollArg,
    question: Annotated[str, typer.Argument(help="The question the context should answer.")],
    max_tokens: Annotated[
        int,
        typer.Option(
            "--max-tokens", "-t", min=1, help="Token budget, citations included (model tokenizer)."
        ),
    ],
    k: Annotated[int, typer.Option("-k", "--top-k", min=1, help="At most this many chunks.")] = 10,
    candidates: Annotated[
        int | None,
        typer.Option("--candidates", min=1, help="Search hits considered (default: max(3k, 20))."),
    ] = None,
    where: WhereOpt = None,
    mode: Annotated[str, typer.Option(help="dense, lexical (BM25) or hybrid.")] = "dense",
    fmt: Annotated[str, typer.Option("--format", "-f", help="text or json.")] = "text",
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The best chunks for a question within a token budget, each cited by id and offsets (RAG)."""
    from semkit.analysis.context import build_context

    if fmt not in ("text", "json"):
        raise InputError(f"unknown format {fmt!r}; use text or json")
    with open_db(db) as database:
        coll = database.collection(collection, create=False)
        ctx = build_context(
            coll,
            question,
            max_tokens,
            k=k,
            candidates=candidates,
            where=parse_where(where),
            mode=mode,
        )
    if as_json or fmt == "json":
        print_json(
            {
                "question": question,
                "max_tokens": ctx.max_tokens,
                "tokens": ctx.tokens,
                "context": ctx.text,
                "chunks": [
                    {
                        "id": c.id,
                        "start": c.start,
                        "end": c.end,
                        "citation": c.citation,
                        "score": c.score,
                        "rank": c.rank,
                        "text": c.text,
                    }
                    for c in ctx.chunks
                ],
                "candidates": ctx.candidates,
                "skipped": ctx.skipped,
                "note": ctx.note,
            }
        )
        return
    if ctx.note:
        sys.stderr.write(f"semkit: no context: {ctx.note}\n")
        return
    sys.stdout.write(ctx.text + "\n")  # exactly the counted text, for a prompt
    skipped = ", ".join(f"{n} {reason.replace('_', ' ')}" for reason, n in ctx.skipped.items())
    sys.stderr.write(
        f"semkit: {len(ctx.chunks)} chunks, {ctx.tokens}/{ctx.max_tokens} tokens"
        + (f"; skipped {skipped}" if skipped else "")
        + "\n"
    )


# --- map ------------------------------------------------------------------------------------


def _cluster_names(corpus: Any, k: int | None, seed: int) -> list[str]:
    """Each document's k-means cluster as "number: keywords" (see `semkit cluster`)."""
    from semkit.analysis.cluster import cluster

    clustering = cluster(corpus, "kmeans", k=k, seed=seed, show_progress_bar=progress_wanted())
    names = {c.label: f"{c.label}: {c.name}" for c in clustering.clusters}
    return [names[int(label)] for label in clustering.labels]


def map_cmd(
    outputs: Annotated[
        list[Path],
        typer.Option("--out", "-o", help="map.png and/or map.html (repeatable)."),
    ],
    collection: CollectionOpt = None,
    input_path: InputOpt = None,
    text_field: TextFieldOpt = None,
    id_field: IdFieldOpt = None,
    where: WhereOpt = None,
    db: DbOpt = None,
    model: ModelOpt = None,
    dims: DimsOpt = None,
    method: Annotated[str, typer.Option("--method", help="umap, tsne or pca.")] = "umap",
    color_by: Annotated[
        str | None,
        typer.Option("--color-by", help="Metadata field to colour by, or 'cluster' (k-means)."),
    ] = None,
    clusters: Annotated[
        int | None,
        typer.Option(
            "--clusters", min=2, help="k for --color-by cluster (default: best by silhouette)."
        ),
    ] = None,
    label_by: Annotated[
        str | None,
        typer.Option("--label-by", help="Field whose values label a few points (id, text, ...)."),
    ] = None,
    max_labels: Annotated[int, typer.Option("--max-labels", min=0)] = 20,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same map.")] = 0,
    title: Annotated[str | None, typer.Option("--title")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Draw the documents on a 2-D map (UMAP, t-SNE or PCA) as a PNG or interactive HTML."""
    from semkit.analysis.plot import FORMATS, draw_map
    from semkit.analysis.project import PROJECTIONS, project

    if method not in PROJECTIONS:
        raise InputError(f"unknown method {method!r}; use one of {', '.join(PROJECTIONS)}")
    for path in outputs:
        if path.suffix.lower() not in FORMATS:
            raise InputError(f"--out {path}: use a .png or .html file")
    require_extra("analysis", "semkit map")  # before embedding anything
    corpus = read_corpus(Source.of(locals()))
    groups = None
    if color_by == "cluster" and not any("cluster" in m for m in corpus.metadatas):
        groups = _cluster_names(corpus, clusters, seed)
    elif color_by is not None:
        corpus.field(color_by)  # a missing field fails before the slow part
    if label_by is not None:
        corpus.field(label_by)
    status = (
        err.status(f"projecting {len(corpus)} documents with {method}")
        if progress_wanted()
        else nullcontext()
    )
    with status:
        projection = project(corpus.vectors, method, seed=seed)
    written = [
        draw_map(
            corpus,
            projection,
            path,
            color_by=color_by,
            groups=groups,
            label_by=label_by,
            title=title,
            max_labels=max_labels,
        )
        for path in outputs
    ]
    if as_json:
        group_of: list[Any] = groups or (
            corpus.field(color_by) if color_by else [None] * len(corpus)
        )
        print_json(
            {
                "method": method,
                "seed": seed,
                "params": projection.params,
                "documents": len(corpus),
                "files": [str(p) for p in written],
                "points": [
                    {"id": i, "x": float(x), "y": float(y), "group": g}
                    for i, (x, y), g in zip(corpus.ids, projection.coords, group_of, strict=True)
                ],
            }
        )
        return
    for path in written:
        out.print(f"wrote {path} ({len(corpus)} documents, {method})")
