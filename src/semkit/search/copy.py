"""Copying a collection between databases (and backends) without embedding anything.

Documents travel with their metadata, content hashes, chunk spans and vectors; the
target records the same model fingerprint, dimension and metric, so it can be
searched and added to at once, and an upsert of unchanged text stays a no-op. The
target's own indexes are built from the copied vectors. A copy that was interrupted
can be run again: documents already in the target with the same content are skipped.
It is verified by equal document and vector counts and equal exact search results.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from semkit.errors import InputError
from semkit.search.collection import Collection
from semkit.search.database import Database

VERIFY_QUERIES = 20
VERIFY_K = 10


@dataclass(frozen=True, slots=True)
class CopyReport:
    source: str
    target: str
    collection: str
    copied: int  # documents written to the target
    skipped: int  # documents already in the target with the same content
    documents: int  # documents in the target afterwards
    vectors: int
    seconds: float
    verified: bool  # equal counts and equal exact top-k for sampled documents
    problems: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def copy_collection(
    source: Collection,
    target: Database,
    name: str | None = None,
    *,
    batch: int = 1000,
    verify: bool = True,
    progress: Any = None,
) -> CopyReport:
    """Copy ``source`` into ``target`` as ``name`` (default: the same name)."""
    name = name or source.name
    t0 = time.perf_counter()
    existing = name in target.collections()
    if existing:
        dest = target.collection(name)
        mismatch = [
            field
            for field in ("model_id", "fingerprint", "dim", "dims", "metric", "normalize")
            if getattr(dest.config, field) != getattr(source.config, field)
        ]
        if mismatch:
            raise InputError(
                f"collection {name!r} already exists in {target.location} with another "
                f"{'/'.join(mismatch)}; copy under another name (--as)"
            )
    else:
        dest = target.create_like(name, source.config)
    copied = skipped = 0
    for docs, vectors in source.export(batch):
        written = dest.add_exported(docs, vectors)
        copied += written
        skipped += len(docs) - written
        if progress is not None:
            progress(len(docs))
    dest.flush()
    problems = _compare(source, dest) if verify else []
    return CopyReport(
        source=source.db.location,
        target=target.location,
        collection=name,
        copied=copied,
        skipped=skipped,
        documents=dest.count(),
        vectors=dest.info()["vectors"],
        seconds=round(time.perf_counter() - t0, 2),
        verified=verify and not problems,
        problems=tuple(problems),
    )


def _compare(source: Collection, dest: Collection) -> list[str]:
    """Counts, then the exact top-k of sampled documents' own vectors, on both sides."""
    problems = []
    a, b = source.info(), dest.info()
    for key in ("documents", "vectors"):
        if a[key] != b[key]:
            problems.append(f"{key}: {a[key]} in the source, {b[key]} in the copy")
    docs = source.get(limit=VERIFY_QUERIES * 50)
    if not docs or problems:
        return problems
    rng = np.random.default_rng(0)
    picked = rng.choice(len(docs), size=min(VERIFY_QUERIES, len(docs)), replace=False)
    queries = source.document_vectors([docs[i].id for i in picked])
    want = source.search_batch(queries, k=VERIFY_K, exact=True, include=())
    got = dest.search_batch(queries, k=VERIFY_K, exact=True, include=())
    tolerance = 1e-2 if dest.config.vector_type == "halfvec" else 1e-5
    if not all(_same_ranking(w, g, tolerance) for w, g in zip(want, got, strict=True)):
        problems.append("exact search results differ between the source and the copy")
    return problems


def _same_ranking(want: list[Any], got: list[Any], tolerance: float) -> bool:
    """The same scores, and the same documents wherever scores do not tie (backends order
    tied documents differently; float16 vectors move scores by up to ~1e-3)."""
    if len(want) != len(got):
        return False
    if not np.allclose([h.score for h in want], [h.score for h in got], atol=tolerance):
        return False
    last = want[-1].score if want else 0.0
    return {h.id for h in want if h.score > last + tolerance} <= {h.id for h in got}
