"""Searching a collection: queries in, ``Hit``s out, the same on every backend.

A query is a text (embedded with the collection's model, as a query) or a vector.
"dense" ranks documents by their best chunk's vector, "lexical" by the backend's
full-text ranking, "hybrid" fuses both rankings by weighted reciprocal rank fusion.
The backend finds and reads; this module checks the request, embeds, and fuses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from semkit.embedding.embedder import Embedder, check_texts
from semkit.errors import InputError
from semkit.search.backends.base import CollectionStore, DocMatch, Where
from semkit.search.config import CollectionConfig
from semkit.search.fusion import RRF_K, reciprocal_rank_fusion
from semkit.search.ingest import check_vectors
from semkit.types import Hit

Mode = Literal["dense", "lexical", "hybrid"]
MODES = ("dense", "lexical", "hybrid")
HYBRID_DEPTH = 100  # each ranking fused in hybrid search is this deep (at least k)
INCLUDE_ALL = ("text", "metadata")  # what hits carry besides id and score


@dataclass(frozen=True, slots=True)
class SearchRequest:
    k: int = 10
    where: Where = None
    mode: str = "dense"
    exact: bool = False
    ef: int | None = None
    weights: tuple[float, float] = (1.0, 1.0)
    rrf_k: int = RRF_K
    include: frozenset[str] = frozenset(INCLUDE_ALL)

    @classmethod
    def checked(
        cls,
        k: Any,
        where: Where,
        mode: Any,
        exact: bool,
        ef: int | None,
        weights: tuple[float, float],
        rrf_k: int,
        include: Sequence[str],
    ) -> SearchRequest:
        unknown = set(include) - set(INCLUDE_ALL)
        if unknown:
            raise InputError(
                f"include: unknown field(s) {sorted(unknown)}; use {list(INCLUDE_ALL)}"
            )
        if mode not in MODES:
            raise InputError(f"unknown mode {mode!r}; use one of {list(MODES)}")
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise InputError(f"k must be a positive integer, got {k!r}")
        if ef is not None and (isinstance(ef, bool) or not isinstance(ef, int) or ef < 1):
            raise InputError(f"ef must be a positive integer, got {ef!r}")
        return cls(k, where or None, mode, exact, ef, weights, rrf_k, frozenset(include))


class Searcher:
    """Runs search requests against one collection's store."""

    def __init__(
        self,
        store: CollectionStore,
        config: CollectionConfig,
        name: str,
        embedder: Embedder | None,
    ) -> None:
        self.store, self.config, self.name, self.embedder = store, config, name, embedder

    def queries(
        self, query: Any, batch: bool, mode: str
    ) -> tuple[list[str] | None, np.ndarray | None]:
        """``(texts, vectors)`` of one query (``batch=False``) or a batch of queries."""
        need_text, need_vectors = mode != "dense", mode != "lexical"
        if isinstance(query, str):
            if batch:
                raise InputError("search_batch takes a list of queries; use search for one text")
            texts = [query]
        elif isinstance(query, np.ndarray) or (
            isinstance(query, Sequence) and query and not isinstance(query[0], str)
        ):
            arr = (
                np.asarray(query, dtype=np.float32) if not isinstance(query, np.ndarray) else query
            )
            if need_text:
                raise InputError("lexical and hybrid search need query text, not a vector")
            if batch and arr.ndim != 2:
                raise InputError("search_batch takes a matrix of query vectors (n, dim)")
            if not batch and arr.ndim == 2 and len(arr) == 1:
                arr = arr[0]
            if not batch and arr.ndim != 1:
                raise InputError(
                    "search takes one query vector; use search_batch for a matrix of queries"
                )
            return None, check_vectors(arr, self.config, self.name, "query vector")
        elif isinstance(query, Sequence) and query:
            if not batch:
                raise InputError(
                    "search takes one query (a text or a vector); use search_batch "
                    "for a list of queries"
                )
            texts = list(query)
        else:
            raise InputError(
                "queries must be a list of texts or a matrix of vectors"
                if batch
                else "query must be a text or a vector"
            )
        check_texts(texts)
        vectors = None
        if need_vectors:
            if self.embedder is None:
                raise InputError(
                    f"collection {self.name!r} has no model; search it with a query vector"
                )
            vectors = self.embedder.encode(texts, kind="query")
        return texts, vectors

    def run(
        self, texts: list[str] | None, vectors: np.ndarray | None, request: SearchRequest
    ) -> list[list[Hit]]:
        r = request
        if r.mode == "dense":
            assert vectors is not None
            return self.store.dense_hits(vectors, r.k, r.where, r.exact, r.ef, r.include)
        if r.mode == "lexical":
            assert texts is not None
            ranked = self.store.lexical(texts, r.k, r.where)
        else:
            assert vectors is not None and texts is not None
            depth = max(r.k, HYBRID_DEPTH)
            dense = self.store.dense(vectors, depth, r.where, r.exact, r.ef)
            lexical = self.store.lexical(texts, depth, r.where)
            ranked = [
                fuse(d, lex, r.k, r.weights, r.rrf_k) for d, lex in zip(dense, lexical, strict=True)
            ]
        return self.store.hits(ranked, r.include)


def fuse(
    dense: list[DocMatch],
    lexical: list[DocMatch],
    k: int,
    weights: tuple[float, float],
    rrf_k: int,
) -> list[DocMatch]:
    """The first ``k`` documents of both rankings by weighted RRF, each keeping the best
    chunk its dense match found."""
    best_chunk = {m.key: m.label for m in dense}
    fused = reciprocal_rank_fusion(
        [[m.key for m in dense], [m.key for m in lexical]], weights, rrf_k
    )
    return [DocMatch(int(key), score, best_chunk.get(int(key), -1)) for key, score in fused[:k]]  # type: ignore[call-overload]
