"""Producing a run: queries in, ``{qid: {doc_id: score}}`` out.

This is the half of retrieval evaluation that a search backend replaces; the metrics in
``semkit.evaluate.metrics`` only ever see the run. ``SearchFunction`` is the contract;
``dense_exact_run`` is the reference backend: exact (brute-force) similarity over the
whole corpus, computed in blocks so memory stays bounded for large corpora.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from semkit import similarity
from semkit.embedding.embedder import Embedder
from semkit.errors import InputError
from semkit.evaluate.datasets import BeirDataset
from semkit.evaluate.metrics import Run
from semkit.similarity import Metric

# (embedder, dataset, top_k) -> run holding at most top_k documents per dataset query.
SearchFunction = Callable[[Embedder, BeirDataset, int], Run]

QUERY_BLOCK = 256
CORPUS_BLOCK = 50_000


def _check_nonblank(ids: list[str], texts: list[str], what: str) -> None:
    for i, t in zip(ids, texts, strict=True):
        if not t.strip():
            raise InputError(
                f"{what} {i!r} has no text; semkit does not embed empty text "
                f"(remove it from the dataset or give it content)"
            )


def dense_exact_run(
    embedder: Embedder,
    dataset: BeirDataset,
    top_k: int = 1000,
    batch_size: int | None = None,
    *,
    metric: Metric = "cosine",
    query_block: int = QUERY_BLOCK,
    corpus_block: int = CORPUS_BLOCK,
    show_progress_bar: bool | None = None,
) -> dict[str, dict[str, float]]:
    """Exact top-``top_k`` documents per query by ``metric``, as MTEB's exact search does.

    Documents are embedded as ``(title + " " + text).strip()`` with ``kind="document"``,
    queries with ``kind="query"``. The corpus is embedded and scored ``corpus_block``
    documents at a time against ``query_block`` queries at a time, keeping a running
    top-k, so memory is O(corpus_block x dim + query_block x corpus_block + queries x top_k).
    Scores are Python floats, documents inserted best first, ties in corpus order (but
    which of several documents tied at the k-th place is kept is up to
    ``semkit.similarity.top_k``). Blocking can change scores by float32 rounding.
    """
    if top_k < 1:
        raise InputError(f"top_k must be at least 1, got {top_k}")
    if query_block < 1 or corpus_block < 1:
        raise InputError("query_block and corpus_block must be positive")
    qids = list(dataset.queries)
    query_texts = [dataset.queries[q] for q in qids]
    doc_ids, doc_texts = dataset.documents()
    _check_nonblank(qids, query_texts, "query")
    _check_nonblank(doc_ids, doc_texts, "document")
    if not qids:
        return {}

    queries = embedder.encode(
        query_texts, kind="query", batch_size=batch_size, show_progress_bar=show_progress_bar
    )
    k = min(top_k, len(doc_ids))
    best_idx = np.zeros((len(qids), 0), dtype=np.int64)
    best_scores = np.zeros((len(qids), 0), dtype=np.float32)
    for start in range(0, len(doc_ids), corpus_block):
        docs = embedder.encode(
            doc_texts[start : start + corpus_block],
            kind="document",
            batch_size=batch_size,
            show_progress_bar=show_progress_bar,
        )
        idx_parts, score_parts = [], []
        for q0 in range(0, len(qids), query_block):
            idx, scores = similarity.top_k(queries[q0 : q0 + query_block], docs, k=k, metric=metric)
            idx_parts.append(idx + start)
            score_parts.append(scores)
        # Running best come first: with ties, earlier corpus positions stay ahead.
        cand_idx = np.concatenate([best_idx, np.concatenate(idx_parts)], axis=1)
        cand_scores = np.concatenate([best_scores, np.concatenate(score_parts)], axis=1)
        pos, best_scores = similarity.top_k_of_scores(cand_scores, k)
        best_idx = np.take_along_axis(cand_idx, pos, axis=1)

    return {
        qid: {doc_ids[i]: float(s) for i, s in zip(row_idx, row_scores, strict=True)}
        for qid, row_idx, row_scores in zip(
            qids, best_idx.tolist(), best_scores.tolist(), strict=True
        )
    }


__all__ = ["CORPUS_BLOCK", "QUERY_BLOCK", "SearchFunction", "dense_exact_run"]
