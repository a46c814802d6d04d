"""`semkit cluster`, `duplicates` and `outliers` end to end, on a file and on a collection."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from semkit.cli.main import main

TOPICS = Path(__file__).parents[1] / "data" / "topics.jsonl"


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def topic_of() -> dict[str, str]:
    rows = [json.loads(line) for line in TOPICS.read_text().splitlines()]
    return {r["id"]: r["topic"] for r in rows}


def test_cluster_a_file_as_json_and_to_a_file(tmp_path, capsys):
    on_topic = tmp_path / "on_topic.jsonl"
    on_topic.write_text(
        "".join(line + "\n" for line in TOPICS.read_text().splitlines() if '"other"' not in line)
    )
    out_csv = tmp_path / "assignments.csv"
    code, out, _ = run(
        capsys, "cluster", "--input", on_topic, "--k", "3", "--out", out_csv, "--json"
    )
    assert code == 0
    result = json.loads(out)
    assert result["k"] == 3 and result["documents"] == 24 and result["method"] == "kmeans"
    topics = topic_of()
    for c in result["clusters"]:
        members = {a["id"] for a in result["assignments"] if a["cluster"] == c["cluster"]}
        assert len({topics[i] for i in members}) == 1 and c["size"] == 8
        assert c["representatives"][0]["text"]
    rows = list(csv.DictReader(out_csv.read_text().splitlines()))
    assert {(r["id"], int(r["cluster"])) for r in rows} == {
        (a["id"], a["cluster"]) for a in result["assignments"]
    }
    # same seed, same answer; the table names clusters by their keywords
    code, again, _ = run(capsys, "cluster", "--input", on_topic, "--k", "3", "--json")
    assert json.loads(again)["assignments"] == result["assignments"]
    code, table, _ = run(capsys, "cluster", "--input", on_topic, "--k", "3")
    assert code == 0 and "3 clusters of 24 documents" in table and "bread" in table


def test_cluster_writes_back_to_a_collection(tmp_path, capsys):
    db = tmp_path / "db"
    assert run(capsys, "add", "docs", TOPICS, "--db", db, "--json")[0] == 0
    code, out, _ = run(
        capsys,
        "cluster",
        "--collection",
        "docs",
        "--db",
        db,
        "--where",
        '{"topic": {"$ne": "other"}}',
        "--k-range",
        "2..6",
        "--write-field",
        "cluster",
        "--json",
    )
    assert code == 0
    result = json.loads(out)
    assert result["k"] == 3 and result["written"] == 24 and "3" in result["silhouette_by_k"]
    code, out, _ = run(capsys, "get", "docs", "--where", '{"cluster": 0}', "--db", db, "--json")
    docs = json.loads(out)
    expected = {a["id"] for a in result["assignments"] if a["cluster"] == 0}
    assert {d["id"] for d in docs} == expected and len(docs) == 8
    assert all(d["metadata"]["topic"] != "other" for d in docs)


def test_hdbscan_reports_noise(tmp_path, capsys):
    code, out, _ = run(
        capsys, "cluster", "-i", TOPICS, "--method", "hdbscan", "--min-cluster-size", "4", "--json"
    )
    result = json.loads(out)
    noise = {a["id"] for a in result["assignments"] if a["cluster"] == -1}
    assert code == 0 and result["k"] == 3 and {"tax", "knit"} <= noise
    assert result["clusters"][-1]["name"] == "noise"


def test_duplicates_finds_planted_pairs(tmp_path, capsys):
    path = tmp_path / "docs.jsonl"
    rows = [json.loads(line) for line in TOPICS.read_text().splitlines()]
    rows.append({"id": "copy", "text": rows[8]["text"].replace(".", "!")})
    rows.append(
        {"id": "para", "text": "Astronomers have found a new planet that orbits a faraway star."}
    )
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    code, out, _ = run(capsys, "duplicates", "-i", path, "--threshold", "0.8", "--json")
    assert code == 0
    result = json.loads(out)
    assert {(p["id_a"], p["id_b"]) for p in result["pairs"]} == {("foo0", "copy"), ("ast1", "para")}
    assert result["pairs"][0]["text_b"].endswith("match!")
    assert sorted(g["ids"] for g in result["groups"]) == [["ast1", "para"], ["foo0", "copy"]]
    code, table, _ = run(capsys, "duplicates", "-i", path, "--threshold", "0.8")
    assert code == 0 and "2 pairs with cosine >= 0.8 in 2 groups among 28 documents" in table


def test_duplicates_mutual_keeps_each_texts_best_match(tmp_path, capsys):
    path = tmp_path / "docs.jsonl"
    rows = [json.loads(line) for line in TOPICS.read_text().splitlines()]
    news = {
        "news1": "The S&P 500 index rose 8 points, or 0.8 percent, to 990.",
        "news2": "The S&P 500 index fell 3 points, or 0.3 percent, to 985.",
        "news3": "The Nasdaq index rose 12 points, or 0.7 percent, to 1,650.",
    }  # news1 and news2 are each other's best match; news3 is a looser match of news1
    rows += [{"id": i, "text": text} for i, text in news.items()]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    found = []
    for flags in ([], ["--mutual"]):
        code, out, _ = run(capsys, "duplicates", "-i", path, "-t", "0.65", *flags, "--json")
        assert code == 0
        found.append(json.loads(out))
    plain, mutual = found
    assert ["news1", "news2", "news3"] in [g["ids"] for g in plain["groups"]]
    assert ["news1", "news2"] in [g["ids"] for g in mutual["groups"]]
    pairs = {(p["id_a"], p["id_b"]) for p in mutual["pairs"]}
    assert pairs == {(p["id_a"], p["id_b"]) for p in plain["pairs"]} - {("news1", "news3")}
    assert mutual["mutual"] is True and plain["mutual"] is False
    code, table, _ = run(capsys, "duplicates", "-i", path, "-t", "0.65", "--mutual")
    assert code == 0 and "mutual best matches within 0.02" in table


def test_outliers_ranks_the_off_topic_texts_first(capsys):
    for method in ("knn", "lof"):
        code, out, _ = run(
            capsys, "outliers", "-i", TOPICS, "--method", method, "--top", "2", "--json"
        )
        result = json.loads(out)
        assert code == 0 and {o["id"] for o in result["top"]} == {"tax", "knit"}
        assert result["method"] == method and result["top"][0]["rank"] == 1
    code, table, _ = run(capsys, "outliers", "-i", TOPICS, "--top", "3", "-k", "5")
    assert code == 0 and "income tax" in table


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["duplicates", "-i", TOPICS, "--threshold", "1.5"], "cosine similarity in (0, 1]"),
        (["cluster", "-i", TOPICS, "--k", "many"], "--k must be a number of clusters or 'auto'"),
        (["cluster", "-i", TOPICS, "--k-range", "5..2"], "--k-range must look like 2..12"),
        (["cluster", "-i", TOPICS, "--write-field", "c"], "--write-field writes to a collection"),
        (["cluster", "-i", TOPICS, "--out", "a.txt"], "--out must end in .jsonl or .csv"),
        (["cluster", "-i", TOPICS, "--method", "hdbscan", "--k", "3"], "leave out --k"),
        (["outliers", "-i", TOPICS, "--method", "iforest"], "--method must be one of knn, lof"),
        (["outliers", "-c", "docs", "-i", TOPICS], "give either --collection NAME or --input"),
        (["outliers"], "give either --collection NAME or --input"),
    ],
)
def test_mistakes_print_one_line_and_exit_2(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.startswith("semkit: error: ") and message in err and err.count("\n") == 1
