"""Outlier scores: planted off-topic texts rank first (kNN and LOF); LOF is scikit-learn's."""

from __future__ import annotations

import numpy as np
import pytest

from semkit.analysis.outliers import outlier_scores
from semkit.errors import InputError


@pytest.mark.parametrize(("method", "k"), [("knn", 10), ("knn", 3), ("lof", 5)])
def test_planted_off_topic_texts_rank_first(topics_all, method, k):
    result = outlier_scores(topics_all, method, k=k)
    top = result.top(2)
    assert {o.id for o in top} == {"tax", "knit"}
    assert [o.rank for o in top] == [1, 2] and top[0].score >= top[1].score
    assert result.scores.shape == (len(topics_all),) and result.k == k


def test_knn_score_is_the_mean_cosine_distance_to_the_nearest(topics_all):
    result = outlier_scores(topics_all, "knn", k=4)
    sims = topics_all.vectors @ topics_all.vectors.T
    np.fill_diagonal(sims, -np.inf)
    expected = 1.0 - np.sort(sims, axis=1)[:, ::-1][:, :4].mean(axis=1)
    np.testing.assert_allclose(result.scores, expected, atol=1e-5)


def test_lof_equals_scikit_learns_on_cosine_distance():
    from sklearn.neighbors import LocalOutlierFactor

    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 24)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    expected = -LocalOutlierFactor(n_neighbors=8, metric="cosine").fit(x).negative_outlier_factor_
    np.testing.assert_allclose(outlier_scores(x, "lof", k=8).scores, expected, rtol=1e-4)


def test_k_is_capped_by_the_corpus_and_mistakes_are_errors():
    x = np.eye(4) + 0.1
    assert outlier_scores(x, k=50).k == 3
    with pytest.raises(InputError, match="unknown outlier method"):
        outlier_scores(x, "isolation-forest")
    with pytest.raises(InputError, match="k must be a positive integer"):
        outlier_scores(x, k=0)
    with pytest.raises(InputError, match="at least 3 documents"):
        outlier_scores(x[:2])
    with pytest.raises(InputError, match="top must be a positive integer"):
        outlier_scores(x).top(0)
