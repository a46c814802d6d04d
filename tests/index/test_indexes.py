"""Exact and HNSW indexes against a numpy ground truth: adds, removals, allow-lists."""

from __future__ import annotations

import numpy as np
import pytest

from semkit.index.exact import ExactIndex
from semkit.index.hnsw import HnswIndex

rng = np.random.default_rng(3)
N, D = 3000, 32
VECTORS = rng.standard_normal((N, D)).astype(np.float32)
VECTORS /= np.linalg.norm(VECTORS, axis=1, keepdims=True)
LABELS = np.arange(1000, 1000 + N, dtype=np.int64) * 3  # sparse, ascending, like chunk labels
QUERIES = VECTORS[:20] + 0.1 * rng.standard_normal((20, D)).astype(np.float32)


def truth(queries, labels, vectors, k):
    scores = queries @ vectors.T
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return labels[order], np.take_along_axis(scores, order, axis=1)


@pytest.fixture(params=["exact", "hnsw"])
def index(request):
    idx = ExactIndex(D, "ip") if request.param == "exact" else HnswIndex(D, "ip", ef_search=256)
    idx.add(LABELS, VECTORS)
    return idx


def recall(found, expected):
    return np.mean([len(set(f) & set(e)) / len(e) for f, e in zip(found, expected, strict=True)])


def test_search_matches_numpy(index):
    labels, scores = index.search(QUERIES, 10)
    exp_labels, exp_scores = truth(QUERIES, LABELS, VECTORS, 10)
    if index.kind == "exact":
        np.testing.assert_array_equal(labels, exp_labels)
        np.testing.assert_allclose(scores, exp_scores, atol=1e-5)
    else:
        assert recall(labels, exp_labels) >= 0.98


def test_removed_labels_never_come_back(index):
    gone = LABELS[:1500]
    index.remove(gone)
    assert len(index) == N - 1500
    labels, _ = index.search(QUERIES, 10)
    assert not np.isin(labels, gone).any()
    exp, _ = truth(QUERIES, LABELS[1500:], VECTORS[1500:], 10)
    assert recall(labels, exp) >= 0.95


def test_allow_list_and_exact_subset(index):
    allowed = LABELS[::7]
    labels, _ = index.search(QUERIES, 10, allowed=allowed)
    assert np.isin(labels[labels >= 0], allowed).all()
    exact_labels, exact_scores = index.exact_search(QUERIES, 10, allowed)
    exp, exp_scores = truth(QUERIES, LABELS[::7], VECTORS[::7], 10)
    np.testing.assert_array_equal(exact_labels, exp)
    np.testing.assert_allclose(exact_scores, exp_scores, atol=1e-5)
    np.testing.assert_allclose(index.vectors_of(LABELS[[5, 1, 9]]), VECTORS[[5, 1, 9]])


def test_fewer_vectors_than_k_pads_with_minus_one(index):
    labels, scores = index.exact_search(QUERIES[:1], 5, LABELS[:3])
    assert sorted(labels[0][:3]) == sorted(LABELS[:3]) and list(labels[0][3:]) == [-1, -1]
    assert np.isneginf(scores[0][3:]).all()
    # The graph may stop early under a tight allow-list (the collection then searches
    # exactly); whatever it returns is allowed, and the rest is padding.
    labels, scores = index.search(QUERIES[:1], 5, allowed=LABELS[:3])
    found = labels[0][labels[0] >= 0]
    assert np.isin(found, LABELS[:3]).all() and np.isneginf(scores[0][len(found) :]).all()


def test_euclidean_scores_are_negative_distances():
    idx = ExactIndex(D, "l2")
    idx.add(LABELS[:100], VECTORS[:100] * 3)
    labels, scores = idx.search(QUERIES[:2], 3)
    dist = np.linalg.norm(QUERIES[:2, None, :] - VECTORS[None, :100, :] * 3, axis=2)
    np.testing.assert_array_equal(labels, LABELS[np.argsort(dist, axis=1)[:, :3]])
    np.testing.assert_allclose(-scores, np.sort(dist, axis=1)[:, :3], atol=1e-4)


def test_hnsw_round_trips_through_its_sections():
    idx = HnswIndex(D, "ip")
    idx.add(LABELS, VECTORS)
    idx.remove(LABELS[:10])
    params, sections = idx.to_sections()
    again = HnswIndex.from_sections(D, "ip", params, sections)
    assert again.tombstones == 10 and len(again) == N - 10
    a, _ = idx.search(QUERIES, 10)
    b, _ = again.search(QUERIES, 10)
    np.testing.assert_array_equal(a, b)


def test_hnsw_asks_for_a_rebuild_after_many_removals():
    idx = HnswIndex(D, "ip")
    idx.add(LABELS, VECTORS)
    idx.remove(LABELS[: N // 4])
    assert not idx.needs_rebuild
    idx.remove(LABELS[: N // 2])
    assert idx.needs_rebuild
