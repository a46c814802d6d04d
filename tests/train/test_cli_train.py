"""`semkit finetune` on the command line, and a tuned model through `semkit reindex`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import semkit
from semkit.cli.main import main
from semkit.errors import ModelError

DATA = Path(__file__).parents[1] / "data"
PAIRS, TINY = DATA / "train_pairs.jsonl", DATA / "beir_tiny"


def test_help_lists_the_options(capsys):
    assert main(["finetune", "--help"]) == 0
    text = capsys.readouterr().out
    for option in ("--train", "--beir", "--loss", "--mine-negatives", "--eval-beir", "--resume"):
        assert option in text


def test_finetune_json(tmp_path, capsys):
    out = tmp_path / "model"
    args = ["finetune", "--train", str(PAIRS), "--out", str(out), "--max-steps", "1"]
    args += ["--batch-size", "4", "--checkpoint-steps", "0", "--eval-beir", str(TINY)]
    args += ["--eval-dims", "384,64", "--json"]
    assert main(args) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["model_dir"] == str(out) and payload["steps"] == 1
    assert payload["loss_class"] == "MultipleNegativesRankingLoss"
    assert payload["fingerprint"] != payload["base_fingerprint"]
    assert {r["metric"] for r in payload["comparison"]} >= {"ndcg_at_10", "recall_at_100"}
    assert {r["dims"] for r in payload["comparison"]} == {384, 64}
    assert payload["evaluation"]["split"] == "test" and payload["evaluation"]["queries"] == 3
    assert (out / "README.md").is_file() and (out / "model.safetensors").is_file()


def test_finetune_errors_are_one_line(tmp_path, capsys):
    args = ["finetune", "--beir", str(TINY), "--split", "dev", "--out", str(tmp_path / "m")]
    assert main([*args, "--eval-beir", str(TINY)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("semkit: error: the training data shares 1 query id(s)")
    assert err.count("\n") == 1
    assert main(["finetune", "--out", str(tmp_path / "m")]) == 2
    assert "exactly one of --train FILE or --beir DIR" in capsys.readouterr().err


def test_reindex_a_collection_with_the_tuned_model(tuned, tmp_path, monkeypatch, capsys):
    db_path = tmp_path / "db"
    texts = [line for line in (DATA / "sentences.txt").read_text().splitlines() if line][:8]
    with semkit.open(db_path) as db:
        db.collection("docs").add(texts)
        with pytest.raises(ModelError, match="semkit reindex docs --model"):
            db.collection("docs", model=str(tuned.model_dir))
    code = main(
        ["reindex", "docs", "--model", str(tuned.model_dir), "--db", str(db_path), "--json"]
    )
    assert code == 0
    assert json.loads(capsys.readouterr().out)["model_id"] == tuned.model_dir.name
    with semkit.open(db_path) as db:
        coll = db.collection("docs", model=str(tuned.model_dir))  # accepted now
        assert coll.info()["fingerprint"] == tuned.fingerprint and coll.count() == len(texts)
        assert coll.search(texts[0], k=1)[0].text == texts[0]
        with pytest.raises(ModelError, match="was built with"):
            db.collection("docs", model="default")
