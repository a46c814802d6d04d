"""Analogies over a corpus: which documents answer ``a - b + c`` (king - man + woman)?

The three inputs are embedded with the corpus's model; the candidates are the
documents' own vectors (a collection's stored vectors: nothing is embedded again).
Documents whose id or text is one of the inputs (compared case-insensitively) are left
out, as word-vector tools leave out the input words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from semkit import similarity
from semkit.errors import InputError

if TYPE_CHECKING:
    from semkit.analysis.corpus import Corpus
    from semkit.embedding.embedder import Embedder


@dataclass(frozen=True, slots=True)
class AnalogyMatch:
    id: str
    score: float  # cosine between the document and a - b + c
    text: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


def corpus_analogy(
    corpus: Corpus, embedder: Embedder, a: str, b: str, c: str, *, k: int = 10
) -> list[AnalogyMatch]:
    """The ``k`` documents of ``corpus`` closest to ``a - b + c``, best first (3CosAdd)."""
    if k < 1:
        raise InputError(f"k must be at least 1, got {k}")
    if embedder.dim != corpus.vectors.shape[1]:
        raise InputError(
            f"the model gives {embedder.dim}-dimensional vectors; the documents have "
            f"{corpus.vectors.shape[1]}"
        )
    inputs = {w.strip().lower() for w in (a, b, c)}
    exclude = [
        i
        for i, (doc_id, text) in enumerate(zip(corpus.ids, corpus.texts, strict=True))
        if doc_id.strip().lower() in inputs or (text or "").strip().lower() in inputs
    ]
    va, vb, vc = embedder.encode([a, b, c])
    ranked = similarity.analogy(va, vb, vc, corpus.vectors, k=k, exclude=exclude)
    return [
        AnalogyMatch(corpus.ids[i], score, corpus.texts[i], corpus.metadatas[i])
        for i, score in ranked
    ]


__all__ = ["AnalogyMatch", "corpus_analogy"]
