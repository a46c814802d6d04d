"""The Embedder with the real default model: equal to sentence-transformers, cached, checked."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import semkit
from semkit import Embedder
from semkit.embedding.base import Provider
from semkit.embedding.embedder import EncodeStats
from semkit.embedding.hashing import HashingProvider
from semkit.embedding.registry import default_model_path, resolve
from semkit.errors import InputError, ModelError, ProviderError


def test_default_equals_sentence_transformers_on_100_texts(embedder, sentences):
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(str(default_model_path()), device="cpu").encode(
        sentences, normalize_embeddings=True
    )
    ours = embedder.encode(sentences)
    assert ours.shape == (100, 384) and ours.dtype == np.float32
    cos = (
        (ours * reference).sum(1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(reference, axis=1)
    )
    assert cos.min() >= 0.9999


def test_machine_learning_pair_beats_cooking(embedder):
    v = embedder.encode(
        ["I love machine learning", "Deep learning is fascinating", "I enjoy cooking Italian food"]
    )
    sims = semkit.cosine(v, v)
    assert sims[0, 1] > sims[0, 2] and sims[0, 1] > sims[1, 2]


def test_identity_and_shape(embedder):
    assert embedder.model_id == semkit.DEFAULT_MODEL_ID
    assert embedder.dim == 384 and embedder.max_tokens == 256
    assert embedder.fingerprint.startswith("st-")
    single = embedder.encode("hello world")
    assert single.shape == (384,)
    assert np.isclose(np.linalg.norm(single), 1.0, atol=1e-5)


def test_fingerprint_changes_with_the_weights(tmp_path, default_provider):
    import shutil

    copy = tmp_path / "model-copy"
    shutil.copytree(default_model_path(), copy)
    assert resolve(copy).fingerprint == default_provider.fingerprint  # same content, same id
    config = copy / "config.json"
    config.write_text(config.read_text().replace("384", "384 "))
    assert resolve(copy).fingerprint != default_provider.fingerprint


def test_matryoshka_truncates_then_renormalises(default_provider, tmp_path, sentences):
    full = Embedder(default_provider, cache=False).encode(sentences[:10])
    small = Embedder(default_provider, dims=64, cache=False).encode(sentences[:10])
    expected = full[:, :64] / np.linalg.norm(full[:, :64], axis=1, keepdims=True)
    assert small.shape == (10, 64)
    np.testing.assert_allclose(small, expected, atol=1e-6)


def test_dims_above_native_is_an_error(default_provider):
    with pytest.raises(InputError, match="larger than the 384"):
        Embedder(default_provider, dims=512, cache=False).encode("x")


def test_prompts_are_applied_by_kind_and_overridable(default_provider):
    e = Embedder(default_provider, prompts={"query": "query: "}, cache=False)
    assert e.prompts["query"] == "query: "
    q = e.encode("what is rust", kind="query")
    d = e.encode("query: what is rust", kind="document")
    np.testing.assert_allclose(q, d, atol=1e-6)
    assert not np.allclose(q, e.encode("what is rust", kind="document"), atol=1e-3)
    with pytest.raises(InputError, match="kind"):
        e.encode("x", kind="passage")  # type: ignore[arg-type]


def test_duplicates_embedded_once_and_cache_hits_skip_the_model(default_provider, tmp_path):
    e = Embedder(default_provider, cache=tmp_path / "c")
    first = e.encode(["alpha beta", "gamma", "alpha beta", "gamma"])
    assert e.last_stats.unique == 2 and e.last_stats.embedded == 2
    np.testing.assert_array_equal(first[0], first[2])
    # A fresh provider over the same cache: a hit must not even load the model.
    fresh = Embedder(resolve("default"), cache=tmp_path / "c")
    again = fresh.encode(["gamma", "alpha beta"])
    assert fresh.last_stats.cached == 2 and fresh.last_stats.embedded == 0
    assert fresh.provider._model is None
    np.testing.assert_array_equal(again, first[[1, 0]])


def test_matryoshka_prefixes_come_from_the_cached_full_vector(default_provider, tmp_path):
    cache = tmp_path / "c"
    full = Embedder(default_provider, cache=cache).encode(["same text"])
    e = Embedder(default_provider, cache=cache, dims=128)
    small = e.encode(["same text"])
    assert small.shape == (1, 128) and e.last_stats.embedded == 0  # cut from the cache
    np.testing.assert_allclose(small[0], full[0, :128] / np.linalg.norm(full[0, :128]), atol=1e-6)
    raw = Embedder(default_provider, cache=cache, normalize_embeddings=False)
    raw.encode(["same text"])
    assert raw.last_stats.embedded == 1  # unnormalised vectors are cached apart


@pytest.mark.parametrize(
    "bad,where", [(["ok", ""], "#1"), (["  \n\t"], "#0"), (["ok", None], "#1")]
)
def test_empty_or_non_text_input_names_its_position(bad, where):
    provider = HashingProvider()
    with pytest.raises(InputError, match=where):
        Embedder(provider, cache=False).encode(bad)
    assert provider.calls == 0  # never sent to the model


def test_unknown_model_is_a_clear_error():
    with pytest.raises(ModelError, match=r"no-such-org/no-such-model.*not available locally"):
        Embedder("no-such-org/no-such-model")
    with pytest.raises(ModelError, match="no model directory"):
        Embedder("./definitely/not/here")


def test_over_long_text_is_counted_and_warned_once(embedder):
    long_text = "word " * 600
    with pytest.warns(semkit.TruncationWarning, match=r"2 of 3 texts exceed the 256-token"):
        embedder.encode([long_text, "short", long_text + "x"])
    assert embedder.last_stats.truncated == 2


def test_truncate_false_refuses_over_long_text_even_when_cached(embedder):
    long_text = "word " * 600
    with pytest.warns(semkit.TruncationWarning):
        embedder.encode([long_text])  # cut by the model and cached
    with pytest.raises(InputError, match=r"1 text\(s\) exceed the 256-token limit.*#1 \(600"):
        embedder.encode(["short", long_text], truncate=False)
    assert embedder.encode(["short"], truncate=False).shape == (1, 384)


def test_truncate_true_cuts_quietly_and_counts(embedder, recwarn):
    long_text = "word " * 600
    vectors = embedder.encode([long_text, "short"], truncate=True)
    assert embedder.last_stats.truncated == 1
    assert not [w for w in recwarn if issubclass(w.category, semkit.TruncationWarning)]
    # the model read its first 254 tokens: the same vector as the text cut there
    cut = embedder.encode(["word " * 254], truncate=False)
    assert float(vectors[0] @ cut[0]) > 0.9999


class RefusingProvider(HashingProvider):
    """An API-like provider: long inputs would fail there, so they must never be sent."""

    refuses_long_inputs = True

    def __init__(self) -> None:
        super().__init__(dim=8, max_tokens=4)
        self.seen: list[str] = []

    def embed(self, texts, **kwargs):
        self.seen.extend(texts)
        return super().embed(texts, **kwargs)


def test_truncate_true_cuts_text_for_providers_that_refuse_long_inputs():
    provider = RefusingProvider()
    emb = Embedder(provider, cache=False)
    with pytest.raises(InputError, match="exceed the 4-token limit"):
        emb.encode(["alpha beta gamma delta epsilon"])
    assert provider.seen == []
    emb.encode(["alpha beta gamma delta epsilon", "ok"], truncate=True)
    assert provider.seen == ["alpha beta gamma delta", "ok"]
    assert emb.last_stats.truncated == 1


class BrokenProvider(HashingProvider):
    """A provider that answers wrongly, as a faulty model or server might."""

    def __init__(self, answer):
        super().__init__(dim=8)
        self.answer = answer

    def embed(self, texts, *, prompt, dims, batch_size, variant=""):
        return self.answer(len(texts))


@pytest.mark.parametrize(
    "answer,match",
    [
        (lambda n: np.full((n, 8), np.nan), "non-finite"),
        (lambda n: np.ones((n, 7)), "shape"),
        (lambda n: np.ones((n + 1, 8)), "shape"),
        (lambda n: np.zeros((n, 8)), "zero vector"),
        (lambda n: "not vectors", "not a vector array|shape"),
    ],
)
def test_bad_provider_output_is_an_error_and_nothing_is_cached(answer, match, tmp_path):
    e = Embedder(BrokenProvider(answer), cache=tmp_path / "c")
    with pytest.raises(ProviderError, match=match):
        e.encode(["one", "two"])
    assert e.cache.stats()["entries"] == 0


def test_provider_contract_is_abstract():
    with pytest.raises(TypeError):
        Provider()  # type: ignore[abstract]


def test_embed_shortcut_uses_a_shared_cached_embedder(default_provider):
    v = semkit.embed(["shortcut text"])
    assert v.shape == (1, 384)
    from semkit.shortcuts import shared_embedder

    assert shared_embedder().last_stats.embedded == 1
    semkit.embed(["shortcut text"])
    assert shared_embedder().last_stats.cached == 1


class Rendezvous(Provider):
    """The real model, but every ``embed`` waits until ``parties`` calls are inside it at
    once: if ``encode`` serialised its callers, the wait would time out."""

    def __init__(self, inner: Provider, parties: int) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.barrier = threading.Barrier(parties, timeout=60)

    fingerprint = property(lambda self: self.inner.fingerprint)
    dim = property(lambda self: self.inner.dim)
    max_tokens = property(lambda self: self.inner.max_tokens)
    tokenizer = property(lambda self: self.inner.tokenizer)

    def variant_for(self, n_texts, *, shared=False):
        return self.inner.variant_for(n_texts, shared=shared)

    def cache_namespaces(self, variant):
        return self.inner.cache_namespaces(variant)

    def embed(self, texts, **kwargs):
        self.barrier.wait()
        return self.inner.embed(texts, **kwargs)


def test_threads_encode_at_once_each_with_its_own_stats_and_vectors(default_provider, tmp_path):
    cache = tmp_path / "c"
    Embedder(default_provider, cache=cache).encode(["the cat sat on the mat"])
    shared = Embedder(Rendezvous(default_provider, parties=2), cache=cache)
    work = {
        "a": ["the cat sat on the mat", "a dog barked at night", "rain fell on the city"],
        "b": ["stocks rose", "the match ended in a draw", "stocks rose", "new phone", "old car"],
    }
    results: dict[str, tuple[np.ndarray, EncodeStats]] = {}
    errors: list[BaseException] = []

    def run(name: str) -> None:
        try:
            vectors = shared.encode(work[name])
            results[name] = (vectors, shared.last_stats)
        except BaseException as exc:  # the assertion below names it
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(name,)) for name in work]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert results["a"][1] == EncodeStats(texts=3, unique=3, cached=1, embedded=2)
    assert results["b"][1] == EncodeStats(texts=5, unique=4, cached=0, embedded=4)
    assert shared.last_stats == EncodeStats()  # this thread encoded nothing
    for name, texts in work.items():
        alone = Embedder(default_provider, cache=False).encode(texts)
        assert (results[name][0] * alone).sum(1).min() >= 0.99999
