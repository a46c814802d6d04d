"""Near-duplicates: planted copies and paraphrases found, unrelated texts not, groups are
connected components, and the self-join agrees with a brute-force comparison."""

from __future__ import annotations

import numpy as np
import pytest

from semkit.analysis.corpus import from_texts
from semkit.analysis.duplicates import find_duplicates
from semkit.errors import InputError

PLANTED = {
    ("ast2", "exact"): "Jupiter is the largest planet in our solar system.",
    ("foo0", "copy"): "The striker scored the winning goal in the final minute of the match!",
    ("ast1", "para"): "Astronomers have found a new planet that orbits a faraway star.",
    ("bak0", "para2"): "The bread dough should be kneaded for ten minutes and then left to rise.",
}


@pytest.fixture(scope="module")
def with_planted(topics_all, reference_embedder):
    ids = [*topics_all.ids, *(b for _, b in PLANTED)]
    texts = [*topics_all.texts, *PLANTED.values()]
    return from_texts(texts, reference_embedder, ids=ids)


def test_planted_duplicates_found_and_unrelated_texts_not(with_planted):
    result = find_duplicates(with_planted, threshold=0.8)
    assert {(p.id_a, p.id_b) for p in result.pairs} == set(PLANTED)
    assert [p.id_a for p in result.pairs[:2]] == ["ast2", "foo0"]  # exact copy, then near copy
    scores = [p.score for p in result.pairs]
    assert scores == sorted(scores, reverse=True) and scores[0] == pytest.approx(1.0, abs=1e-5)
    assert result.index == "exact" and result.documents == len(with_planted)
    assert sorted(result.groups) == sorted([a, b] for a, b in PLANTED)


def test_a_higher_threshold_keeps_only_near_copies(with_planted):
    result = find_duplicates(with_planted, threshold=0.92)
    assert {(p.id_a, p.id_b) for p in result.pairs} == {("ast2", "exact"), ("foo0", "copy")}
    assert find_duplicates(with_planted, threshold=1.0).pairs[0].id_b == "exact"


def _unit(degrees: float) -> list[float]:
    r = np.radians(degrees)
    return [np.cos(r), np.sin(r), 0.0]


def test_groups_are_transitive_components():
    # a~b and b~c at 20 degrees apart; a and c are 40 degrees apart, below the threshold
    x = np.array([_unit(0), _unit(20), _unit(40), _unit(120), _unit(200), [0, 0, 1.0]])
    result = find_duplicates(x, threshold=float(np.cos(np.radians(25))))
    assert {(p.id_a, p.id_b) for p in result.pairs} == {("0", "1"), ("1", "2")}
    assert result.groups == [["0", "1", "2"]]
    assert result.group_of() == {"0": 0, "1": 0, "2": 0}


def test_more_copies_than_k_are_all_paired():
    x = np.tile([[1.0, 0.0, 0.0]], (15, 1)) + np.linspace(0, 1e-3, 15)[:, None] * [0, 1, 0]
    x = np.vstack([x, [[0, 1.0, 0]], [[0, 0, 1.0]]])
    result = find_duplicates(x, threshold=0.99, k=3)
    assert len(result.pairs) == 15 * 14 // 2 and result.incomplete == 0
    assert result.groups == [[str(i) for i in range(15)]]
    capped = find_duplicates(x, threshold=0.99, k=3, max_neighbors=5)
    assert capped.incomplete == 15 and capped.groups == result.groups


def test_mutual_keeps_only_pairs_that_are_each_documents_best_match():
    # a~b (15 degrees) and c~d (10 degrees) are each other's best matches; b~c (20 degrees)
    # passes the threshold, but b has a better match (a) by more than the margin
    x = np.array([_unit(0), _unit(15), _unit(35), _unit(45), _unit(120), [0, 0, 1.0]])
    threshold = float(np.cos(np.radians(22)))
    plain = find_duplicates(x, threshold=threshold)
    assert {(p.id_a, p.id_b) for p in plain.pairs} == {("0", "1"), ("1", "2"), ("2", "3")}
    assert plain.groups == [["0", "1", "2", "3"]] and not plain.mutual
    mutual = find_duplicates(x, threshold=threshold, mutual=True)
    assert {(p.id_a, p.id_b) for p in mutual.pairs} == {("0", "1"), ("2", "3")}
    assert mutual.groups == [["0", "1"], ["2", "3"]] and mutual.mutual
    loose = find_duplicates(x, threshold=threshold, mutual=True, mutual_margin=0.05)
    assert {(p.id_a, p.id_b) for p in loose.pairs} == {(p.id_a, p.id_b) for p in plain.pairs}


def test_mutual_keeps_a_group_of_near_copies_whole_within_the_margin():
    # five copies 2 degrees apart in a row (cosines 0.990-0.999): none is far from the best
    x = np.array([*(_unit(d) for d in (0, 2, 4, 6, 8)), _unit(90), [0, 0, 1.0]])
    result = find_duplicates(x, threshold=0.98, k=2, mutual=True)
    assert len(result.pairs) == 10 and result.incomplete == 0
    assert result.groups == [["0", "1", "2", "3", "4"]]
    strict = find_duplicates(x, threshold=0.98, k=2, mutual=True, mutual_margin=0.0)
    assert {(p.id_a, p.id_b) for p in strict.pairs} <= {
        ("0", "1"),
        ("1", "2"),
        ("2", "3"),
        ("3", "4"),
    }


def test_mutual_matches_brute_force():
    rng = np.random.default_rng(2)
    centres = rng.standard_normal((40, 32))
    x = centres[rng.integers(0, 40, 1000)] + 0.3 * rng.standard_normal((1000, 32))
    x = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    sims = x @ x.T
    np.fill_diagonal(sims, -np.inf)
    floor = np.maximum(sims.max(axis=1) - 0.02, 0.8) - 1e-6  # as find_duplicates
    a, b = np.nonzero(np.triu((sims >= floor[:, None]) & (sims >= floor[None, :]), k=1))
    truth = set(zip(a.tolist(), b.tolist(), strict=True))
    result = find_duplicates(x, threshold=0.8, k=2, mutual=True, mutual_margin=0.02)
    assert 50 < len(truth) < len(find_duplicates(x, threshold=0.8).pairs)
    assert {(int(p.id_a), int(p.id_b)) for p in result.pairs} == truth


@pytest.mark.parametrize("index", ["exact", "hnsw"])
def test_the_self_join_matches_brute_force(index):
    rng = np.random.default_rng(1)
    centres = rng.standard_normal((40, 32))
    x = centres[rng.integers(0, 40, 2000)] + 0.25 * rng.standard_normal((2000, 32))
    x = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    threshold = 0.95
    sims = x @ x.T
    a, b = np.nonzero(np.triu(sims >= threshold, k=1))
    truth = set(zip(a.tolist(), b.tolist(), strict=True))
    assert 200 < len(truth) < 20_000
    result = find_duplicates(x, threshold=threshold, index=index)
    found = {(int(p.id_a), int(p.id_b)) for p in result.pairs}
    if index == "exact":
        assert found == truth
    else:
        assert found <= truth and len(found) >= 0.98 * len(truth)
    assert result.index == index


@pytest.mark.parametrize("threshold", [0.0, -0.5, 1.5, float("nan")])
def test_threshold_out_of_range_is_an_input_error(threshold):
    with pytest.raises(InputError, match=r"cosine similarity in \(0, 1\]"):
        find_duplicates(np.eye(3), threshold=threshold)


def test_other_mistakes():
    with pytest.raises(InputError, match="k must be a positive integer"):
        find_duplicates(np.eye(3), k=0)
    with pytest.raises(InputError, match="unknown index"):
        find_duplicates(np.eye(3), index="annoy")
    with pytest.raises(InputError, match="mutual_margin is a cosine difference"):
        find_duplicates(np.eye(3), mutual=True, mutual_margin=-0.1)
    with pytest.raises(InputError, match="zero vector"):
        find_duplicates(np.zeros((3, 4)))
