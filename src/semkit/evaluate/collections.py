"""Evaluation through the product path: build a semkit collection, search it, score it.

``evaluate_beir`` adds a BEIR corpus to a collection with the same ``add`` users
call (documents as ``(title + " " + text).strip()``, MTEB's text), runs the queries
through ``Collection.search`` in each mode, and scores the runs with the metrics in
``semkit.evaluate.metrics``. One collection is built per (dims, truncate) setting and
every mode is searched on it, so a grid costs one embedding pass per setting.
``ann_recall`` measures an HNSW index against exact search on the same collection.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np

from semkit import config as settings
from semkit.errors import InputError
from semkit.evaluate.datasets import BeirDataset, document_text, load_beir
from semkit.evaluate.metrics import K_VALUES, Run, retrieval_scores
from semkit.search.collection import MODES, Collection
from semkit.search.database import Database
from semkit.search.hits import Mode
from semkit.text.io import Record

HYBRID_WEIGHTS = (1.0, 1.0)  # (dense, lexical) in reciprocal rank fusion
QUERY_BATCH = 64


@dataclass
class RetrievalResult:
    """Scores of one (dims, truncate, mode) cell with the configuration that produced them."""

    scores: dict[str, float]
    config: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"scores": self.scores, "config": self.config, "timings": self.timings}


def build_collection(
    db: Database,
    dataset: BeirDataset,
    *,
    name: str = "beir",
    model: str | None = None,
    dims: int | None = None,
    truncate: bool = False,
    index: str = "exact",
    progress: Any = None,
) -> Collection:
    """The dataset's corpus in a collection, added through ``Collection.add_records``."""
    coll = db.collection(
        name,
        model=settings.value("model", model),
        dims=dims,
        index=index,
        chunking={"truncate": truncate},
    )
    records = (
        Record(document_text(doc), doc_id)
        for doc_id, doc in dataset.corpus.items()
        if document_text(doc)
    )
    coll.add_records(records, progress=progress)
    coll.flush()
    return coll


def collection_run(
    coll: Collection,
    dataset: BeirDataset,
    mode: str,
    top_k: int,
    *,
    exact: bool = False,
    weights: tuple[float, float] = HYBRID_WEIGHTS,
    rrf_k: int = 60,
) -> Run:
    """``{qid: {doc_id: score}}`` from ``Collection.search`` for every dataset query."""
    if mode not in MODES:
        raise InputError(f"unknown mode {mode!r}; use one of {list(MODES)}")
    qids = list(dataset.queries)
    run: dict[str, dict[str, float]] = {}
    for start in range(0, len(qids), QUERY_BATCH):
        batch = qids[start : start + QUERY_BATCH]
        texts = [dataset.queries[q] for q in batch]
        hits = coll.search_batch(
            texts,
            k=top_k,
            mode=cast("Mode", mode),  # checked against MODES above
            exact=exact,
            weights=weights,
            rrf_k=rrf_k,
        )
        for qid, found in zip(batch, hits, strict=True):
            run[qid] = {h.id: h.score for h in found}
    return run


def evaluate_beir(
    path: str | Path,
    split: str = "test",
    *,
    model: str | None = None,
    modes: Sequence[str] = ("dense",),
    dims: Sequence[int | None] = (None,),
    truncate: Sequence[bool] = (False,),
    index: str = "exact",
    k_values: Sequence[int] = K_VALUES,
    db_path: str | Path | None = None,
    weights: tuple[float, float] = HYBRID_WEIGHTS,
    rrf_k: int = 60,
    progress: Any = None,
    backend: str | None = None,
    cache: bool | str | Path = True,
) -> list[RetrievalResult]:
    """Scores for every (dims, truncate, mode) combination on a BEIR dataset.

    ``cache=False`` embeds everything afresh (to measure an inference path itself)."""
    dataset = load_beir(path, split)
    top_k = max(k_values)
    results = []
    with (
        tempfile.TemporaryDirectory(prefix="semkit-eval-") as tmp,
        Database(db_path or tmp, backend=backend, cache=cache) as db,
    ):
        for d in dims:
            for cut in truncate:
                name = f"beir-{Path(path).name}-{d or 'full'}-{'trunc' if cut else 'chunk'}"
                t0 = time.perf_counter()
                coll = build_collection(
                    db,
                    dataset,
                    name=name.replace("_", "-"),
                    model=model,
                    dims=d,
                    truncate=cut,
                    index=index,
                    progress=progress,
                )
                build_s = time.perf_counter() - t0
                info = coll.info()
                for mode in modes:
                    t1 = time.perf_counter()
                    run = collection_run(coll, dataset, mode, top_k, weights=weights, rrf_k=rrf_k)
                    search_s = time.perf_counter() - t1
                    config = {
                        "dataset": str(path),
                        "split": split,
                        "queries": len(run),
                        "documents": info["documents"],
                        "vectors": info["vectors"],
                        "model": info["model_id"],
                        "fingerprint": info["fingerprint"],
                        "dims": d or info["dim"],
                        "mode": mode,
                        "index": index,
                        "chunking": "truncate" if cut else "chunk",
                        "backend": coll.embedder.provider.describe().get("backend", "")
                        if coll.embedder
                        else "",
                    }
                    if mode == "hybrid":
                        config["fusion"] = {
                            "method": "weighted RRF",
                            "k": rrf_k,
                            "weights": {"dense": weights[0], "lexical": weights[1]},
                        }
                    results.append(
                        RetrievalResult(
                            retrieval_scores(run, dataset.qrels, k_values),
                            config,
                            {"build_s": round(build_s, 2), "search_s": round(search_s, 2)},
                        )
                    )
    return results


def ann_recall(
    coll: Collection,
    queries: Sequence[str] | np.ndarray | None = None,
    k: int = 10,
    sample: int = 200,
    seed: int = 0,
) -> dict[str, Any]:
    """Recall@k of the collection's HNSW index against exact search on the same queries.

    Without ``queries``, ``sample`` stored documents serve as queries (their own
    text: each finds itself in both searches, which is fair to both).
    """
    if queries is None:
        docs = coll.get()
        if not docs:
            raise InputError(f"collection {coll.name!r} is empty")
        rng = np.random.default_rng(seed)
        picked = rng.choice(len(docs), size=min(sample, len(docs)), replace=False)
        if coll.embedder is None:  # a vector-only collection: stored vectors as queries
            queries = coll.document_vectors([docs[i].id for i in picked])
        else:
            queries = [docs[i].text or "" for i in picked]
    if isinstance(queries, np.ndarray) and queries.ndim == 1:
        queries = queries[None, :]
    t0 = time.perf_counter()
    approx = coll.search_batch(queries, k=k)
    approx_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    exact = coll.search_batch(queries, k=k, exact=True)
    exact_s = time.perf_counter() - t0
    per_query = [
        len({h.id for h in a} & {h.id for h in e}) / max(len(e), 1)
        for a, e in zip(approx, exact, strict=True)
    ]
    return {
        "collection": coll.name,
        "index": coll.info()["index_kind"],
        "k": k,
        "queries": len(per_query),
        f"recall_at_{k}": float(np.mean(per_query)),
        "min_recall": float(np.min(per_query)),
        "approx_s": approx_s,
        "exact_s": exact_s,
    }
