"""Embedding and ingest on a Ray cluster: ``embed_file`` and ``add_file``.

Ray Data reads the input in blocks (Parquet row groups, lines of JSON), tasks parse them
into records as the local path does, and an actor pool of semkit ``Embedder``s embeds
them. Results come back in input order (``preserve_order``): to one Parquet file written
by the driver (``embed_file``), or into a collection (``add_file``). On SQLite the driver
is the one writer; on PostgreSQL every worker writes its blocks itself.

What makes it safe to stop and restart: a collection skips documents it already holds
(content-hash ids), the embedding cache skips texts a node embedded before, and Ray
retries the blocks of a worker that died. A retried block is written once: the driver
consumes each output block once (SQLite), and a PostgreSQL worker's re-run finds the
documents it had committed unchanged.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from semkit.atomic import replace_into
from semkit.distributed import workers
from semkit.distributed.cluster import connect, semkit_errors
from semkit.errors import InputError
from semkit.search.ingest import WRITE_BATCH, WriteReport
from semkit.store.codec import content_hash

if TYPE_CHECKING:
    from semkit.search.collection import Collection

FORMATS = (".jsonl", ".parquet")


@dataclass(frozen=True, slots=True)
class RayOptions:
    """Where and how a job runs on Ray.

    ``address``: "auto" (the running cluster, as ``RAY_ADDRESS`` or ``ray start`` left it),
    "local" (start one on this machine), or ``host:port`` / ``ray://host:port``; a process
    already connected to Ray keeps its connection. ``workers`` embedding actors (default:
    one per ``cpus_per_worker`` CPUs of the cluster) take ``batch`` records at a time and
    embed them in model batches of ``batch_size``. ``cache``: the workers' embedding
    cache (True: each node's user cache; False; or a directory)."""

    address: str | None = "auto"
    workers: int | None = None
    cpus_per_worker: float = 1.0
    batch: int = WRITE_BATCH
    batch_size: int | None = None
    cache: str | bool = True

    @property
    def threads(self) -> int:
        return max(1, round(self.cpus_per_worker))

    def pool(self, ray: Any) -> dict[str, Any]:
        """``map_batches`` arguments of the embedding actor pool."""
        total = float(ray.cluster_resources().get("CPU", 1))
        n = self.workers or max(1, int(total // self.cpus_per_worker))
        if n * self.cpus_per_worker > total:
            raise InputError(
                f"{n} workers of {self.cpus_per_worker:g} CPUs need "
                f"{n * self.cpus_per_worker:g} CPUs; the Ray cluster has {total:g}"
            )
        return {
            "batch_size": self.batch,
            "batch_format": "pyarrow",
            "compute": ray.data.ActorPoolStrategy(size=n),
            "num_cpus": self.cpus_per_worker,
        }


@dataclass(frozen=True, slots=True)
class EmbedReport:
    """What ``embed_file`` did."""

    path: str
    rows: int
    dim: int
    embedded: int  # texts the workers' models embedded (the rest came from their caches)
    workers: int
    seconds: float


def input_files(path: str | Path) -> tuple[list[str], str]:
    """The files of ``path`` (a .jsonl/.parquet file, or a folder of them, in name order)
    and their format."""
    p = Path(path)
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in FORMATS)
        suffixes = {f.suffix.lower() for f in files}
        if len(suffixes) != 1:
            raise InputError(
                f"{p}: a folder read on Ray must hold .jsonl or .parquet files (one kind); "
                f"found {', '.join(sorted(suffixes)) or 'none'}"
            )
        return [str(f.resolve()) for f in files], suffixes.pop()[1:]
    if not p.exists():
        raise InputError(f"no such file: {p}")
    if p.suffix.lower() not in FORMATS:
        raise InputError(
            f"{p}: on Ray, semkit reads .jsonl and .parquet files (or folders of them); "
            f"convert '{p.suffix or p.name}' first, or run without --ray"
        )
    return [str(p.resolve())], p.suffix.lower()[1:]


def parsed_dataset(
    ray: Any, path: str | Path, text_field: str | None, id_field: str | None, batch: int
) -> Any:
    """Ray Data dataset of the input's records (``workers.PARSED`` columns), in order."""
    files, fmt = input_files(path)
    if fmt == "jsonl":
        ds = ray.data.read_text(files, num_cpus=0)
    else:
        ds = ray.data.read_parquet(files, num_cpus=0)
    parse = workers.ParseRecords(fmt, str(path), text_field, id_field)
    # Parsing is light: it takes no CPU slot, so it runs beside the embedding actors.
    return ds.map_batches(parse, batch_size=batch, batch_format="pyarrow", num_cpus=0)


def embed_file(
    input_path: str | Path,
    out: str | Path,
    *,
    model: str | None = None,
    dims: int | None = None,
    backend: str | None = None,
    kind: str = "document",
    text_field: str | None = None,
    id_field: str | None = None,
    options: RayOptions = RayOptions(),
    progress: Callable[[int], None] | None = None,
) -> EmbedReport:
    """Embed the records of a .jsonl/.parquet file (or folder of them) on Ray and write
    ``out`` (Parquet: ``id``, ``text``, ``embedding``), row for row as ``semkit embed``
    writes it locally. The model, ``dims`` and ``backend`` resolve as ``semkit.Embedder``
    resolves them, once, on this machine; ``progress(n)`` is called as rows come in."""
    import pyarrow.parquet as pq

    from semkit import config
    from semkit.embedding.embedder import KINDS, Embedder

    out = Path(out)
    if out.suffix.lower() != ".parquet":
        raise InputError(f"on Ray, vectors are written to a .parquet file, not '{out.suffix}'")
    if kind not in KINDS:
        raise InputError(f"kind must be one of {list(KINDS)}, got {kind!r}")
    input_files(input_path)  # refuse a wrong input before a model is looked at
    spec_model = str(config.value("model", model))
    backend_option: dict[str, Any] = {"backend": backend} if backend else {}
    local = Embedder(spec_model, dims=dims, cache=False, **backend_option)
    spec = workers.EmbedderSpec.of(local, spec_model, options.cache, options.threads)
    started = time.perf_counter()
    with semkit_errors():
        ray = connect(options.address)
        ds = parsed_dataset(ray, input_path, text_field, id_field, options.batch)
        pool = options.pool(ray)
        ds = ds.map_batches(
            workers.EmbedTexts,
            fn_constructor_kwargs={
                "spec": spec.as_dict(),
                "kind": kind,
                "batch_size": options.batch_size,
            },
            **pool,
        )
        counts = {"rows": 0, "embedded": 0}

        def write(tmp: Path) -> None:
            writer = None
            try:
                for block in ds.iter_batches(batch_format="pyarrow", batch_size=None):
                    counts["embedded"] += int(sum(block.column("embedded").to_pylist()))
                    table = block.drop_columns(["embedded"])
                    if writer is None:
                        writer = pq.ParquetWriter(tmp, table.schema)
                    writer.write_table(table)
                    counts["rows"] += table.num_rows
                    if progress is not None:
                        progress(table.num_rows)
            finally:
                if writer is not None:
                    writer.close()
            if counts["rows"] == 0:
                raise InputError(f"{input_path} holds no texts")

        replace_into(out, write)  # a failed run leaves no partial file
    return EmbedReport(
        str(out),
        counts["rows"],
        local.dim,
        counts["embedded"],
        pool["compute"].min_size,
        time.perf_counter() - started,
    )


def stored_digests(ds: Any, collection: Collection) -> np.ndarray:
    """``record_digest``s of the input's records that ``collection`` holds with the same
    text: what a resumed run need not embed (sorted, for ``np.isin``)."""
    store = collection._store
    found: list[int] = []
    for block in ds.iter_batches(batch_format="pyarrow", batch_size=WRITE_BATCH):
        texts = block.column("text").to_pylist()
        ids = workers.ids_of(block)
        existing = store.existing(ids)
        found += [
            workers.record_digest(i, t)
            for i, t in zip(ids, texts, strict=True)
            if i in existing and existing[i].content_hash == content_hash(t, "")
        ]
    return np.unique(np.array(found, dtype=np.uint64))


def add_file(
    collection: Collection,
    input_path: str | Path,
    *,
    text_field: str | None = None,
    id_field: str | None = None,
    replace: bool = True,
    options: RayOptions = RayOptions(),
    progress: Callable[[int], None] | None = None,
) -> WriteReport:
    """Add the records of a .jsonl/.parquet file (or folder of them) to ``collection``,
    embedded on Ray: the same documents, ids, chunks and vectors as
    ``collection.add_records(read_records(path))``. PostgreSQL: every worker writes its
    blocks; SQLite: workers embed, this process writes. Re-running after a failure embeds
    only the documents the collection does not hold yet."""
    if collection.embedder is None:
        raise InputError(
            f"collection {collection.name!r} holds vectors without a model; there is "
            f"nothing to embed on Ray"
        )
    input_files(input_path)
    spec = workers.EmbedderSpec.of(
        collection.embedder, collection.config.model or "", options.cache, options.threads
    )
    with semkit_errors():
        ray = connect(options.address)
        ds = parsed_dataset(ray, input_path, text_field, id_field, options.batch)
        common = options.pool(ray)
        if collection.db.backend_name == "postgresql":
            return _write_in_workers(collection, ds, spec, replace, common, progress)
        skip = stored_digests(ds, collection) if collection.count() else None
        out = ds.map_batches(
            workers.EmbedDocuments,
            fn_constructor_kwargs={
                "spec": spec.as_dict(),
                "config": collection.config.as_dict(),
                "name": collection.name,
                "skip": skip,
                "batch_size": options.batch_size,
            },
            **common,
        )
        reports = []
        for block in out.iter_batches(batch_format="pyarrow", batch_size=None):
            prepared, embedded = workers.prepared_of(block, collection.dim)
            report = collection.add_records(
                workers.records_of(block),
                replace=replace,
                batch=max(block.num_rows, 1),
                prepared=prepared,
            )
            reports.append(dataclasses.replace(report, embedded=report.embedded + embedded))
            if progress is not None:
                progress(block.num_rows)
        return WriteReport.total(reports)


def _write_in_workers(
    collection: Collection,
    ds: Any,
    spec: workers.EmbedderSpec,
    replace: bool,
    common: dict[str, Any],
    progress: Callable[[int], None] | None,
) -> WriteReport:
    out = ds.map_batches(
        workers.WriteCollection,
        fn_constructor_kwargs={
            "spec": spec.as_dict(),
            "url": cast(Any, collection.db.backend).url,
            "name": collection.name,
            "replace": replace,
        },
        **common,
    )
    reports = []
    for block in out.iter_batches(batch_format="pyarrow", batch_size=None):
        report = workers.report_of(block)
        reports.append(report)
        if progress is not None:
            progress(len(report.ids))
    return WriteReport.total(reports)
