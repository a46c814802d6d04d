"""Similarity functions against plain numpy formulas, and their error cases."""

from __future__ import annotations

import numpy as np
import pytest

import semkit
from semkit.errors import InputError
from semkit.similarity import analogy, score, top_k

rng = np.random.default_rng(7)
A = rng.standard_normal((5, 12)).astype(np.float32)
B = rng.standard_normal((8, 12)).astype(np.float32)


def test_pairs_and_matrices_match_numpy():
    cos = (A / np.linalg.norm(A, axis=1)[:, None]) @ (B / np.linalg.norm(B, axis=1)[:, None]).T
    np.testing.assert_allclose(semkit.cosine(A, B), cos, atol=1e-6)
    np.testing.assert_allclose(semkit.dot(A, B), A @ B.T, atol=1e-5)
    dist = np.linalg.norm(A[:, None, :] - B[None, :, :], axis=2)
    np.testing.assert_allclose(semkit.euclidean(A, B), dist, atol=1e-4)
    assert isinstance(semkit.cosine(A[0], B[0]), float)
    assert semkit.cosine(A[0], B[0]) == pytest.approx(cos[0, 0], abs=1e-6)
    np.testing.assert_allclose(score(A, B, "euclidean"), -dist, atol=1e-4)


@pytest.mark.parametrize("fn", [semkit.cosine, semkit.dot, semkit.euclidean])
def test_dimension_mismatch_is_an_error_never_truncation(fn):
    with pytest.raises(InputError, match="dimension mismatch: a has 12 dimensions, b has 11"):
        fn(A, B[:, :11])


def test_zero_vector_and_nan_are_errors():
    with pytest.raises(InputError, match="zero vector"):
        semkit.cosine(np.zeros(12), A[0])
    bad = A.copy()
    bad[2, 3] = np.nan
    with pytest.raises(InputError, match="row 2 contains NaN"):
        semkit.cosine(bad, B)
    with pytest.raises(InputError, match="unknown metric"):
        score(A, B, "manhattan")  # type: ignore[arg-type]


def test_top_k_single_and_batch():
    idx, scores = top_k(A[0], B, k=3)
    expected = np.argsort(-semkit.cosine(A[0:1], B)[0])[:3]
    np.testing.assert_array_equal(idx, expected)
    assert list(scores) == sorted(scores, reverse=True)
    bidx, bscores = top_k(A, B, k=20)  # k beyond the corpus: all of it
    assert bidx.shape == (5, 8) and bscores.shape == (5, 8)
    np.testing.assert_array_equal(bidx[0][:3], expected)
    with pytest.raises(InputError):
        top_k(A[0], B, k=0)


def test_top_k_ties_at_the_kth_place_keep_corpus_order():
    idx, _ = top_k(
        np.array([1.0]),
        np.array([[0], [1], [1], [0], [1], [1]], dtype=np.float32),
        k=3,
        metric="dot",
    )
    assert list(idx) == [1, 2, 4]


def test_top_k_ties_keep_corpus_order():
    corpus = np.array([[1, 0], [0, 1], [1, 0], [1, 0]], dtype=np.float32)
    idx, _ = top_k(np.array([1, 0], dtype=np.float32), corpus, k=3)
    assert list(idx) == [0, 2, 3]


def test_analogy_vectors_excludes_inputs():
    king, man, woman = np.eye(4, dtype=np.float32)[:3]
    queen = king - man + woman
    candidates = np.stack([king, queen, man, np.ones(4, dtype=np.float32)])
    assert analogy(king, man, woman, candidates, k=1)[0][0] == 1  # queen, inputs included
    ranked = analogy(king, man, woman, candidates, k=4, exclude=[0, 2])
    assert next(i for i, _ in ranked) == 1 and {i for i, _ in ranked} == {1, 3}


def test_king_minus_man_plus_woman_is_queen(default_provider):
    vocab = [
        "queen",
        "king",
        "man",
        "woman",
        "prince",
        "princess",
        "castle",
        "crown",
        "throne",
        "apple",
        "car",
        "river",
        "computer",
        "doctor",
        "teacher",
        "boy",
        "girl",
    ]
    ranked = semkit.analogy("king", "man", "woman", vocab)
    assert ranked[0][0] == "queen"
    assert not {"king", "man", "woman"} & {w for w, _ in ranked}
