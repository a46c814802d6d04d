"""Dynamic batching: every model call of the server goes through one worker thread.

Request threads hand the texts their ``Embedder`` could not find in the cache to the
``Batcher`` (through ``BatchedProvider.embed``: the Embedder above keeps its checks, cache,
Matryoshka cut and normalisation) and wait. The worker takes what is queued whenever it is
free, so a lone request waits for nothing; under load the texts of many requests share a
model call. Texts that share a prompt, a size and a cache namespace are sorted by length
and cut into model calls of at most ``max_batch_tokens`` padded tokens and
``max_batch_texts`` texts, where the padding plus a per-call cost is least (``cut_sorted``:
short texts make wide calls, long ones narrow calls, and few are padded far).

The queue is bounded: ``Admission`` counts the texts that requests have brought in and
refuses more than ``max_queue`` (the server answers 429 with Retry-After), so memory stays
bounded however many clients push.
"""

from __future__ import annotations

import collections
import itertools
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from semkit.embedding.base import Provider
from semkit.errors import InputError, SemkitError
from semkit.text.tokens import Tokenizer

BatchObserver = Callable[[int, int, float], None]  # (texts, padded tokens, seconds)
# What one model call costs beyond its padded tokens, in tokens. Measured (2-core AMD EPYC,
# STS-B sentences in takes of 128, torch-bf16 and ONNX): 32-128 beat both greedy cutting at
# 2048 padded tokens (1.2-1.4x fewer texts/s: 24 padded tokens per 15-token text, not 17)
# and 256 (too few, too mixed calls).
CALL_COST_TOKENS = 64


def cut_sorted(lengths: list[int], max_tokens: int, max_texts: int, call_cost: int) -> list[int]:
    """Where to cut texts sorted by length into model calls: the end of each call.

    A call costs ``call_cost`` plus its padded tokens (texts x the longest); the cuts
    minimise the total (dynamic programming over the sorted lengths), with no call over
    ``max_texts`` texts or ``max_tokens`` padded tokens (a longer text goes alone). Greedy
    filling wastes work: short texts padded to the length of the longest in their call."""
    n = len(lengths)
    best = [0.0] + [math.inf] * n  # best[j]: cheapest cost of the first j texts
    start = [0] * (n + 1)
    for j in range(1, n + 1):
        longest = lengths[j - 1]
        for i in range(j - 1, max(j - max_texts, 0) - 1, -1):
            size = j - i
            if size > 1 and size * longest > max_tokens:
                break
            cost = best[i] + call_cost + size * longest
            if cost < best[j]:
                best[j], start[j] = cost, i
    ends: list[int] = []
    j = n
    while j > 0:
        ends.append(j)
        j = start[j]
    return ends[::-1]


class QueueFull(SemkitError):
    """The server has more work queued than it accepts; retry after ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ShuttingDown(SemkitError):
    """The batcher stopped before this work ran."""


@dataclass(eq=False)
class _Job:
    texts: list[str]
    lengths: list[int]  # padded tokens each text costs in a batch
    prompt: str
    dims: int | None
    variant: str
    key: tuple[str, int | None, str]
    out: np.ndarray | None = None
    remaining: int = 0
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)


class Admission:
    """Counts texts in flight and refuses work past ``limit`` (a bounded queue)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._pending = 0
        self._lock = threading.Lock()
        self._rate = 0.0  # texts per second, smoothed: the basis of Retry-After

    @property
    def pending(self) -> int:
        return self._pending

    @contextmanager
    def admit(self, n: int) -> Iterator[None]:
        n = max(int(n), 1)
        if n > self.limit:
            raise InputError(
                f"{n} texts in one request; this server queues at most {self.limit}: "
                f"send them in smaller requests"
            )
        with self._lock:
            if self._pending + n > self.limit:
                raise QueueFull(
                    f"the server is busy: {self._pending} texts are queued and it accepts "
                    f"{self.limit}; retry later",
                    self.retry_after(),
                )
            self._pending += n
        try:
            yield
        finally:
            with self._lock:
                self._pending -= n

    def observe(self, texts: int, seconds: float) -> None:
        if seconds > 0:
            rate = texts / seconds
            self._rate = rate if self._rate == 0 else 0.8 * self._rate + 0.2 * rate

    def retry_after(self) -> int:
        """Seconds until the queue has room, as far as the recent speed tells (at least 1)."""
        if self._rate <= 0:
            return 1
        return max(1, math.ceil(self._pending / self._rate))


class Batcher:
    """The worker thread that owns one model and runs every call into it."""

    def __init__(
        self,
        provider: Provider,
        *,
        max_batch_tokens: int = 2048,
        max_batch_texts: int = 128,
        observer: BatchObserver | None = None,
    ) -> None:
        self.provider = provider
        self.max_batch_tokens = max_batch_tokens
        self.max_batch_texts = max_batch_texts
        self._observer = observer
        self._queue: collections.deque[_Job] = collections.deque()
        self._cond = threading.Condition()
        self._queued_texts = 0
        self._closing = False
        self._thread = threading.Thread(
            target=self._run, name=f"semkit-batcher-{provider.model_id}", daemon=True
        )
        self._thread.start()

    @property
    def queued(self) -> int:
        """Texts waiting for the model (not yet in a model call)."""
        return self._queued_texts

    # --- request threads -----------------------------------------------------------------
    def embed(self, texts: list[str], prompt: str, dims: int | None, variant: str) -> np.ndarray:
        """Raw vectors for ``texts``, computed among other requests' texts; blocks until done."""
        if not texts:
            return np.zeros((0, self.provider.dim), dtype=np.float32)
        tokenizer: Tokenizer = self.provider.tokenizer
        specials = tokenizer.special_tokens
        limit = self.provider.max_tokens
        counts = tokenizer.count([prompt + t for t in texts])
        namespace = self.provider.cache_namespaces(variant)[0]
        job = _Job(
            texts,
            [min(c + specials, limit) for c in counts],
            prompt,
            dims,
            variant,
            (prompt, dims, namespace),
            remaining=len(texts),
        )
        with self._cond:
            if self._closing:
                raise ShuttingDown("the server is shutting down")
            self._queue.append(job)
            self._queued_texts += len(texts)
            self._cond.notify()
        job.done.wait()
        if job.error is not None:
            raise job.error
        assert job.out is not None
        return job.out

    # --- the worker --------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closing:
                    self._cond.wait()
                if not self._queue:
                    return
                jobs = self._take()
                self._queued_texts -= sum(len(j.texts) for j in jobs)
            self._process(jobs)

    def _take(self) -> list[_Job]:
        """The oldest job, and later jobs of its group, up to about one model call."""
        head = self._queue[0]
        taken: list[_Job] = []
        tokens = 0
        for job in self._queue:
            if job.key != head.key:
                continue
            cost = sum(job.lengths)
            if taken and tokens + cost > self.max_batch_tokens:
                break
            taken.append(job)
            tokens += cost
        for job in taken:
            self._queue.remove(job)
        return taken

    def _batches(self, jobs: list[_Job]) -> Iterator[list[tuple[int, _Job, int]]]:
        """(length, job, row) entries sorted by length, cut into model calls (``cut_sorted``)."""
        entries = sorted(
            ((n, j, row) for j in jobs for row, n in enumerate(j.lengths)), key=lambda e: e[0]
        )
        bounds = cut_sorted(
            [e[0] for e in entries], self.max_batch_tokens, self.max_batch_texts, CALL_COST_TOKENS
        )
        for start, end in itertools.pairwise([0, *bounds]):
            yield entries[start:end]

    def _process(self, jobs: list[_Job]) -> None:
        head = jobs[0]
        try:
            batches = list(self._batches(jobs))
            for batch in batches:
                live = [e for e in batch if e[1].error is None]
                if not live:
                    continue
                texts = [job.texts[row] for _, job, row in live]
                start = time.perf_counter()
                try:
                    # with more work waiting, every call takes the bulk (throughput) path;
                    # a lone small request takes the low-latency one
                    busy = len(batches) > 1 or bool(self._queue)
                    vectors = self._call(texts, head, self.max_batch_texts if busy else len(texts))
                except Exception as exc:  # the jobs in this call fail, the others go on
                    for _, job, _ in live:
                        job.error = exc
                        job.done.set()
                    continue
                if self._observer is not None:
                    self._observer(
                        len(texts), len(texts) * live[-1][0], time.perf_counter() - start
                    )
                for (_, job, row), vector in zip(live, vectors, strict=True):
                    if job.out is None:
                        job.out = np.empty((len(job.texts), vectors.shape[1]), dtype=np.float32)
                    job.out[row] = vector
                    job.remaining -= 1
                    if job.remaining == 0:  # answered as soon as its last text is done
                        job.done.set()
        except BaseException as exc:  # never leave a request thread waiting forever
            for job in jobs:
                job.error = job.error or exc
            raise
        finally:
            for job in jobs:
                job.done.set()

    def _call(self, texts: list[str], head: _Job, size: int) -> np.ndarray:
        provider = self.provider
        variant = provider.variant_for(size, shared=True)  # the best path for this much work,
        if provider.cache_namespaces(variant)[0] != head.key[2]:  # if its vectors are the same
            variant = head.variant
        vectors = np.asarray(
            provider.embed(
                texts, prompt=head.prompt, dims=head.dims, batch_size=len(texts), variant=variant
            ),
            dtype=np.float32,
        )
        if vectors.ndim != 2 or len(vectors) != len(texts):
            raise ValueError(f"{provider.model_id} returned {vectors.shape} for {len(texts)} texts")
        return vectors

    def close(self, timeout: float | None = None) -> None:
        """Run what is queued, then stop the worker."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join(timeout)


class BatchedProvider(Provider):
    """A provider whose ``embed`` goes through a ``Batcher``; everything else is the model's."""

    def __init__(self, inner: Provider, batcher: Batcher) -> None:
        self.inner = inner
        self.batcher = batcher
        self.model_id = inner.model_id
        self.supports_dims = inner.supports_dims
        self.refuses_long_inputs = inner.refuses_long_inputs
        self.default_batch_size = inner.default_batch_size

    @property
    def fingerprint(self) -> str:
        return self.inner.fingerprint

    @property
    def dim(self) -> int:
        return self.inner.dim

    @property
    def max_tokens(self) -> int:
        return self.inner.max_tokens

    @property
    def tokenizer(self) -> Tokenizer:
        return self.inner.tokenizer

    @property
    def prompts(self) -> dict[str, str]:
        return self.inner.prompts

    def variant_for(self, n_texts: int, *, shared: bool = True) -> str:
        return self.inner.variant_for(n_texts, shared=shared)  # a server's cores are shared

    def cache_namespaces(self, variant: str) -> list[str]:
        return self.inner.cache_namespaces(variant)

    def embed(
        self,
        texts: list[str],
        *,
        prompt: str,
        dims: int | None,
        batch_size: int,
        variant: str = "",
    ) -> np.ndarray:
        return self.batcher.embed(texts, prompt, dims, variant)

    def describe(self) -> dict[str, Any]:
        return dict(self.inner.describe())

    def close(self) -> None:
        self.batcher.close()
        self.inner.close()
