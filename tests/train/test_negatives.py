"""Hard-negative mining through a semkit collection: never a positive, guarded by rank and margin."""

from __future__ import annotations

from pathlib import Path

import pytest

import semkit
from semkit.errors import InputError
from semkit.evaluate import document_text, load_beir
from semkit.train import load_beir_pairs, load_pairs, mine_hard_negatives
from semkit.train.data import normalize_text

DATA = Path(__file__).parents[1] / "data"
TINY = DATA / "beir_tiny"


def _positives_by_anchor(data) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for ex in data.examples:
        out.setdefault(ex.anchor, set()).add(normalize_text(ex.positive))
    return out


def test_mined_negatives_are_never_positives_beir(base_embedder):
    data = load_beir_pairs(TINY, "test")  # q1 has two relevant documents, d1 and d4
    mined, report = mine_hard_negatives(
        data, data.corpus, negatives_per_anchor=3, margin=None, model=base_embedder
    )
    positives = _positives_by_anchor(data)
    corpus = load_beir(TINY).corpus
    assert len(mined) == 4 and mined.negatives_per_example == 3
    for ex in mined.examples:
        assert len(set(ex.negatives)) == 3
        assert not {normalize_text(n) for n in ex.negatives} & positives[ex.anchor]
    q1 = [ex for ex in mined.examples if ex.query_id == "q1"]
    assert {n for ex in q1 for n in ex.negatives}.isdisjoint(
        {document_text(corpus["d1"]), document_text(corpus["d4"])}
    )
    # the best-ranked candidates for "Which pets purr?" are the two positives: both passed over
    assert report.skipped_positives >= 2 + 1 + 1
    assert report.documents == 5 and report.without_negatives == 0


def test_mined_negatives_are_never_positives_pairs(base_embedder):
    data = load_pairs(DATA / "train_pairs.jsonl")  # "How do bees make honey?" has two positives
    mined, report = mine_hard_negatives(
        data, negatives_per_anchor=2, margin=None, model=base_embedder
    )
    positives = _positives_by_anchor(data)
    for ex in mined.examples:
        assert not {normalize_text(n) for n in ex.negatives} & positives[ex.anchor]
    bees = [ex for ex in mined.examples if ex.anchor == "How do bees make honey?"]
    assert len(bees) == 2 and bees[0].negatives == bees[1].negatives
    assert report.documents == 16  # the corpus is the file's own positives


def test_rank_window_and_margin_pass_candidates_over(base_embedder):
    data = load_beir_pairs(TINY, "test")
    first, plain = mine_hard_negatives(data, data.corpus, margin=None, model=base_embedder)
    assert plain.skipped_top == 0 and plain.skipped_margin == 0
    later, skipped = mine_hard_negatives(
        data, data.corpus, skip_top=2, margin=None, model=base_embedder
    )
    assert skipped.skipped_top > 0
    # q2 and q3 have their positive at rank 1: rank 2 (their plain negative) is now skipped
    for a, b in zip(first.examples, later.examples, strict=True):
        if a.query_id in ("q2", "q3"):
            assert a.negatives != b.negatives
    # q1: least similar positive d4 scores 0.398; d5 (0.090) is within 0.35 of it, d3 (0.010) not
    guarded_data, guarded = mine_hard_negatives(data, data.corpus, margin=0.35, model=base_embedder)
    assert guarded.skipped_margin > 0
    q1 = next(ex for ex in guarded_data.examples if ex.query_id == "q1")
    assert q1.negatives == (guarded_data.corpus["d3"],)
    # q1: nothing scores 0.45 below its positive d4 (0.398): it keeps no negative, and
    # trains as a pair (in-batch negatives only); the others train with theirs
    partial, report = mine_hard_negatives(data, data.corpus, margin=0.45, model=base_embedder)
    assert report.without_negatives == 1 and report.kept_anchors == 2
    assert [len(ex.negatives) for ex in partial.examples if ex.query_id == "q1"] == [0, 0]
    assert {k: len(v["anchor"]) for k, v in partial.tables().items()} == {
        "negatives": 2,
        "pairs": 2,
    }
    assert {k: len(v["anchor"]) for k, v in partial.tables(triplets=True).items()} == {
        "negatives": 2
    }
    with pytest.raises(InputError, match="no anchor got 1 usable negative"):
        mine_hard_negatives(data, data.corpus, margin=2.0, model=base_embedder)


def test_mining_from_an_existing_collection(tmp_path, base_embedder):
    data = load_beir_pairs(TINY, "test")
    with semkit.open(tmp_path / "db") as db:
        coll = db.collection("docs", embedder=base_embedder)
        corpus = load_beir(TINY).corpus
        coll.add([document_text(d) for d in corpus.values()], ids=list(corpus))
        mined, report = mine_hard_negatives(data, coll, negatives_per_anchor=2, margin=None)
    assert report.collection == "docs" and report.kept_anchors == 3
    assert all(len(ex.negatives) == 2 for ex in mined.examples)


def test_pairs_that_already_have_negatives_are_refused():
    with pytest.raises(InputError, match="already has 1 negative"):
        mine_hard_negatives(load_pairs(DATA / "train_triplets.csv"))
