"""How the batcher cuts queued texts into model calls."""

from __future__ import annotations

import itertools
import random
import threading
import time

import numpy as np
import pytest

from semkit.embedding.base import Provider
from semkit.server.batcher import Batcher, cut_sorted


def _cost(lengths: list[int], ends: list[int], call_cost: int) -> int:
    return sum(
        call_cost + (end - start) * lengths[end - 1]
        for start, end in itertools.pairwise([0, *ends])
    )


def _cheapest(lengths: list[int], max_tokens: int, max_texts: int, call_cost: int) -> int:
    """Every way to cut ``lengths``, tried: the least cost within the limits."""
    n = len(lengths)
    best = None
    for cuts in itertools.product([False, True], repeat=n - 1):
        ends = [i + 1 for i, cut in enumerate(cuts) if cut] + [n]
        sizes = [e - s for s, e in itertools.pairwise([0, *ends])]
        if any(
            size > max_texts or (size > 1 and size * lengths[end - 1] > max_tokens)
            for size, end in zip(sizes, ends, strict=True)
        ):
            continue
        cost = _cost(lengths, ends, call_cost)
        best = cost if best is None else min(best, cost)
    assert best is not None
    return best


def test_cuts_are_the_cheapest_within_the_limits():
    rng = random.Random(7)
    for _ in range(200):
        lengths = sorted(
            rng.choice([3, 5, 9, 14, 20, 40, 90, 300]) for _ in range(rng.randint(1, 9))
        )
        max_tokens, max_texts, call_cost = rng.choice([64, 256, 2048]), rng.randint(1, 6), 64
        ends = cut_sorted(lengths, max_tokens, max_texts, call_cost)
        assert ends[-1] == len(lengths) and ends == sorted(set(ends))
        for start, end in itertools.pairwise([0, *ends]):
            assert end - start <= max_texts
            assert end - start == 1 or (end - start) * lengths[end - 1] <= max_tokens
        assert _cost(lengths, ends, call_cost) == _cheapest(
            lengths, max_tokens, max_texts, call_cost
        )


def test_short_texts_are_not_padded_to_long_ones():
    lengths = [5] * 20 + [20] * 20
    # One call of 40 texts fits 2048 padded tokens, but pads 20 texts four-fold.
    assert cut_sorted(lengths, 2048, 128, 64) == [20, 40]
    # A text longer than the budget still runs, alone.
    assert cut_sorted([10, 300], 256, 128, 64) == [1, 2]
    assert cut_sorted([], 2048, 128, 64) == []


def test_a_request_of_mixed_lengths_runs_in_homogeneous_calls(default_provider):
    calls: list[tuple[int, int]] = []
    batcher = Batcher(default_provider, observer=lambda n, tokens, s: calls.append((n, tokens)))
    short = [f"item {i}" for i in range(20)]
    long = [
        " ".join(["a long sentence about the weather in spring"] * 4) + f" {i}" for i in range(20)
    ]
    texts = [t for pair in zip(short, long, strict=True) for t in pair]
    try:
        vectors = batcher.embed(texts, "", None, "torch")
    finally:
        batcher.close()
    assert sorted(n for n, _ in calls) == [20, 20]
    counts = default_provider.tokenizer.count(long)
    assert max(tokens for _, tokens in calls) == 20 * (max(counts) + 2)  # long ones alone
    direct = default_provider.embed(texts, prompt="", dims=None, batch_size=8, variant="torch")
    cos = (
        (vectors * direct).sum(1) / np.linalg.norm(vectors, axis=1) / np.linalg.norm(direct, axis=1)
    )
    assert cos.min() == pytest.approx(1.0, abs=1e-5)  # each row back in its place


class Recording(Provider):
    """The real model; remembers how much work each call's path was chosen for."""

    def __init__(self, inner: Provider) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.sizes: list[int] = []

    fingerprint = property(lambda self: self.inner.fingerprint)
    dim = property(lambda self: self.inner.dim)
    max_tokens = property(lambda self: self.inner.max_tokens)
    tokenizer = property(lambda self: self.inner.tokenizer)

    def variant_for(self, n_texts, *, shared=False):
        self.sizes.append(n_texts)
        assert shared  # the server's model shares its cores with request threads
        return self.inner.variant_for(n_texts, shared=shared)

    def cache_namespaces(self, variant):
        return self.inner.cache_namespaces(variant)

    def embed(self, texts, **kwargs):
        return self.inner.embed(texts, **kwargs)


def test_a_lone_small_request_takes_the_latency_path_a_backlog_the_bulk_path(default_provider):
    provider = Recording(default_provider)
    batcher = Batcher(provider, max_batch_texts=64)
    try:
        batcher.embed(["one short text", "and another"], "", None, "torch")
        assert provider.sizes == [2]  # nothing else waiting: chosen for 2 texts
        provider.sizes.clear()
        short = [f"item {i}" for i in range(5)]
        long = [" ".join(["a long sentence about the weather"] * 6) + f" {i}" for i in range(5)]
        batcher.embed(short + long, "", None, "torch")  # two calls: more work than one
        assert provider.sizes == [64, 64]
    finally:
        batcher.close()


class Gated(Recording):
    """The real model, but a call holds until its gate opens: "hold" and long texts wait."""

    def __init__(self, inner: Provider) -> None:
        super().__init__(inner)
        self.holding = threading.Event()
        self.hold = threading.Event()
        self.long_gate = threading.Event()

    def embed(self, texts, **kwargs):
        if texts == ["hold"]:
            self.holding.set()
            assert self.hold.wait(30)
        elif any(len(t) > 100 for t in texts):
            assert self.long_gate.wait(30)
        return self.inner.embed(texts, **kwargs)


def test_a_request_is_answered_when_its_own_call_is_done_not_the_whole_take(default_provider):
    provider = Gated(default_provider)
    batcher = Batcher(provider)
    short = [f"item {i}" for i in range(5)]
    long = [" ".join(["a long sentence about the weather"] * 6) + f" {i}" for i in range(5)]
    out: dict[str, np.ndarray] = {}

    def send(name: str, texts: list[str]) -> threading.Thread:
        def run() -> None:
            out[name] = batcher.embed(texts, "", None, "torch")

        thread = threading.Thread(target=run)
        thread.start()
        return thread

    try:
        holder = send("hold", ["hold"])
        assert provider.holding.wait(30)  # the worker is busy: the next two queue up together
        a, b = send("short", short), send("long", long)
        for _ in range(3000):
            if batcher.queued == 10:
                break
            time.sleep(0.01)
        assert batcher.queued == 10
        provider.hold.set()
        a.join(30)
        assert not a.is_alive() and b.is_alive()  # answered while the long call still waits
        provider.long_gate.set()
        b.join(30)
        holder.join(30)
    finally:
        provider.hold.set()
        provider.long_gate.set()
        batcher.close()
    assert out["short"].shape == (5, 384) and out["long"].shape == (5, 384)
