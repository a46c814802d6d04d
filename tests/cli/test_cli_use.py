"""`semkit classify`, `similar`, `analogy --collection`, `context` and `map`, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import semkit
from semkit.cli.main import main

DATA = Path(__file__).parents[1] / "data"
CORPUS = Path(__file__).parents[2] / "examples" / "data" / "corpus.jsonl"
WORDS = ["queen", "king", "man", "woman", "prince", "princess", "castle", "crown", "apple", "car"]


@pytest.fixture(autouse=True)
def _model_loaded_once(default_provider):
    """The model loads once per session; commands reuse it through the shared provider."""


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def labelled(tmp_path):
    rows = [json.loads(line) for line in (DATA / "labelled.jsonl").read_text().splitlines()]
    paths = {}
    for split in ("train", "test"):
        paths[split] = tmp_path / f"{split}.jsonl"
        paths[split].write_text("".join(json.dumps(r) + "\n" for r in rows if r["split"] == split))
    paths["all"] = DATA / "labelled.jsonl"
    return paths


@pytest.fixture
def demo_db(tmp_path):
    """90 documents of the demo corpus (30 per category) in a collection 'demo'."""
    rows = [json.loads(line) for line in CORPUS.read_text().splitlines()]
    picked = [
        r for c in ("ML", "Dev", "Food") for r in [r for r in rows if r["category"] == c][:30]
    ]
    path = tmp_path / "docs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in picked))
    db = tmp_path / "db"
    assert main(["add", "demo", str(path), "--db", str(db)]) == 0
    return db


def test_classify_train_predict_and_refuse_another_model(labelled, tmp_path, capsys):
    clf = tmp_path / "clf"
    code, out, _ = run(
        capsys, "classify", "train", "--input", labelled["train"], "--label-field", "label",
        "--out", clf, "--json",
    )  # fmt: skip
    summary = json.loads(out)
    assert code == 0 and summary["trained_on"] == 30
    assert summary["labels"] == {"computing": 10, "cooking": 10, "sports": 10}
    assert summary["space"]["dim"] == 384 and summary["space"]["model"] == "default"
    code, out, _ = run(
        capsys, "classify", "predict", clf, "Stir the risotto until creamy",
        "The keeper saved the penalty", "--json",
    )  # fmt: skip
    assert code == 0 and [r["label"] for r in json.loads(out)] == ["cooking", "sports"]
    code, out, _ = run(capsys, "classify", "predict", clf, "--input", labelled["test"], "--json")
    rows = json.loads(out)
    expected = [json.loads(line)["label"] for line in labelled["test"].read_text().splitlines()]
    assert [r["label"] for r in rows] == expected and rows[0]["id"] == "test-1"
    code, out, err = run(capsys, "classify", "predict", clf, "some text", "--model", "hashing:384")
    assert code == 2 and out == ""
    assert err.startswith("semkit: error: the classifier was trained on sentence-transformers/")
    assert err.count("\n") == 1


def test_classify_eval_on_a_split_and_on_a_test_file(labelled, capsys):
    code, out, _ = run(
        capsys, "classify", "eval", "--input", labelled["all"], "--label-field", "label",
        "--test-size", "0.5", "--seed", "0", "--json",
    )  # fmt: skip
    result = json.loads(out)
    assert code == 0 and result["train"] + result["test"] == 39
    assert result["accuracy"] >= 0.85 and 0 < result["macro_f1"] <= 1
    assert set(result["per_label"]) == {"computing", "cooking", "sports"}
    code, out, _ = run(
        capsys, "classify", "eval", "--input", labelled["train"], "--test", labelled["test"],
        "--label-field", "label", "--method", "knn", "--k", "5", "--json",
    )  # fmt: skip
    result = json.loads(out)
    assert code == 0 and (result["train"], result["test"]) == (30, 9)
    assert result["accuracy"] == 1.0 and result["macro_f1"] == 1.0
    code, out, _ = run(capsys, "classify", "eval", "--input", labelled["all"], "-l", "label")
    assert code == 0 and "accuracy" in out and "macro-F1" in out


def test_classify_zero_shot_predicts_and_compares_label_wordings(labelled, capsys):
    code, out, _ = run(
        capsys, "classify", "zero-shot", "--labels", "cooking,sports,computing",
        "Stir the risotto until creamy", "The compiler rejects the code", "--json",
    )  # fmt: skip
    assert code == 0 and [r["label"] for r in json.loads(out)] == ["cooking", "computing"]
    code, out, _ = run(
        capsys, "classify", "zero-shot", "--labels", "cooking,sports,computing",
        "--input", labelled["test"], "--label-field", "label", "--json",
    )  # fmt: skip
    result = json.loads(out)
    assert code == 0 and result["n"] == 9
    assert {r["template"] for r in result["results"]} == {None, "This text is about {label}."}
    assert result["results"][0]["accuracy"] == 1.0
    code, _, err = run(
        capsys, "classify", "zero-shot", "--labels", "food,sport", "--input", labelled["test"],
        "--label-field", "label",
    )  # fmt: skip
    assert code == 2 and "not among the zero-shot labels" in err


def test_classify_on_a_collection(labelled, tmp_path, capsys):
    db, clf = tmp_path / "db", tmp_path / "clf"
    assert run(capsys, "add", "texts", labelled["all"], "--db", db)[0] == 0
    code, out, _ = run(
        capsys, "classify", "train", "--collection", "texts", "--where", '{"split": "train"}',
        "--label-field", "label", "--db", db, "--out", clf, "--json",
    )  # fmt: skip
    assert code == 0 and json.loads(out)["trained_on"] == 30
    code, out, _ = run(
        capsys, "classify", "predict", clf, "-c", "texts", "--where", '{"split": "test"}',
        "--db", db, "--json",
    )  # fmt: skip
    rows = json.loads(out)
    expected = {json.loads(line)["id"]: json.loads(line)["label"]
                for line in labelled["test"].read_text().splitlines()}  # fmt: skip
    assert {r["id"]: r["label"] for r in rows} == expected


def test_similar_recommends_related_documents_and_steers_away_from_negatives(demo_db, capsys):
    code, out, _ = run(capsys, "similar", "demo", "ml-001", "-k", "8", "--db", demo_db, "--json")
    hits = json.loads(out)
    assert code == 0 and len(hits) == 8 and "ml-001" not in [h["id"] for h in hits]
    assert all(h["metadata"]["category"] == "ML" for h in hits)
    assert hits == sorted(hits, key=lambda h: -h["score"])

    positive, negative = "ml-002", hits[0]["id"]
    _, out, _ = run(capsys, "similar", "demo", positive, "-k", "10", "--db", demo_db, "--json")
    plain = [h["id"] for h in json.loads(out)]
    _, out, _ = run(
        capsys, "similar", "demo", positive, "--negative", negative, "-k", "10",
        "--db", demo_db, "--json",
    )  # fmt: skip
    steered = [h["id"] for h in json.loads(out)]
    assert positive not in steered and negative not in steered
    with semkit.open(demo_db) as db:
        coll = db.collection("demo", create=False)
        neg = coll.document_vectors([negative])[0]
        closeness = [float((coll.document_vectors(ids) @ neg).mean()) for ids in (plain, steered)]
    assert closeness[1] < closeness[0]  # results moved away from the negative example

    code, out, _ = run(
        capsys, "similar", "demo", "ml-001", "--where", '{"category": "Food"}', "-k", "3",
        "--db", demo_db, "--json",
    )  # fmt: skip
    assert code == 0 and {h["metadata"]["category"] for h in json.loads(out)} == {"Food"}
    code, _, err = run(capsys, "similar", "demo", "nope", "--db", demo_db)
    assert code == 2 and "no document with id 'nope'" in err


def test_analogy_over_a_collection_keeps_vocab_working(tmp_path, capsys):
    words = tmp_path / "words.txt"
    words.write_text("\n".join(WORDS) + "\n")
    db = tmp_path / "db"
    assert run(capsys, "add", "words", words, "--db", db)[0] == 0
    code, out, _ = run(
        capsys, "analogy", "king", "man", "woman", "--collection", "words", "--db", db, "--json"
    )
    results = json.loads(out)["results"]
    assert code == 0 and results[0]["candidate"] == "queen"
    assert not {"king", "man", "woman"} & {r["candidate"] for r in results}
    code, out, _ = run(capsys, "analogy", "king", "man", "woman", "--vocab", words, "--json")
    assert code == 0 and json.loads(out)["results"][0]["candidate"] == "queen"
    code, _, err = run(capsys, "analogy", "king", "man", "woman")
    assert code == 2 and "--vocab FILE or --collection NAME" in err


def test_context_packs_cited_chunks_within_the_budget(demo_db, capsys, embedder):
    with semkit.open(demo_db) as db:
        texts = {d.id: d.text for d in db.collection("demo", create=False).get()}
    for budget in (30, 64, 100, 257, 600):
        code, out, _ = run(
            capsys, "context", "demo", "how do AI models learn?", "--max-tokens", budget,
            "--db", demo_db, "--format", "json",
        )  # fmt: skip
        ctx = json.loads(out)
        assert code == 0 and ctx["tokens"] <= budget and ctx["chunks"]
        assert embedder.count_tokens(ctx["context"])[0] == ctx["tokens"]
        for c in ctx["chunks"]:
            assert texts[c["id"]][c["start"] : c["end"]] == c["text"]
            assert f"[{c['id']}:{c['start']}-{c['end']}]\n{c['text']}" in ctx["context"]
    code, out, err = run(
        capsys,
        "context",
        "demo",
        "how do AI models learn?",
        "-t",
        "200",
        "-k",
        "2",
        "--db",
        demo_db,
    )
    assert code == 0 and out.startswith("[") and out.count("\n[") == 1  # two blocks
    assert "2 chunks" in err and "/200 tokens" in err
    code, out, err = run(capsys, "context", "demo", "espresso", "-t", "3", "--db", demo_db)
    assert code == 0 and out == "" and "no chunk fits in 3 tokens" in err
    code, _, err = run(
        capsys, "context", "demo", "x", "-t", "9", "--format", "xml", "--db", demo_db
    )
    assert code == 2 and "unknown format 'xml'" in err


def test_map_writes_png_and_html_deterministically(demo_db, tmp_path, capsys):
    png, html = tmp_path / "map.png", tmp_path / "map.html"
    args = ["map", "-c", "demo", "--db", demo_db, "--method", "pca", "--color-by", "category",
            "--label-by", "topic", "--json"]  # fmt: skip
    code, out, _ = run(capsys, *args, "--out", png, "--out", html)
    result = json.loads(out)
    assert code == 0 and result["documents"] == 90 and len(result["points"]) == 90
    assert png.stat().st_size > 10_000 and html.stat().st_size > 3_000_000
    assert {p["group"] for p in result["points"]} == {"ML", "Dev", "Food"}
    _, again, _ = run(capsys, *args, "--out", png)
    coords = [np.asarray([(p["x"], p["y"]) for p in json.loads(o)["points"]]) for o in (out, again)]
    assert np.array_equal(coords[0], coords[1])
    code, out, _ = run(
        capsys, "map", "--input", tmp_path / "docs.jsonl", "--method", "pca", "--color-by",
        "cluster", "--clusters", "3", "--out", png,
    )  # fmt: skip
    assert code == 0 and f"wrote {png} (90 documents, pca)" in out
    code, _, err = run(capsys, "map", "-c", "demo", "--db", demo_db, "--out", tmp_path / "m.jpg")
    assert (
        code == 2
        and err == f"semkit: error: --out {tmp_path / 'm.jpg'}: use a .png or .html file\n"
    )
    code, _, err = run(capsys, *args[:-1], "--color-by", "colour", "--out", png)
    assert code == 2 and "no document has a metadata field 'colour'" in err
