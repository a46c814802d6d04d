"""``Embedder``: the one way semkit turns text into vectors.

It owns what every provider shares: input checks, de-duplication, the
persistent cache, blocks for progress, Matryoshka truncation, normalisation and
output checks. Providers only embed (see ``semkit.embedding.base``).
"""

from __future__ import annotations

import sys
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from semkit.embedding.base import Provider
from semkit.embedding.cache import EmbeddingCache, cache_key
from semkit.embedding.registry import resolve
from semkit.errors import InputError, ProviderError, TooLongError
from semkit.similarity import normalize_rows
from semkit.text.chunking import chunk_text
from semkit.text.tokens import Tokenizer
from semkit.types import Chunk

Kind = Literal["document", "query"]
KINDS: tuple[str, ...] = ("document", "query")
# Texts handed to the provider at once: the unit of progress and of cache writes, so an
# interrupted run keeps what it embedded. Large enough for length-sorting to pay off.
_BLOCK = 256
_PROGRESS_MIN = 512


class TruncationWarning(UserWarning):
    """Some texts were longer than the model's limit and were cut by the model."""


@dataclass(frozen=True, slots=True)
class EncodeStats:
    """What the last ``encode`` call did: how many texts it got, and how many the model saw."""

    texts: int = 0
    unique: int = 0
    cached: int = 0
    embedded: int = 0
    truncated: int = 0


_NO_STATS = EncodeStats()


def check_texts(texts: Sequence[Any]) -> list[str]:
    """Every text must be a non-blank string; errors name the position."""
    out = []
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise InputError(f"text #{i} is a {type(text).__name__}, not a string")
        if not text.strip():
            raise InputError(
                f"text #{i} is empty or whitespace only; semkit does not embed "
                f"empty text (remove it or give it content)"
            )
        out.append(text)
    return out


def _shared_cache(cache: bool | str | Path | EmbeddingCache) -> EmbeddingCache | None:
    if cache is False:
        return None
    if isinstance(cache, EmbeddingCache):
        return cache
    return EmbeddingCache(None if cache is True else cache)


class Embedder:
    """Embeds texts with one model, caching every vector it computes.

    ``model``: "default" (all-MiniLM-L6-v2, shipped with semkit), a local model
    directory, a Hugging Face name present in the local cache, "openai:<model>",
    or a ``Provider``; None (the default) reads the ``model`` setting. ``dims`` truncates to a Matryoshka prefix (sent to the API
    as ``dimensions`` where the provider supports it). ``prompts`` overrides the
    model's query/document prompts. ``cache``: True (the user cache, see
    ``SEMKIT_CACHE_DIR``), False, a directory, or an ``EmbeddingCache``.

    Several threads may encode with one Embedder at once: nothing serialises them but the
    model itself, and each thread reads its own ``last_stats``.
    """

    def __init__(
        self,
        model: str | Path | Provider | None = None,
        *,
        dims: int | None = None,
        normalize_embeddings: bool = True,
        cache: bool | str | Path | EmbeddingCache = True,
        prompts: dict[str, str] | None = None,
        batch_size: int | None = None,
        trust_remote_code: bool = False,
        **provider_options: Any,
    ) -> None:
        self.cache = _shared_cache(cache)
        if isinstance(model, Provider):
            self.provider = model
        else:
            self.provider = resolve(
                model,
                trust_remote_code=trust_remote_code,
                fingerprint_memo=self.cache,
                **provider_options,
            )
        if dims is not None and (not isinstance(dims, int) or dims < 1):
            raise InputError(f"dims must be a positive integer, got {dims!r}")
        self.dims = dims
        self.normalize_embeddings = normalize_embeddings
        self._prompts = {**self.provider.prompts, **(prompts or {})}
        unknown = set(self._prompts) - set(KINDS)
        if prompts and unknown & set(prompts):
            raise InputError(
                f"unknown prompt kind(s) {sorted(unknown & set(prompts))}; use {list(KINDS)}"
            )
        self.batch_size = batch_size or self.provider.default_batch_size
        self._thread = threading.local()  # .stats: this thread's last encode
        self._dims_checked = False

    @property
    def last_stats(self) -> EncodeStats:
        """What this thread's last ``encode`` did (threads encoding at once each see theirs)."""
        stats: EncodeStats = getattr(self._thread, "stats", _NO_STATS)
        return stats

    # --- identity ------------------------------------------------------------------------
    @property
    def model_id(self) -> str:
        return self.provider.model_id

    @property
    def fingerprint(self) -> str:
        return self.provider.fingerprint

    @property
    def native_dim(self) -> int:
        return self.provider.dim

    @property
    def dim(self) -> int:
        self._check_dims()
        return self.dims or self.provider.dim

    @property
    def max_tokens(self) -> int:
        return self.provider.max_tokens

    @property
    def tokenizer(self) -> Tokenizer:
        return self.provider.tokenizer

    @property
    def prompts(self) -> dict[str, str]:
        return dict(self._prompts)

    def describe(self) -> dict[str, Any]:
        """The record a collection keeps to refuse mixing vectors of different models."""
        return {
            "model_id": self.model_id,
            "fingerprint": self.fingerprint,
            "dim": self.dim,
            "dims": self.dims,
            "normalize": self.normalize_embeddings,
            "max_tokens": self.max_tokens,
            "prompts": self.prompts,
        }

    def _check_dims(self) -> None:
        if self._dims_checked or self.dims is None:
            return
        native = self.provider.dim
        if self.dims > native:
            raise InputError(
                f"dims={self.dims} is larger than the {native} dimensions of "
                f"{self.model_id}; choose dims <= {native}"
            )
        self._dims_checked = True

    # --- tokens and chunks ---------------------------------------------------------------
    @property
    def chunk_tokens(self) -> int:
        """Tokens of text that fit in one model input (the limit minus special tokens)."""
        return self.max_tokens - self.tokenizer.special_tokens

    def count_tokens(self, texts: str | Sequence[str]) -> list[int]:
        return self.tokenizer.count([texts] if isinstance(texts, str) else list(texts))

    def chunk(self, text: str, max_tokens: int | None = None, overlap: int = 32) -> list[Chunk]:
        """Chunks of ``text`` that each fit the model (see ``semkit.text.chunking``)."""
        check_texts([text])
        limit = max_tokens or self.chunk_tokens
        return chunk_text(text, self.tokenizer, limit, min(overlap, limit // 4))

    # --- encoding ------------------------------------------------------------------------
    def encode(
        self,
        texts: str | Sequence[str],
        kind: Kind = "document",
        *,
        prompt: str | None = None,
        batch_size: int | None = None,
        show_progress_bar: bool | None = None,
        truncate: bool | None = None,
    ) -> np.ndarray:
        """Embeddings as float32 ``(n, dim)``; a single string gives ``(dim,)``.

        ``kind`` picks the model's prompt ("query" or "document"); ``prompt`` overrides it.
        Duplicate texts are embedded once; cached vectors are not recomputed.
        ``truncate`` says what happens to texts over the model's limit: ``None`` leaves it
        to the provider (local models cut them, with a ``TruncationWarning``; APIs refuse
        them), ``False`` refuses them with an ``InputError`` naming them, ``True`` cuts
        them at the limit without a warning. Either way ``last_stats.truncated`` counts them.
        """
        single = isinstance(texts, str)
        items = check_texts([texts] if single else list(texts))
        if kind not in KINDS:
            raise InputError(f"kind must be one of {list(KINDS)}, got {kind!r}")
        self._check_dims()
        prompt = self._prompts.get(kind, "") if prompt is None else prompt
        out = self._encode(
            items, prompt, batch_size or self.batch_size, show_progress_bar, truncate
        )
        return out[0] if single else out

    def _encode(
        self,
        texts: list[str],
        prompt: str,
        batch_size: int,
        show_progress_bar: bool | None,
        truncate: bool | None,
    ) -> np.ndarray:
        if not texts:
            self._thread.stats = _NO_STATS
            return np.zeros((0, self.dim), dtype=np.float32)
        unique = list(dict.fromkeys(texts))
        # Local models: the cache holds the full vector and Matryoshka prefixes are cut from
        # it, so changing ``dims`` never embeds a text again. APIs produce ``dims`` themselves.
        stored_dims = self.dims if self.provider.supports_dims else None

        def keys_in(namespace: str, items: list[str]) -> dict[str, bytes]:
            return {
                t: cache_key(namespace, stored_dims, self.normalize_embeddings, prompt, t)
                for t in items
            }

        # Vectors of the model's exact path serve every request; only then is a path chosen
        # (which may measure or load things), so a warm cache never touches the model.
        vectors = self._lookup(keys_in(self.fingerprint, unique))
        missing = [t for t in unique if t not in vectors]
        # An explicit policy covers cached texts too: a cached vector of a cut text is cut.
        truncated, cut = self._check_lengths(
            missing if truncate is None else unique, prompt, truncate
        )
        if missing:
            variant = self.provider.variant_for(len(missing))
            namespace = self.provider.cache_namespaces(variant)[0]
            keys = keys_in(namespace, missing)
            if namespace != self.fingerprint:
                vectors.update(self._lookup(keys))
                missing = [t for t in missing if t not in vectors]
            if missing:
                show = (
                    show_progress_bar
                    if show_progress_bar is not None
                    else len(missing) >= _PROGRESS_MIN and sys.stderr.isatty()
                )
                self._embed_missing(
                    missing, prompt, batch_size, show, keys, vectors, variant, namespace, cut
                )
        self._thread.stats = EncodeStats(
            len(texts), len(unique), len(unique) - len(missing), len(missing), truncated
        )
        dims = {v.shape[0] for v in vectors.values()}
        if len(dims) != 1:
            raise ProviderError(
                f"vectors of different sizes {sorted(dims)} for one model; "
                f"clear the cache (`semkit cache clear`)"
            )
        out = np.stack([vectors[t] for t in texts]).astype(np.float32, copy=False)
        return self._truncate(out) if stored_dims is None and self.dims else out

    def _lookup(self, keys: dict[str, bytes]) -> dict[str, np.ndarray]:
        if self.cache is None or not keys:
            return {}
        hits = self.cache.get_many(list(keys.values()))
        return {t: hits[k] for t, k in keys.items() if k in hits}

    def _truncate(self, arr: np.ndarray) -> np.ndarray:
        """The Matryoshka prefix of each vector, re-normalised if the embedder normalises."""
        arr = np.ascontiguousarray(arr[:, : self.dims])
        if not self.normalize_embeddings:
            return arr
        return normalize_rows(
            arr, f"the first {self.dims} dimensions of the vectors", ProviderError
        )

    def _embed_missing(
        self,
        missing: list[str],
        prompt: str,
        batch_size: int,
        show: bool,
        keys: dict[str, bytes],
        vectors: dict[str, np.ndarray],
        variant: str,
        namespace: str,
        cut: dict[str, str],
    ) -> None:
        bar = None
        if show:  # a disabled tqdm still costs ~0.1-0.3 ms: too much for a single query
            from tqdm.auto import tqdm

            bar = tqdm(
                total=len(missing), desc=f"Embedding ({self.model_id})", unit="text", leave=False
            )
        try:
            for start in range(0, len(missing), _BLOCK):
                block = missing[start : start + _BLOCK]
                raw = self.provider.embed(
                    [cut.get(t, t) for t in block] if cut else block,
                    prompt=prompt,
                    batch_size=batch_size,
                    dims=self.dims if self.provider.supports_dims else None,
                    variant=variant,
                )
                out = self._finish(raw, len(block))
                if self.cache is not None:
                    self.cache.put_many(
                        namespace, ((keys[t], v) for t, v in zip(block, out, strict=True))
                    )
                vectors.update(zip(block, out, strict=True))
                if bar is not None:
                    bar.update(len(block))
        finally:
            if bar is not None:
                bar.close()

    def _finish(self, raw: Any, n: int) -> np.ndarray:
        """Check a provider's answer, then normalise it (truncation comes after the cache)."""
        try:
            arr = np.asarray(raw, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise ProviderError(
                f"{self.model_id} returned something that is not a vector array: {exc}"
            ) from exc
        native = self.dims if (self.dims and self.provider.supports_dims) else self.provider.dim
        if arr.ndim != 2 or arr.shape != (n, native):
            raise ProviderError(
                f"{self.model_id} returned vectors of shape {arr.shape}, "
                f"expected ({n}, {native}); nothing was cached"
            )
        bad = ~np.isfinite(arr).all(axis=1)
        if bad.any():
            raise ProviderError(
                f"{self.model_id} returned non-finite values (NaN/inf) for "
                f"{int(bad.sum())} of {n} texts; nothing was cached"
            )
        if self.normalize_embeddings:
            arr = normalize_rows(arr, f"{self.model_id} output; nothing was cached:", ProviderError)
        return np.ascontiguousarray(arr, dtype=np.float32)

    def _check_lengths(
        self, texts: list[str], prompt: str, truncate: bool | None
    ) -> tuple[int, dict[str, str]]:
        """Texts over the model's limit: refuse them, or count them (and warn, unless
        ``truncate`` asked for the cut). Returns their number, and the cut texts a provider
        that refuses long inputs gets instead (the model cuts them itself otherwise)."""
        limit = self.chunk_tokens
        # A token covers at least one byte of text, so shorter texts cannot be over the limit.
        suspects = [i for i, t in enumerate(texts) if len((prompt + t).encode()) > limit]
        if not suspects:
            return 0, {}
        counts = self.tokenizer.count([prompt + texts[i] for i in suspects])
        over = [(i, c) for i, c in zip(suspects, counts, strict=True) if c > limit]
        if not over:
            return 0, {}
        refuse = not truncate and (truncate is False or self.provider.refuses_long_inputs)
        if refuse:
            where = ", ".join(f"#{i} ({c} tokens)" for i, c in over[:5])
            more = f" and {len(over) - 5} more" if len(over) > 5 else ""
            raise TooLongError(
                f"{len(over)} text(s) exceed the {self.max_tokens}-token limit of "
                f"{self.model_id}: {where}{more}; nothing was sent. Split them first "
                f"(semkit.chunk, or a collection, which chunks automatically)"
            )
        if truncate is None:
            warnings.warn(
                f"{len(over)} of {len(texts)} texts exceed the {self.max_tokens}-token limit "
                f"of {self.model_id} and were truncated by the model; use semkit.chunk() or a "
                f"collection (which chunks automatically) to embed them whole",
                TruncationWarning,
                stacklevel=4,
            )
        cut: dict[str, str] = {}
        if self.provider.refuses_long_inputs:
            room = limit - len(self.tokenizer.spans(prompt)) if prompt else limit
            for i, _ in over:
                spans = self.tokenizer.spans(texts[i])
                cut[texts[i]] = texts[i][: spans[max(room, 1) - 1][1]]
        return len(over), cut

    def close(self) -> None:
        self.provider.close()
        if self.cache is not None:
            self.cache.close()


__all__ = ["Embedder", "EncodeStats", "TruncationWarning", "check_texts"]
