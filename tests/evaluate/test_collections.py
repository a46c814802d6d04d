"""Evaluation through the product path (collections) agrees with the reference exact run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import semkit
from semkit.cli.main import main
from semkit.evaluate import dense_exact_run, evaluate_retrieval, load_beir
from semkit.evaluate.collections import ann_recall, evaluate_beir

TINY = Path(__file__).parents[1] / "data" / "beir_tiny"


def test_collection_path_equals_reference_exact_run(default_provider):
    dataset = load_beir(TINY)
    reference = evaluate_retrieval(
        dense_exact_run(semkit.Embedder(default_provider), dataset, top_k=10),
        dataset.qrels,
        (1, 3, 5),
    )
    [result] = evaluate_beir(TINY, modes=("dense",), truncate=(True,), k_values=(1, 3, 5))
    for name, value in reference.items():
        assert result.scores[name] == pytest.approx(value, abs=1e-6), name
    assert result.config["mode"] == "dense" and result.config["chunking"] == "truncate"
    assert result.config["fingerprint"] == default_provider.fingerprint


def test_grid_of_modes_and_dims(default_provider):
    results = evaluate_beir(
        TINY, modes=("dense", "lexical", "hybrid"), dims=(384, 64), k_values=(1, 5)
    )
    cells = {(r.config["mode"], r.config["dims"]) for r in results}
    assert cells == {(m, d) for m in ("dense", "lexical", "hybrid") for d in (384, 64)}
    dense = next(r for r in results if r.config["mode"] == "dense" and r.config["dims"] == 384)
    assert dense.scores["ndcg_at_1"] == 1.0  # every tiny query finds its document first
    hybrid = next(r for r in results if r.config["mode"] == "hybrid")
    assert hybrid.config["fusion"]["method"] == "weighted RRF"


def test_cli_eval_retrieval_json(capsys, tmp_path, default_provider):
    out = tmp_path / "scores.json"
    code = main(
        [
            "eval",
            "retrieval",
            "--beir",
            str(TINY),
            "--mode",
            "dense,lexical",
            "--k",
            "1,5",
            "--json",
            "--out",
            str(out),
        ]
    )
    printed = json.loads(capsys.readouterr().out)
    assert code == 0 and printed == json.loads(out.read_text())
    modes = [r["config"]["mode"] for r in printed["results"]]
    assert modes == ["dense", "lexical"]
    assert all(0 <= r["scores"]["ndcg_at_5"] <= 1 for r in printed["results"])


def test_cli_eval_sts(capsys, default_provider):
    code = main(["eval", "sts", "--pairs", str(TINY.parent / "sts_tiny.csv"), "--json"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0 and -1 <= payload["scores"]["cosine_spearman"] <= 1
    assert payload["config"]["dims"] == 384


def test_ann_recall_of_an_hnsw_collection(tmp_path, capsys):
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((2000, 16)).astype(np.float32)
    with semkit.open(tmp_path / "db") as db:
        coll = db.collection("v", model=None, dims=16, index="hnsw")
        coll.add(embeddings=vectors, ids=[f"v{i}" for i in range(2000)])
        result = ann_recall(coll, k=10, sample=50)
    assert result["index"] == "hnsw" and result["queries"] == 50
    assert result["recall_at_10"] >= 0.9
    code = main(["eval", "ann", "v", "--db", str(tmp_path / "db"), "--sample", "20", "--json"])
    assert code == 0 and json.loads(capsys.readouterr().out)["recall_at_10"] >= 0.9
