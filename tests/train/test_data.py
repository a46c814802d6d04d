"""Training data: pairs/triplets files, BEIR splits, and overlap with held-out data."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from semkit.errors import InputError
from semkit.evaluate import load_beir
from semkit.train.data import (
    drop_overlap,
    find_overlap,
    load_beir_pairs,
    load_pairs,
    load_training_data,
    parse_columns,
)

DATA = Path(__file__).parents[1] / "data"
PAIRS, TRIPLETS, TINY = DATA / "train_pairs.jsonl", DATA / "train_triplets.csv", DATA / "beir_tiny"


def test_pairs_from_jsonl():
    data = load_pairs(PAIRS)
    assert len(data) == 16 and data.negatives_per_example == 0
    assert data.columns == {"anchor": "anchor", "positive": "positive"}
    assert len(data.anchors()) == 15  # one anchor has two positives
    assert list(data.tables()) == ["pairs"]
    assert list(data.tables()["pairs"]) == ["anchor", "positive"]


def test_triplets_from_csv_with_query_document_names():
    data = load_pairs(TRIPLETS)
    assert len(data) == 8 and data.negatives_per_example == 1
    assert data.columns == {"anchor": "query", "positive": "document", "negative": ["negative"]}
    cols = data.tables()["negatives"]
    assert list(data.tables()) == ["negatives"]
    assert list(cols) == ["anchor", "positive", "negative"]
    assert (
        cols["positive"][3]
        == "Sunlight scatters off air molecules, and blue light scatters the most."
    )


def test_several_negatives_as_columns_or_a_list(tmp_path):
    numbered = tmp_path / "n.csv"
    numbered.write_text("anchor,positive,negative_2,negative_1\na,p,n2,n1\nb,q,m2,m1\n")
    data = load_pairs(numbered)
    assert data.examples[0].negatives == ("n1", "n2")
    assert list(data.tables()["negatives"]) == ["anchor", "positive", "negative_1", "negative_2"]
    assert data.tables(triplets=True)["negatives"]["negative"] == ["n1", "n2", "m1", "m2"]
    listed = tmp_path / "l.jsonl"
    listed.write_text(json.dumps({"query": "a", "doc": "p", "negatives": ["x", "y"]}) + "\n")
    assert load_pairs(listed).examples[0].negatives == ("x", "y")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("question,answer_text\na,b\n", "no positive column"),
        ("sentence1,sentence2,score\na,b,0.3\n", "graded pairs"),
        ("anchor,positive\na,\n", ":2: column 'positive' is empty"),
        ("anchor,positive,negative\na,b,c\nd,e,\n", ":3: 0 negative(s), but line 2 has 1"),
        ("anchor,positive\n", "no training examples"),
    ],
)
def test_bad_files_say_what_is_wrong(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(InputError, match=re.escape(message)):
        load_pairs(path)


def test_columns_can_be_named(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps({"q": "a", "d": "b", "n1": "c", "n2": "e"}) + "\n")
    data = load_pairs(path, parse_columns("anchor=q,positive=d,negative=n1+n2"))
    assert data.examples[0].negatives == ("c", "e")
    with pytest.raises(InputError, match="role=column"):
        parse_columns("anchor")


def test_beir_split_gives_one_example_per_relevant_document():
    data = load_beir_pairs(TINY, "test")
    pairs = {(e.query_id, e.positive_id) for e in data.examples}
    assert pairs == {("q1", "d1"), ("q1", "d4"), ("q2", "d3"), ("q3", "d2")}
    q1 = next(e for e in data.examples if e.positive_id == "d1")
    assert q1.anchor == "Which pets purr?"
    assert q1.positive == "Cats Cats are small domesticated carnivorous mammals that purr."
    assert data.corpus is not None and len(data.corpus) == 5
    assert load_training_data(TINY, "dev").split == "dev"


def test_overlap_same_folder_by_query_id():
    overlap = find_overlap(load_beir_pairs(TINY, "dev"), load_beir(TINY, "test"), TINY)
    assert overlap.query_ids == ["q1"]
    assert "1 query id(s) such as ['q1']" in overlap.describe("beir_tiny test")


def test_overlap_of_a_pairs_file_by_anchor_text(tmp_path):
    path = tmp_path / "leak.jsonl"
    rows = [
        {"anchor": "which  PETS purr?", "positive": "Something else entirely."},
        {"anchor": "Unrelated question", "positive": "Unrelated answer."},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    data = load_pairs(path)
    overlap = find_overlap(data, load_beir(TINY, "test"), TINY)
    assert overlap.texts == [("which  PETS purr?", "q1")]
    assert [e.anchor for e in drop_overlap(data, overlap).examples] == ["Unrelated question"]
    assert not find_overlap(load_pairs(PAIRS), load_beir(TINY, "test"), TINY)


def test_same_text_with_other_positives_is_not_overlap(tmp_path):
    """Two BEIR splits may share a query text; it leaks only with the same relevant document."""
    root = tmp_path / "beir"
    (root / "qrels").mkdir(parents=True)
    (root / "corpus.jsonl").write_text(
        "".join(json.dumps({"_id": d, "text": f"document {d}"}) + "\n" for d in ("a", "b"))
    )
    queries = [{"_id": "1", "text": "same claim"}, {"_id": "2", "text": "same claim"}]
    (root / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries))
    (root / "qrels" / "train.tsv").write_text("1\ta\t1\n")
    (root / "qrels" / "test.tsv").write_text("2\tb\t1\n")
    (root / "qrels" / "dev.tsv").write_text("2\ta\t1\n")
    train = load_beir_pairs(root, "train")
    assert not find_overlap(train, load_beir(root, "test"), root)
    assert find_overlap(train, load_beir(root, "dev"), root).texts == [("same claim", "2")]
