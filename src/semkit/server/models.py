"""The server's models: each loaded once per process, each behind its own batcher.

The served model answers ``/v1/embeddings``; collections built with another local model
get that model the first time they are used. Every ``Embedder`` the server makes (one per
request: they are cheap) shares these providers and the one embedding cache, so a model is
never loaded twice and a text is never embedded twice.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from semkit.embedding import Embedder, EmbeddingCache
from semkit.embedding.registry import DEFAULT_ALIASES, OPENAI_PREFIX, resolve
from semkit.errors import ConfigError, InputError, NotFoundError
from semkit.server.batcher import BatchedProvider, Batcher, BatchObserver


@dataclass(frozen=True, slots=True)
class BatchSettings:
    max_batch_tokens: int = 2048
    max_batch_texts: int = 128


class Models:
    def __init__(
        self,
        served: str,
        *,
        aliases: tuple[str, ...] = (),
        cache: EmbeddingCache | None,
        backend: str | None = None,
        batching: BatchSettings = BatchSettings(),
        observer: BatchObserver | None = None,
    ) -> None:
        self.cache = cache
        self._backend = backend
        self._batching = batching
        self._observer = observer
        self._lock = threading.Lock()
        self._providers: dict[str, BatchedProvider] = {}
        self.served_spec = served
        self.served = self.provider(served)
        self.names = self._names_of(served, self.served.model_id, aliases)

    @staticmethod
    def _names_of(spec: str, model_id: str, aliases: tuple[str, ...]) -> tuple[str, ...]:
        names = [model_id, spec, model_id.rsplit("/", 1)[-1], *aliases]
        if spec in DEFAULT_ALIASES:
            names.extend(sorted(DEFAULT_ALIASES))
        return tuple(dict.fromkeys(n for n in names if n))

    @staticmethod
    def check_spec(spec: str) -> None:
        if spec.startswith(OPENAI_PREFIX):
            raise ConfigError(
                f"model {spec!r} is a remote API; semkit serve makes no outbound calls and "
                f"serves local models only"
            )

    def provider(self, spec: str) -> BatchedProvider:
        """The shared, batched provider of a model spec: one per model (by fingerprint),
        created on first use; its weights load on its first batch."""
        self.check_spec(str(spec))
        options: dict[str, Any] = {"backend": self._backend} if self._backend else {}
        inner = resolve(str(spec), fingerprint_memo=self.cache, **options)
        with self._lock:
            provider = self._providers.get(inner.fingerprint)
            if provider is None:
                batcher = Batcher(
                    inner,
                    max_batch_tokens=self._batching.max_batch_tokens,
                    max_batch_texts=self._batching.max_batch_texts,
                    observer=self._observer,
                )
                provider = self._providers[inner.fingerprint] = BatchedProvider(inner, batcher)
        return provider

    def for_request(self, name: str) -> BatchedProvider:
        """The served model, if ``name`` is one of its names (OpenAI's ``model`` field)."""
        if name not in self.names:
            raise NotFoundError(
                f"the model {name!r} does not exist on this server; it serves "
                f"{self.names[0]!r} (also called {', '.join(repr(n) for n in self.names[1:])})"
            )
        return self.served

    def embedder(
        self, provider: BatchedProvider, dims: int | None = None, normalize: bool = True
    ) -> Embedder:
        if dims is not None and dims > provider.dim:
            raise InputError(
                f"dimensions={dims} is larger than the {provider.dim} dimensions of "
                f"{provider.model_id}; choose at most {provider.dim}"
            )
        return Embedder(
            provider, dims=dims, normalize_embeddings=normalize, cache=self.cache or False
        )

    def queued(self) -> int:
        return sum(p.batcher.queued for p in list(self._providers.values()))

    def warm_up(self) -> None:
        """Load the served model and the paths it takes for one text and for a full batch,
        now rather than in the first requests (the cache would skip the model)."""
        batcher = self.served.batcher
        for n in (1, batcher.max_batch_texts):
            batcher.embed(["warm up"] * n, "", None, self.served.variant_for(n))

    def describe(self) -> list[dict[str, Any]]:
        return [
            {**p.describe(), "queued": p.batcher.queued} for p in list(self._providers.values())
        ]

    def close(self) -> None:
        with self._lock:
            for provider in self._providers.values():
                provider.close()
            self._providers.clear()
