"""Hard-negative mining through a semkit collection.

For each anchor, the corpus is searched (exactly) with the base model and the
best-ranked documents that are *not* positives become its negatives. Two guards
against false negatives (relevant documents nobody judged):

- ``skip_top``: the first ``skip_top`` ranks are never taken;
- ``margin``: a candidate scoring above ``(lowest positive score) - margin`` is
  dropped (too close to a positive to trust as a negative; NV-Retriever's
  positive-aware mining). ``margin=None`` turns it off.

A candidate is a positive when its id is one of the anchor's positive ids (BEIR) or
its text equals one of the anchor's positive texts (any source). Anchors that end up
with fewer than ``negatives_per_anchor`` candidates keep no negative (they are often the
hardest queries: the base model ranks their positive low); MNRL still trains on them
with in-batch negatives, ``TripletLoss`` leaves them out.
"""

from __future__ import annotations

import tempfile
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from semkit import config
from semkit.embedding.embedder import Embedder, TruncationWarning
from semkit.errors import InputError, ModelError
from semkit.search.collection import Collection
from semkit.search.database import Database
from semkit.similarity import score
from semkit.text.io import Record
from semkit.train.data import Example, TrainingData, normalize_text

Corpus = Collection | Mapping[str, str] | Sequence[str] | None
SEARCH_BATCH = 64


@dataclass(frozen=True)
class MiningReport:
    """What mining did: how many anchors got negatives and why candidates were passed over."""

    anchors: int
    kept_anchors: int  # anchors that got negatives_per_anchor negatives
    without_negatives: int  # fewer usable candidates than that within ``depth``
    negatives_per_anchor: int
    depth: int
    skip_top: int
    margin: float | None
    skipped_top: int
    skipped_positives: int
    skipped_margin: int
    collection: str
    documents: int
    model: str
    fingerprint: str
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _corpus_records(data: TrainingData, corpus: Mapping[str, str] | Sequence[str] | None) -> Any:
    if corpus is None:  # the training file's own documents
        texts = [ex.positive for ex in data.examples] + [
            n for ex in data.examples for n in ex.negatives
        ]
        return (Record(t) for t in dict.fromkeys(texts))
    if isinstance(corpus, Mapping):
        return (Record(text, str(doc_id)) for doc_id, text in corpus.items() if text.strip())
    if isinstance(corpus, str):
        raise InputError("corpus must be a collection, a mapping id -> text, or a list of texts")
    return (Record(t) for t in dict.fromkeys(corpus) if t.strip())


def mine_hard_negatives(
    data: TrainingData,
    corpus: Corpus = None,
    *,
    model: str | Embedder | None = None,
    negatives_per_anchor: int = 1,
    skip_top: int = 0,
    margin: float | None = 0.05,
    depth: int = 200,
    db_path: str | Path | None = None,
    collection: str = "finetune-corpus",
    backend: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[TrainingData, MiningReport]:
    """``data`` with ``negatives_per_anchor`` mined negatives on every example.

    ``corpus``: an existing ``Collection`` (searched as it is, with its own model), a
    mapping ``{doc_id: text}``, a list of texts, or None (the positives of ``data``).
    Otherwise a collection of it is built with ``model`` (a spec or an ``Embedder``;
    documents cut at the model's
    limit, as training sees them) in ``db_path`` (reused when it exists) or a temporary
    database. ``depth``: how many ranks are searched per anchor.
    """
    if negatives_per_anchor < 1:
        raise InputError(f"negatives_per_anchor must be >= 1, got {negatives_per_anchor}")
    if skip_top < 0:
        raise InputError(f"skip_top must be >= 0, got {skip_top}")
    if data.negatives_per_example:
        raise InputError(
            f"the training data already has {data.negatives_per_example} negative(s) per "
            f"example; mine negatives for pairs only (drop the negative columns first)"
        )
    depth = max(depth, skip_top + negatives_per_anchor)
    t0 = time.perf_counter()
    if isinstance(corpus, Collection):
        return _mine(data, corpus, negatives_per_anchor, skip_top, margin, depth, progress, t0)
    options: dict[str, Any] = (
        {"embedder": model}
        if isinstance(model, Embedder)
        else {"model": config.value("model", model)}
    )
    with (
        tempfile.TemporaryDirectory(prefix="semkit-mine-") as tmp,
        Database(db_path or tmp, backend=backend) as db,
    ):
        coll = db.collection(collection, index="exact", chunking={"truncate": True}, **options)
        coll.add_records(_corpus_records(data, corpus))
        coll.flush()
        return _mine(data, coll, negatives_per_anchor, skip_top, margin, depth, progress, t0)


def _mine(
    data: TrainingData,
    coll: Collection,
    n: int,
    skip_top: int,
    margin: float | None,
    depth: int,
    progress: Callable[[int], None] | None,
    t0: float,
) -> tuple[TrainingData, MiningReport]:
    embedder = coll.embedder
    if embedder is None:
        raise ModelError(
            f"collection {coll.name!r} holds vectors without a model; mining searches with "
            f"the anchors' text and needs a collection built from texts"
        )
    if coll.count() == 0:
        raise InputError(f"collection {coll.name!r} is empty: nothing to mine negatives from")
    groups = data.anchors()
    anchors = list(groups)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TruncationWarning)  # training cuts them the same way
        query_vecs = embedder.encode(anchors, kind="query")
        floor = _lowest_positive_scores(groups, query_vecs, embedder, coll.metric)
    counts = {"top": 0, "positive": 0, "margin": 0}
    mined: dict[str, list[str]] = {}
    for start in range(0, len(anchors), SEARCH_BATCH):
        batch = anchors[start : start + SEARCH_BATCH]
        results = coll.search_batch(query_vecs[start : start + SEARCH_BATCH], k=depth, exact=True)
        for anchor, hits in zip(batch, results, strict=True):
            examples = groups[anchor]
            positive_ids = {ex.positive_id for ex in examples if ex.positive_id is not None}
            positive_texts = {normalize_text(ex.positive) for ex in examples}
            positive_texts.add(normalize_text(anchor))
            picked: list[str] = []
            for rank, hit in enumerate(hits):
                if len(picked) == n:
                    break
                text = hit.text or ""
                if hit.id in positive_ids or normalize_text(text) in positive_texts:
                    counts["positive"] += 1
                elif rank < skip_top:
                    counts["top"] += 1
                elif margin is not None and hit.score > floor[anchor] - margin:
                    counts["margin"] += 1
                else:
                    picked.append(text)
            mined[anchor] = picked
        if progress is not None:
            progress(len(batch))
    examples = [
        Example(
            ex.anchor,
            ex.positive,
            tuple(mined[ex.anchor]) if len(mined[ex.anchor]) == n else (),
            ex.query_id,
            ex.positive_id,
        )
        for ex in data.examples
    ]
    kept = sum(1 for a in anchors if len(mined[a]) == n)
    if not kept:
        raise InputError(
            f"no anchor got {n} usable negative(s) from collection {coll.name!r} "
            f"({coll.count()} documents); lower --skip-top or --margin, or give a larger corpus"
        )
    info = coll.info()
    report = MiningReport(
        anchors=len(anchors),
        kept_anchors=kept,
        without_negatives=len(anchors) - kept,
        negatives_per_anchor=n,
        depth=depth,
        skip_top=skip_top,
        margin=margin,
        skipped_top=counts["top"],
        skipped_positives=counts["positive"],
        skipped_margin=counts["margin"],
        collection=coll.name,
        documents=int(info["documents"]),
        model=str(info["model_id"]),
        fingerprint=str(info["fingerprint"]),
        seconds=round(time.perf_counter() - t0, 2),
    )
    columns = {**data.columns, "negative": f"mined from {coll.name}"}
    return data.with_examples(examples, columns=columns), report


def _lowest_positive_scores(
    groups: dict[str, list[Example]], query_vecs: np.ndarray, embedder: Any, metric: str
) -> dict[str, float]:
    """Per anchor, the score of its least similar positive, as the collection scores."""
    positives = list(dict.fromkeys(ex.positive for exs in groups.values() for ex in exs))
    doc_vecs = embedder.encode(positives, kind="document")
    row = {text: i for i, text in enumerate(positives)}
    out: dict[str, float] = {}
    for i, (anchor, exs) in enumerate(groups.items()):
        idx = [row[ex.positive] for ex in exs]
        scores = np.atleast_2d(score(query_vecs[i : i + 1], doc_vecs[idx], metric))  # type: ignore[arg-type]
        out[anchor] = float(scores.min())
    return out


__all__ = ["MiningReport", "mine_hard_negatives"]
