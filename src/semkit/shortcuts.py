"""One-call helpers over shared embedders (each model is loaded once per process)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from semkit import config, similarity
from semkit.embedding.base import Provider
from semkit.embedding.embedder import Embedder, Kind
from semkit.embedding.registry import resolve
from semkit.types import Chunk


def shared_provider(model: str | Path | None = None) -> Provider:
    """The process-wide provider for a model spec (holds the loaded model); None: the
    ``model`` setting."""
    return _provider(config.value("model", model))


@functools.lru_cache(maxsize=8)
def _provider(model: str | Path) -> Provider:
    return resolve(model)


@functools.lru_cache(maxsize=16)
def _embedder(model: str | Path, dims: int | None, normalize: bool, cache_dir: Path) -> Embedder:
    return Embedder(
        shared_provider(model), dims=dims, normalize_embeddings=normalize, cache=cache_dir
    )


def shared_embedder(
    model: str | Path | None = None, dims: int | None = None, normalize_embeddings: bool = True
) -> Embedder:
    """The process-wide ``Embedder`` for these settings and the current cache directory
    (``model`` None: the ``model`` setting)."""
    return _embedder(
        config.value("model", model), dims, normalize_embeddings, Path(config.get("cache_dir"))
    )


def embed(
    texts: str | Sequence[str],
    model: str | Path | None = None,
    *,
    kind: Kind = "document",
    dims: int | None = None,
    normalize_embeddings: bool = True,
) -> np.ndarray:
    """Embed texts with a cached, shared embedder: float32 ``(n, dim)`` (``(dim,)`` for a str)."""
    return shared_embedder(model, dims, normalize_embeddings).encode(texts, kind)


def chunk(
    text: str,
    max_tokens: int | None = None,
    overlap: int = 32,
    model: str | Path | None = None,
) -> list[Chunk]:
    """Token-aware chunks of ``text`` with character offsets; the limit defaults to the model's."""
    return shared_embedder(model).chunk(text, max_tokens=max_tokens, overlap=overlap)


def analogy(
    a: str,
    b: str,
    c: str,
    candidates: Sequence[str],
    *,
    k: int = 10,
    model: str | Path | None = None,
    exclude_inputs: bool = True,
) -> list[tuple[str, float]]:
    """Candidates ranked for ``a - b + c`` (king - man + woman -> queen), best first.

    The three inputs are left out of the ranking by default (compared case-insensitively).
    """
    words = list(candidates)
    vectors = shared_embedder(model).encode([a, b, c, *words])
    inputs = {w.strip().lower() for w in (a, b, c)}
    exclude = (
        [i for i, w in enumerate(words) if w.strip().lower() in inputs] if exclude_inputs else []
    )
    ranked = similarity.analogy(
        vectors[0], vectors[1], vectors[2], vectors[3:], k=k, exclude=exclude
    )
    return [(words[i], score) for i, score in ranked]
