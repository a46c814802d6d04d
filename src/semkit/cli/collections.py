"""Collection commands: add, search, get, delete, list, info, index rebuild, verify, compact,
reindex, copy."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from semkit.cli.common import (
    DimsOpt,
    JsonOpt,
    RayCpusOpt,
    RayOpt,
    RayWorkersOpt,
    err,
    out,
    print_json,
    progress_wanted,
    table,
)
from semkit.config import describe
from semkit.errors import InputError

DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        help=(
            "Database: a directory (SQLite) or a postgresql://user@host/dbname URL. "
            f"Default: {describe('db')}."
        ),
    ),
]
WhereOpt = Annotated[
    str | None,
    typer.Option(
        "--where",
        "-w",
        help=('Metadata filter as JSON, Mongo-style: \'{"year": {"$gte": 2020}, "lang": "en"}\'.'),
    ),
]
CollArg = Annotated[str, typer.Argument(help="Collection name.")]

index_app = typer.Typer(help="Manage a collection's vector index.", no_args_is_help=True)


def open_db(db: str | Path | None, create: bool = False) -> Any:
    """The database of ``--db``; only commands that add documents create one."""
    import semkit
    from semkit import config

    return semkit.open(str(config.value("db", db)), create=create)


def parse_where(where: str | None) -> dict[str, Any] | None:
    if where is None:
        return None
    try:
        value = json.loads(where)
    except json.JSONDecodeError as exc:
        raise InputError(f"--where is not valid JSON: {exc.msg} at position {exc.pos}") from exc
    if not isinstance(value, dict):
        raise InputError("--where must be a JSON object")
    return value


def _existing(database: Any, name: str) -> Any:
    return database.collection(name, create=False)


@contextmanager
def _progress(verb: str, description: str, total: int | None) -> Iterator[tuple[Any, Any]]:
    """A progress bar on stderr (on a terminal): ``(progress, task)``."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(
        TextColumn(f"{verb} {{task.description}}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=not progress_wanted(),
        transient=True,
    )
    with progress:
        yield progress, progress.add_task(description, total=total)


def _short(text: str | None, width: int = 90) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[: width - 1] + "…"


def add(
    collection: CollArg,
    paths: Annotated[
        list[Path],
        typer.Argument(
            help=(
                "Files of records (.jsonl .csv .tsv .parquet; .txt: one text per line), "
                "documents (.pdf .docx .html .md) or folders of documents (synced: "
                "new, changed and deleted files)."
            )
        ),
    ],
    field: Annotated[
        str | None, typer.Option("--field", help="Text field (default: text).")
    ] = None,
    id_field: Annotated[
        str | None,
        typer.Option(
            "--id-field",
            help=("Id field (default: id if present, else an id derived from the text)."),
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help=(
                f"Model for a new collection (default: {describe('model')}); an existing one "
                f"keeps its own."
            ),
        ),
    ] = None,
    dims: DimsOpt = None,
    metric: Annotated[
        str | None, typer.Option(help="cosine, dot or euclidean (new collections).")
    ] = None,
    index: Annotated[str | None, typer.Option(help="auto, exact or hnsw.")] = None,
    truncate: Annotated[
        bool,
        typer.Option(
            "--truncate",
            help=("New collections: cut long documents at the model's limit instead of chunking."),
        ),
    ] = False,
    db: DbOpt = None,
    ray: RayOpt = None,
    ray_workers: RayWorkersOpt = None,
    ray_cpus: RayCpusOpt = 1.0,
    as_json: JsonOpt = False,
) -> None:
    """Add records and documents from files and folders; re-running embeds only what is new
    or changed (resumable) and syncs folders. Exit code 1 if a document could not be read.
    With --ray, .jsonl/.parquet records are embedded on a Ray cluster."""
    from semkit.cli.documents import add_files, is_document_input, summary_line
    from semkit.text.io import read_records

    documents = [p for p in paths if is_document_input(p)]
    if ray is not None and documents:
        raise InputError(
            f"--ray adds .jsonl and .parquet records; add documents such as {documents[0]} "
            f"without --ray"
        )

    def records_of(path: Path, progress: Callable[[int], None]) -> Any:
        if ray is None:
            return coll.add_records(read_records(path, field, id_field), progress=progress)
        from semkit.distributed import RayOptions, add_file

        return add_file(
            coll,
            path,
            text_field=field,
            id_field=id_field,
            options=RayOptions(address=ray, workers=ray_workers, cpus_per_worker=ray_cpus),
            progress=progress,
        )

    options: dict[str, Any] = {}
    if model is not None:
        options["model"] = model
    if dims is not None:
        options["dims"] = dims
    if metric is not None:
        options["metric"] = metric
    with open_db(db, create=True) as database:
        coll = database.collection(
            collection, index=index, chunking={"truncate": True} if truncate else None, **options
        )
        try:
            with _progress("adding to", collection, None) as (progress, task):
                reports = [
                    records_of(path, lambda n: progress.advance(task, n))
                    for path in paths
                    if path not in documents
                ]
                files = add_files(coll, documents, progress, task) if documents else None
            coll.flush()
        except KeyboardInterrupt:
            err.print(
                f"interrupted: committed batches are kept; re-run the same command to "
                f"add the rest ({coll.count()} documents in {collection} now)"
            )
            raise
        summary = {
            "collection": collection,
            "documents": coll.count(),
            "written": sum(r.written for r in reports),
            "unchanged": sum(r.unchanged for r in reports),
            "metadata_only": sum(r.metadata_only for r in reports),
            "embedded": sum(r.embedded for r in reports),
        }
        if files is not None:
            summary["files"] = files.as_dict()
            summary["embedded"] += files.embedded
    if as_json:
        print_json(summary)
    elif files is not None:
        out.print(
            f"{collection}: {summary_line(summary['files'])}; {summary['embedded']} texts "
            f"embedded; {summary['documents']} documents in all"
        )
    else:
        out.print(
            f"{collection}: {summary['written']} written, {summary['unchanged']} unchanged, "
            f"{summary['metadata_only']} metadata updates, {summary['embedded']} texts "
            f"embedded; {summary['documents']} documents in all"
        )
    if files is not None and files.failed:
        raise typer.Exit(1)


def search(
    collection: CollArg,
    query: Annotated[str, typer.Argument(help="What to search for.")],
    k: Annotated[int, typer.Option("-k", "--top-k", min=1, help="How many results.")] = 10,
    where: WhereOpt = None,
    mode: Annotated[str, typer.Option(help="dense, lexical (BM25) or hybrid.")] = "dense",
    exact: Annotated[bool, typer.Option("--exact", help="Exact search, bypassing HNSW.")] = False,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Search a collection by meaning (dense), by keywords (lexical), or both (hybrid)."""
    from semkit.cli.documents import hit_pages

    with open_db(db) as database:
        hits = _existing(database, collection).search(
            query,
            k=k,
            where=parse_where(where),
            mode=mode,
            exact=exact,
        )
    if as_json:
        print_json(
            [
                {
                    "id": h.id,
                    "score": h.score,
                    "text": h.text,
                    "metadata": h.metadata,
                    "chunk": None
                    if h.chunk is None
                    else {
                        "text": h.chunk.text,
                        "start": h.chunk.start,
                        "end": h.chunk.end,
                        "index": h.chunk.index,
                        "pages": hit_pages(h),
                    },
                }
                for h in hits
            ]
        )
        return
    print_hits(hits)


def print_hits(
    hits: list[Any], title: str | None = None, text_width: int = 90, chunks: bool = True
) -> None:
    """Hits as a table, best first (or "no results"): the matching chunk's text when
    ``chunks`` and the hit has one (with its pages, for a PDF), else the document's."""
    from semkit.cli.documents import hit_pages, page_label, shown_metadata

    if not hits:
        out.print("no results")
        return
    table(
        ["#", "score", "id", "text", "metadata"],
        [
            [
                i + 1,
                h.score,
                h.id,
                page_label(hit_pages(h) if chunks else None)
                + _short(h.chunk.text if chunks and h.chunk else h.text, text_width),
                _short(json.dumps(shown_metadata(h.metadata), ensure_ascii=False), 40),
            ]
            for i, h in enumerate(hits)
        ],
        title=title,
    )


def get(
    collection: CollArg,
    ids: Annotated[list[str] | None, typer.Argument(help="Document ids (default: all).")] = None,
    where: WhereOpt = None,
    limit: Annotated[int | None, typer.Option(min=0, help="At most this many.")] = 20,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show documents by id or filter."""
    with open_db(db) as database:
        docs = _existing(database, collection).get(
            ids=ids or None, where=parse_where(where), limit=limit, offset=offset
        )
    if as_json:
        print_json([{"id": d.id, "text": d.text, "metadata": d.metadata} for d in docs])
        return
    table(
        ["id", "text", "metadata"],
        [
            [d.id, _short(d.text), _short(json.dumps(d.metadata, ensure_ascii=False), 50)]
            for d in docs
        ],
    )


def delete(
    collection: CollArg,
    ids: Annotated[list[str] | None, typer.Argument(help="Document ids.")] = None,
    where: WhereOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Delete documents by id and/or filter."""
    with open_db(db) as database:
        n = _existing(database, collection).delete(ids=ids or None, where=parse_where(where))
    if as_json:
        print_json({"deleted": n})
    else:
        out.print(f"deleted {n} documents")


def list_collections(db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """The collections of a database."""
    with open_db(db) as database:
        rows = []
        for name in database.collections():
            info = database.collection(name).info()
            rows.append(
                {k: info[k] for k in ("name", "documents", "model_id", "dim", "metric", "index")}
            )
    if as_json:
        print_json(rows)
    elif not rows:
        out.print("no collections")
    else:
        table(
            ["collection", "documents", "model", "dim", "metric", "index"],
            [list(r.values()) for r in rows],
        )


def info(collection: CollArg, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Count, model, dimension, index and disk size of a collection."""
    with open_db(db) as database:
        data = _existing(database, collection).info()
        data["database"] = database.location
        data["database_bytes"] = database.size_bytes()
    if as_json:
        print_json(data)
        return
    table(
        ["property", "value"],
        [[k, json.dumps(v) if isinstance(v, dict) else v] for k, v in data.items()],
    )


@index_app.command("rebuild")
def index_rebuild(collection: CollArg, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Rebuild the vector index from the store (it is derived state)."""
    with open_db(db) as database:
        rebuilt = _existing(database, collection).rebuild_index()
        result = {
            "collection": collection,
            "index": rebuilt["index_kind"],
            "vectors": rebuilt["vectors"],
        }
    if as_json:
        print_json(result)
    else:
        out.print(
            f"rebuilt the {result['index']} index of {collection}: {result['vectors']} vectors"
        )


def verify(
    collection: Annotated[str | None, typer.Argument(help="Only this collection.")] = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Check store, vector index and lexical index agree; exit 1 if they do not."""
    with open_db(db) as database:
        report = database.verify()
    if collection is not None:
        report = {k: v for k, v in report.items() if k in ("database", collection)}
    if as_json:
        print_json(report)
    else:
        for name, problems in report.items():
            out.print(f"{name}: {'ok' if not problems else '; '.join(problems)}")
    if any(report.values()):
        sys.exit(1)


def compact(db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Reclaim disk after deletes: rebuild indexes without tombstones, VACUUM the store."""
    with open_db(db) as database:
        before = database.size_bytes()
        database.compact()
        after = database.size_bytes()
    if as_json:
        print_json({"bytes_before": before, "bytes_after": after})
    else:
        out.print(f"{before / 1e6:.1f} MB -> {after / 1e6:.1f} MB")


def reindex(
    collection: CollArg,
    model: Annotated[str, typer.Option("--model", "-m", help="The new model.")],
    dims: DimsOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Re-embed every document of a collection with another model, then switch to it."""
    with open_db(db) as database:
        report = _existing(database, collection).reindex(
            model, dims=dims, show_progress_bar=progress_wanted()
        )
        coll = database.collection(collection)
        result = {
            "collection": collection,
            "documents": coll.count(),
            "model_id": coll.info()["model_id"],
            "embedded": report.embedded,
        }
    if as_json:
        print_json(result)
    else:
        out.print(
            f"{collection} now uses {result['model_id']} ({result['documents']} documents, "
            f"{result['embedded']} texts embedded)"
        )


def copy(
    source: Annotated[str, typer.Argument(help="Database to copy from: a directory or a URL.")],
    target: Annotated[
        str, typer.Argument(help="Database to copy to (created if needed): a directory or a URL.")
    ],
    names: Annotated[
        list[str] | None,
        typer.Option("--collection", "-c", help="Only this collection (repeat for several)."),
    ] = None,
    rename: Annotated[
        str | None, typer.Option("--as", help="Name of the copy (one collection only).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Copy collections between databases and backends (SQLite <-> PostgreSQL) without
    re-embedding; verified by equal counts and equal exact search results. Re-run an
    interrupted copy to finish it."""
    from semkit.search.copy import copy_collection

    with open_db(source) as src:
        chosen = names or src.collections()
        if not chosen:
            raise InputError(f"{src.location} holds no collections")
        if rename is not None and len(chosen) != 1:
            raise InputError("--as renames one collection; give exactly one --collection")
        with open_db(target, create=True) as dst:
            reports = []
            for name in chosen:
                coll = _existing(src, name)
                with _progress("copying", name, coll.count()) as (progress, task):
                    reports.append(
                        copy_collection(
                            coll, dst, rename, progress=lambda n: progress.advance(task, n)
                        )
                    )
    if as_json:
        print_json([r.as_dict() for r in reports])
    else:
        for r in reports:
            state = "verified" if r.verified else "NOT verified: " + "; ".join(r.problems)
            out.print(
                f"{r.collection}: {r.copied} documents copied, {r.skipped} already there; "
                f"{r.documents} documents, {r.vectors} vectors in {r.target} ({state}, "
                f"{r.seconds:.1f}s)"
            )
    if not all(r.verified for r in reports):
        sys.exit(1)
