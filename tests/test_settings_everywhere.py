"""The ``model`` setting (and ``db``) reach every entry point: config file < environment <
explicit argument, checked through the config file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import semkit
from semkit import config
from semkit.cli.main import main

DATA = Path(__file__).parent / "data"
MISSING = "/nonexistent/semkit-test-model"


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def write_config(text: str) -> None:
    config.config_file().write_text(text, encoding="utf-8")


def test_python_entry_points_follow_file_then_env_then_argument(tmp_path, monkeypatch):
    write_config('model = "hashing:16"\n')
    assert semkit.Embedder().dim == 16
    assert semkit.embed("a text").shape == (16,)
    with semkit.open(tmp_path / "db") as db:
        assert db.collection("c").dim == 16
    monkeypatch.setenv("SEMKIT_MODEL", "hashing:8")
    assert semkit.Embedder().dim == 8
    assert semkit.embed("a text").shape == (8,)
    assert semkit.Embedder("hashing:4").dim == 4
    with semkit.open(tmp_path / "db") as db:  # an existing collection keeps its own model
        assert db.collection("c").dim == 16


def test_cli_follows_file_then_env_then_flag(tmp_path, capsys, monkeypatch):
    write_config(f'model = "hashing:16"\ndb = "{tmp_path / "configured-db"}"\n')
    code, out, _ = run(capsys, "embed", "a text")
    assert code == 0 and len(json.loads(out)["embedding"]) == 16
    code, out, _ = run(capsys, "add", "notes", DATA / "sentences.txt", "--json")
    assert code == 0 and (tmp_path / "configured-db").is_dir()
    code, out, _ = run(capsys, "info", "notes", "--json")
    assert json.loads(out)["dim"] == 16
    monkeypatch.setenv("SEMKIT_MODEL", "hashing:8")
    assert len(json.loads(run(capsys, "embed", "a text")[1])["embedding"]) == 8
    flag = run(capsys, "embed", "a text", "--model", "hashing:4")[1]
    assert len(json.loads(flag)["embedding"]) == 4


COMMANDS = [
    ["embed", "a text"],
    ["similarity", "one", "two"],
    ["analogy", "king", "man", "woman", "--vocab", DATA / "sentences.txt"],
    ["add", "c", DATA / "sentences.txt", "--db", "{tmp}/db"],
    ["cluster", "-i", DATA / "sentences.txt", "--k", "2"],
    ["duplicates", "-i", DATA / "sentences.txt"],
    ["outliers", "-i", DATA / "sentences.txt"],
    ["map", "-i", DATA / "sentences.txt", "--out", "{tmp}/m.png"],
    [
        "classify",
        "train",
        "-i",
        DATA / "labelled.jsonl",
        "--label-field",
        "label",
        "--out",
        "{tmp}/c",
    ],
    ["classify", "eval", "-i", DATA / "labelled.jsonl", "--label-field", "label"],
    ["classify", "zero-shot", "--labels", "a,b", "-i", DATA / "sentences.txt"],
    ["eval", "sts", "--pairs", DATA / "sts_tiny.csv"],
    ["eval", "retrieval", "--beir", DATA / "beir_tiny"],
    ["finetune", "--train", DATA / "train_pairs.jsonl", "--out", "{tmp}/ft"],
]


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda a: " ".join(map(str, a[:2])))
def test_every_command_that_embeds_uses_the_configured_model(argv, tmp_path, capsys):
    """A model named only in the config file is the one each command tries to load."""
    write_config(f'model = "{MISSING}"\n')
    args = [str(a).replace("{tmp}", str(tmp_path)) for a in argv]
    code, _, err = run(capsys, *args)
    assert code == 2 and f"no model directory at {MISSING}" in err, err
