"""Loaders for BEIR folders and STS files, on tiny hand-made fixtures in tests/data."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from semkit.errors import InputError
from semkit.evaluate import BeirDataset, document_text, load_beir, load_sts, read_qrels

DATA = Path(__file__).parents[1] / "data"
BEIR = DATA / "beir_tiny"


@pytest.fixture
def beir_copy(tmp_path: Path) -> Path:
    """A writable copy of the tiny BEIR folder, for breaking it on purpose."""
    return Path(shutil.copytree(BEIR, tmp_path / "beir"))


# --- BEIR ------------------------------------------------------------------------------------
def test_load_beir_test_split() -> None:
    ds = load_beir(BEIR)
    assert isinstance(ds, BeirDataset)
    assert ds.name == "beir_tiny" and ds.split == "test"
    assert list(ds.corpus) == ["d1", "d2", "d3", "d4", "d5"]
    assert ds.corpus["d1"] == {
        "title": "Cats",
        "text": "Cats are small domesticated carnivorous mammals that purr.",
    }
    assert ds.corpus["d4"]["title"] == ""  # no title field
    # The header line is skipped, CRLF is handled, relevance-0 judgments are kept.
    assert ds.qrels == {"q1": {"d1": 2, "d4": 1}, "q2": {"d3": 1}, "q3": {"d2": 1, "d5": 0}}
    # Only the queries judged in the split, in qrels order.
    assert list(ds.queries) == ["q1", "q2", "q3"]
    assert ds.queries["q2"] == "How do plants make sugar from light?"
    assert "documents=5" in repr(ds) and "queries=3" in repr(ds)


def test_load_beir_other_split_without_header() -> None:
    ds = load_beir(BEIR, split="dev")
    assert ds.qrels == {"q4": {"d5": 1}, "q1": {"d1": 1}}
    assert list(ds.queries) == ["q4", "q1"]


def test_document_text_is_mteb_title_space_text() -> None:
    ds = load_beir(BEIR)
    ids, texts = ds.documents()
    assert ids == list(ds.corpus)
    assert texts[0] == "Cats Cats are small domesticated carnivorous mammals that purr."
    # Empty or missing title: no leading space.
    assert texts[1].startswith("The stock market")
    assert texts[3].startswith("Dogs are loyal")
    assert document_text({"title": "  T ", "text": "x  "}) == "T  x"
    assert document_text({"title": "Only title", "text": ""}) == "Only title"


@pytest.mark.parametrize(
    ("remove", "message"),
    [
        ("corpus.jsonl", "corpus file not found"),
        ("queries.jsonl", "queries file not found"),
        ("qrels/test.tsv", "qrels for split 'test' not found"),
    ],
)
def test_load_beir_missing_files(beir_copy: Path, remove: str, message: str) -> None:
    (beir_copy / remove).unlink()
    with pytest.raises(InputError, match=message) as err:
        load_beir(beir_copy)
    assert str(beir_copy / remove) in str(err.value)


def test_load_beir_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="folder not found"):
        load_beir(tmp_path / "nope")


def test_load_beir_unknown_split() -> None:
    with pytest.raises(InputError, match="split 'train'"):
        load_beir(BEIR, split="train")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", r"corpus.jsonl:3: not valid JSON"),
        ('["a list"]', r"corpus.jsonl:3: expected a JSON object"),
        ('{"title": "no id", "text": "x"}', r'corpus.jsonl:3: missing field "_id"'),
        ('{"_id": "d9", "title": "no text"}', r'corpus.jsonl:3: missing field "text"'),
        ('{"_id": "d9", "text": 42}', r'corpus.jsonl:3: field "text" must be a string'),
        ('{"_id": "d1", "text": "again"}', r"corpus.jsonl:3: duplicate document id 'd1'"),
    ],
)
def test_load_beir_bad_corpus_rows(beir_copy: Path, line: str, message: str) -> None:
    corpus = beir_copy / "corpus.jsonl"
    rows = corpus.read_text().splitlines()
    corpus.write_text("\n".join([*rows[:2], line, *rows[2:]]) + "\n")
    with pytest.raises(InputError, match=message):
        load_beir(beir_copy)


def test_load_beir_numeric_ids_and_blank_lines(beir_copy: Path) -> None:
    (beir_copy / "corpus.jsonl").write_text('\n{"_id": 7, "title": "", "text": "seven"}\n\n')
    (beir_copy / "queries.jsonl").write_text('{"_id": 1, "text": "one"}\n')
    (beir_copy / "qrels" / "test.tsv").write_text("1\t7\t1\n")
    ds = load_beir(beir_copy)
    assert ds.corpus == {"7": {"title": "", "text": "seven"}}
    assert ds.queries == {"1": "one"} and ds.qrels == {"1": {"7": 1}}


def test_load_beir_judged_query_missing(beir_copy: Path) -> None:
    with (beir_copy / "qrels" / "test.tsv").open("a") as f:
        f.write("q99\td1\t1\n")
    with pytest.raises(InputError, match=r"judged query id\(s\) are not in .*'q99'"):
        load_beir(beir_copy)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("q1\td1\n", r"test.tsv:1: expected 3 tab-separated fields"),
        ("q1\td1\t1\nq1 d2 1\n", r"test.tsv:2: expected 3 tab-separated fields"),
        ("query-id\tcorpus-id\tscore\nq1\td1\thigh\n", r"test.tsv:2: relevance 'high' is not"),
        ("q1\td1\t1.5\n", r"test.tsv:1: relevance '1.5' is not an integer"),
        ("q1\t\t1\n", r"test.tsv:1: empty query-id or corpus-id"),
        ("q1\td1\t1\nq1\td1\t2\n", r"test.tsv:2: \(q1, d1\) judged twice"),
        ("query-id\tcorpus-id\tscore\n\n", r"test.tsv: no relevance judgments"),
    ],
)
def test_read_qrels_bad_rows(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "test.tsv"
    path.write_text(content)
    with pytest.raises(InputError, match=message):
        read_qrels(path)


def test_read_qrels_repeated_identical_judgment_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "qrels.tsv"
    path.write_text("q1\td1\t1\nq1\td1\t1\nq1\td2\t-1\n")
    assert read_qrels(path) == {"q1": {"d1": 1, "d2": -1}}


# --- STS -------------------------------------------------------------------------------------
EXPECTED_S1 = [
    "A man is playing a guitar.",
    "Stocks fall in early trading.",
    'How do I cook "al dente" pasta?',
]
EXPECTED_S2 = [
    "A man plays the guitar.",
    "A cat sleeps on the sofa.",
    "What is the best way to boil pasta?",
]


def test_load_sts_benchmark_format() -> None:
    pairs = load_sts(DATA / "sts_tiny_stsb.csv")
    assert pairs.sentences1 == EXPECTED_S1  # bare quotes kept: no CSV quoting
    assert pairs.sentences2 == EXPECTED_S2
    assert pairs.scores == [5.0, 0.4, 2.75]
    assert len(pairs) == 3


def test_load_sts_tsv_with_header() -> None:
    pairs = load_sts(DATA / "sts_tiny.tsv")
    assert pairs.sentences1 == EXPECTED_S1
    assert pairs.sentences2 == EXPECTED_S2
    assert pairs.scores == [5.0, 0.4, 2.75]


def test_load_sts_csv_with_header_any_column_order() -> None:
    pairs = load_sts(DATA / "sts_tiny.csv")
    assert pairs.sentences1[2] == 'How do I cook "al dente" pasta, quickly?'  # CSV quoting
    assert pairs.sentences1[:2] == EXPECTED_S1[:2]
    assert pairs.sentences2 == EXPECTED_S2
    assert pairs.scores == [5.0, 0.4, 2.75]


def test_load_sts_crlf_bom_and_trailing_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "pairs.csv"
    path.write_bytes(b"\xef\xbb\xbfSentence1,Sentence2,Score\r\na,b,1\r\nc,d,2\r\n\r\n")
    pairs = load_sts(path)
    assert (pairs.sentences1, pairs.sentences2, pairs.scores) == (["a", "c"], ["b", "d"], [1, 2])


def test_load_sts_line_separator_inside_sentence_is_not_a_row_break(tmp_path: Path) -> None:
    path = tmp_path / "sts.csv"
    path.write_text("g\tf\t2012\t1\t3.0\tone\u2028two\tthree\n", encoding="utf-8")
    assert load_sts(path).sentences1 == ["one\u2028two"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("a.csv", "", r"a.csv: empty file"),
        ("a.csv", "\n\n", r"a.csv: empty file"),
        ("a.csv", "sentence1,sentence2,score\n", r"a.csv: no sentence pairs"),
        ("a.csv", "text1,text2,label\nx,y,1\n", r"a.csv:1: not an STS-Benchmark file .*'score'"),
        ("a.csv", "sentence1,sentence2,score\nx,y,1\nx,y\n", r"a.csv:3: expected 3 fields, got 2"),
        ("a.csv", "sentence1,sentence2,score\nx,y,good\n", r"a.csv:2: score 'good' is not a num"),
        ("a.csv", "sentence1,sentence2,score\nx,y,nan\n", r"a.csv:2: score 'nan' is not finite"),
        ("a.csv", "sentence1,sentence2,score\nx, ,1\n", r"a.csv:2: sentence2 is empty"),
        ("b.tsv", "g\tf\t2012\t1\t3.0\tx\ty\ng\tf\t2012\t2\n", r"b.tsv:2: expected at least 7"),
        ("b.tsv", "g\tf\t2012\t1\t3.0\tx\ty\ng\tf\t2012\t2\tinf\tx\ty\n", r"b.tsv:2: score 'inf'"),
        ("b.tsv", "g\tf\t2012\t1\t3.0\t\ty\n", r"b.tsv:1: sentence 1 \(column 6\) is empty"),
    ],
)
def test_load_sts_bad_files(tmp_path: Path, name: str, content: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        load_sts(path)


def test_load_sts_missing_or_binary(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="STS file not found"):
        load_sts(tmp_path / "missing.csv")
    path = tmp_path / "binary.csv"
    path.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(InputError, match="not UTF-8"):
        load_sts(path)


def test_load_sts_from_a_pipe(fifo) -> None:
    content = (DATA / "sts_tiny.csv").read_text(encoding="utf-8")
    assert load_sts(fifo("pairs", content)).scores == load_sts(DATA / "sts_tiny.csv").scores
