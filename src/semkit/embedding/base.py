"""The contract every embedding provider implements.

A provider knows one model: its identity (``model_id``, ``fingerprint``), its
shape (``dim``, ``max_tokens``), its tokenizer and its default prompts, and it
turns a list of non-empty texts into raw float vectors with ``embed``. Everything
else (input checks, de-duplication, caching, batching for progress, Matryoshka
truncation, normalisation, output checks) lives once in ``semkit.Embedder``.

Constructing a provider must be cheap: no model weights are loaded and no
network is touched until ``embed`` is called, so a warm cache never pays for
either.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from semkit.text.tokens import Tokenizer


class Provider(ABC):
    #: Human-readable model name, e.g. "sentence-transformers/all-MiniLM-L6-v2".
    model_id: str
    #: The provider produces ``dims``-sized vectors itself (OpenAI ``dimensions``);
    #: otherwise the Embedder truncates the native vector.
    supports_dims: bool = False
    #: Over-long inputs fail at the provider (APIs), so they must be refused before
    #: sending; otherwise the model truncates them and the Embedder only warns.
    refuses_long_inputs: bool = False
    #: Texts per ``embed`` call when the caller does not say.
    default_batch_size: int = 32

    @property
    @abstractmethod
    def fingerprint(self) -> str:
        """Identifies the exact weights/endpoint: vectors with different fingerprints never mix."""

    @property
    @abstractmethod
    def dim(self) -> int:
        """Native embedding dimension."""

    @property
    @abstractmethod
    def max_tokens(self) -> int:
        """Longest input in tokens, special tokens included."""

    @property
    @abstractmethod
    def tokenizer(self) -> Tokenizer:
        """The tokenizer used to count tokens and cut chunks for this model."""

    @property
    def prompts(self) -> dict[str, str]:
        """Prompts by kind ("query", "document") that the model defines."""
        return {}

    def variant_for(self, n_texts: int, *, shared: bool = False) -> str:
        """The inference path a call embedding ``n_texts`` texts takes ("" = the only one).
        ``shared``: the cores are shared with other work (a server handling requests)."""
        return ""

    def cache_namespaces(self, variant: str) -> list[str]:
        """Cache namespaces for ``variant``: vectors are stored under the first and may be
        served from any (a lossy path accepts the exact path's vectors, not the reverse)."""
        return [self.fingerprint]

    @abstractmethod
    def embed(
        self,
        texts: list[str],
        *,
        prompt: str,
        dims: int | None,
        batch_size: int,
        variant: str = "",
    ) -> np.ndarray:
        """Raw vectors for ``texts`` (with ``prompt`` prepended), shape (len(texts), d).

        ``variant`` is what ``variant_for`` chose for the whole call."""

    def describe(self) -> dict[str, object]:
        """What `semkit models` and collection records show about this model."""
        return {
            "model_id": self.model_id,
            "fingerprint": self.fingerprint,
            "dim": self.dim,
            "max_tokens": self.max_tokens,
        }

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release model memory or connections."""
