"""The collection commands end to end: add (resumable), search, get, delete, list, info, ..."""

from __future__ import annotations

import json

import pytest

import semkit
from semkit.cli.main import main

DOCS = [
    {
        "id": "py",
        "text": "Python is a high-level programming language",
        "topic": "dev",
        "year": 2019,
    },
    {
        "id": "ml",
        "text": "Machine learning is a subset of artificial intelligence",
        "topic": "ml",
        "year": 2020,
    },
    {
        "id": "nn",
        "text": "Neural networks are inspired by the human brain",
        "topic": "ml",
        "year": 2021,
    },
    {
        "id": "gd",
        "text": "Gradient descent is an optimization algorithm used to train models",
        "topic": "ml",
        "year": 2022,
    },
    {
        "id": "paris",
        "text": "The Eiffel Tower is located in Paris",
        "topic": "travel",
        "year": 2018,
    },
]


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "docs.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in DOCS))
    return path


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_add_search_get_delete_roundtrip(tmp_path, corpus, capsys, default_provider):
    db = tmp_path / "db"
    code, out, _ = run(capsys, "add", "docs", corpus, "--db", db, "--json")
    assert code == 0 and json.loads(out)["written"] == 5
    code, out, _ = run(
        capsys, "search", "docs", "how do AI models learn?", "-k", "3", "--db", db, "--json"
    )
    hits = json.loads(out)
    assert code == 0 and {h["id"] for h in hits} == {"ml", "nn", "gd"}
    assert hits[0]["metadata"]["topic"] == "ml" and hits[0]["chunk"]["start"] == 0
    code, out, _ = run(
        capsys,
        "search",
        "docs",
        "anything",
        "--where",
        '{"year": {"$gte": 2021}}',
        "--db",
        db,
        "--json",
    )
    assert {h["id"] for h in json.loads(out)} == {"nn", "gd"}
    code, out, _ = run(
        capsys, "search", "docs", "Eiffel", "--mode", "lexical", "--db", db, "--json"
    )
    assert [h["id"] for h in json.loads(out)] == ["paris"]
    code, out, _ = run(capsys, "get", "docs", "py", "paris", "--db", db, "--json")
    assert [d["id"] for d in json.loads(out)] == ["py", "paris"]
    code, out, _ = run(
        capsys, "delete", "docs", "--where", '{"topic": "travel"}', "--db", db, "--json"
    )
    assert json.loads(out) == {"deleted": 1}
    code, out, _ = run(capsys, "list", "--db", db, "--json")
    assert json.loads(out)[0]["documents"] == 4
    code, out, _ = run(capsys, "info", "docs", "--db", db, "--json")
    info = json.loads(out)
    assert info["dim"] == 384 and info["model_id"] == semkit.DEFAULT_MODEL_ID
    assert info["database_bytes"] > 0


def test_rerun_after_interruption_embeds_only_what_is_missing(
    tmp_path, corpus, capsys, default_provider
):
    db = tmp_path / "db"
    with semkit.open(db) as database:  # as if a first run died after two documents
        database.collection("docs").add(
            [d["text"] for d in DOCS[:2]],
            ids=["py", "ml"],
            metadatas=[{"topic": d["topic"], "year": d["year"]} for d in DOCS[:2]],
        )
    code, out, _ = run(capsys, "add", "docs", corpus, "--db", db, "--json")
    summary = json.loads(out)
    assert code == 0 and summary["written"] == 3 and summary["unchanged"] == 2
    assert summary["documents"] == 5
    code, out, _ = run(capsys, "add", "docs", corpus, "--db", db, "--json")
    assert json.loads(out)["written"] == 0 and json.loads(out)["embedded"] == 0


def test_add_formats_and_options(tmp_path, capsys):
    db = tmp_path / "db"
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "a.md").write_text("# Alpha\nalpha notes")
    (folder / "b.txt").write_text("beta notes")
    lines = tmp_path / "lines.txt"
    lines.write_text("first line\nsecond line\nfirst line\n")  # a repeated text: one document
    csv = tmp_path / "rows.csv"
    csv.write_text("key,body,n\nk1,csv row one,1\nk2,csv row two,2\n")
    assert run(capsys, "add", "notes", folder, lines, "--model", "hashing:16", "--db", db)[0] == 0
    code, out, _ = run(
        capsys,
        "add",
        "rows",
        csv,
        "--field",
        "body",
        "--id-field",
        "key",
        "--model",
        "hashing:16",
        "--index",
        "hnsw",
        "--db",
        db,
        "--json",
    )
    assert code == 0 and json.loads(out)["documents"] == 2
    code, out, _ = run(capsys, "get", "rows", "k2", "--db", db, "--json")
    assert json.loads(out) == [{"id": "k2", "text": "csv row two", "metadata": {"n": "2"}}]
    code, out, _ = run(capsys, "get", "notes", "--db", db, "--json")
    by_id = {d["id"]: d for d in json.loads(out)}  # a folder's files: one document each
    assert set(by_id) >= {str(folder.resolve() / "a.md"), str(folder.resolve() / "b.txt")}
    assert by_id[str(folder.resolve() / "a.md")]["metadata"]["title"] == "Alpha"
    assert len(by_id) == 4


def test_maintenance_commands(tmp_path, capsys):
    db = tmp_path / "db"
    with semkit.open(db) as database:
        coll = database.collection("h", model="hashing:32", index="hnsw")
        coll.add([f"document number {i}" for i in range(300)])
    code, out, _ = run(capsys, "index", "rebuild", "h", "--db", db, "--json")
    assert code == 0 and json.loads(out) == {"collection": "h", "index": "hnsw", "vectors": 300}
    code, out, _ = run(capsys, "verify", "--db", db, "--json")
    assert code == 0 and json.loads(out) == {"database": [], "h": []}
    code, out, _ = run(capsys, "delete", "h", "--where", '{"$contains": "number 1"}', "--db", db)
    assert code == 0
    code, out, _ = run(capsys, "compact", "--db", db, "--json")
    sizes = json.loads(out)
    assert code == 0 and sizes["bytes_after"] <= sizes["bytes_before"]
    index_file = next((db / "indexes").glob("*.hnsw"))
    index_file.write_bytes(index_file.read_bytes()[:-10])
    code, out, _ = run(capsys, "verify", "--db", db)
    assert code == 1 and "unusable" in out


def test_reindex_command(tmp_path, capsys, default_provider):
    db = tmp_path / "db"
    with semkit.open(db) as database:
        database.collection("r", model="hashing:16").add(["one", "two", "three"])
    code, out, _ = run(capsys, "reindex", "r", "--model", "default", "--db", db, "--json")
    assert code == 0 and json.loads(out)["model_id"] == semkit.DEFAULT_MODEL_ID


@pytest.mark.parametrize(
    "argv,message",
    [
        (["search", "missing", "x"], "no collection 'missing'"),
        (["search", "c", "x", "--where", "{bad json"], "--where is not valid JSON"),
        (["search", "c", "x", "--where", '{"year": {"$near": 1}}'], "$near"),
        (["search", "c", "x", "--mode", "fuzzy"], "unknown mode"),
        (["add", "c", "nope.jsonl"], "no such file"),
        (["add", "c", "docs.jsonl", "--model", "hashing:8"], "cannot be mixed"),
    ],
)
def test_collection_mistakes_are_one_line_exit_2(
    tmp_path, corpus, capsys, argv, message, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    with semkit.open(tmp_path / "db") as database:
        database.collection("c", model="hashing:16").add(["x y"])
    code, _, err = run(capsys, *argv, "--db", tmp_path / "db")
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and message in lines[0], err
