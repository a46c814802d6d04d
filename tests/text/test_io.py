"""Reading texts and records from the supported file formats."""

from __future__ import annotations

import pytest

from semkit.errors import InputError
from semkit.text.io import read_records, read_texts


def test_txt_skips_blank_lines_and_bom(tmp_path):
    p = tmp_path / "a.txt"
    p.write_bytes("\ufefffirst\r\n\r\nsecond\n".encode())
    assert read_texts(p) == ["first", "second"]


def test_csv_and_tsv_records_keep_other_columns_as_metadata(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text('id,text,lang\n1,"hello, world",en\n2,bonjour,fr\n')
    records = list(read_records(p, id_field="id"))
    assert [(r.id, r.text, r.metadata) for r in records] == [
        ("1", "hello, world", {"lang": "en"}),
        ("2", "bonjour", {"lang": "fr"}),
    ]
    t = tmp_path / "a.tsv"
    t.write_text("body\tn\nx y\t3\n")
    assert read_texts(t, "body") == ["x y"]


def test_jsonl_and_parquet(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    j = tmp_path / "a.jsonl"
    j.write_text('{"text": "a", "tags": ["x"]}\n\n{"text": "b"}\n')
    assert [r.metadata for r in read_records(j)] == [{"tags": ["x"]}, {}]
    q = tmp_path / "a.parquet"
    pq.write_table(pa.table({"text": ["p", "q"], "year": [2020, 2021]}), q)
    assert [(r.text, r.metadata["year"]) for r in read_records(q)] == [("p", 2020), ("q", 2021)]


def test_folder_of_text_files(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.md").write_text("# A")
    (tmp_path / "sub" / "b.txt").write_text("B")
    (tmp_path / "skip.bin").write_bytes(b"\0")
    assert [(r.id, r.text) for r in read_records(tmp_path)] == [("a.md", "# A"), ("sub/b.txt", "B")]


@pytest.mark.parametrize(
    "name,content,message",
    [
        ("bad.jsonl", '{"text": "ok"}\n{oops\n', "bad.jsonl:2: not valid JSON"),
        ("list.jsonl", '["a"]\n', "expected a JSON object"),
        ("nofield.jsonl", '{"body": "a"}\n', "no field 'text'"),
        ("a.xml", "<a/>", "unsupported format"),
    ],
)
def test_bad_files_are_clear_errors(tmp_path, name, content, message):
    p = tmp_path / name
    p.write_text(content)
    with pytest.raises(InputError, match=message):
        list(read_records(p))


def test_invalid_utf8(tmp_path):
    p = tmp_path / "a.txt"
    p.write_bytes(b"ok\n\xff\xfe bad\n")
    with pytest.raises(InputError, match="not valid UTF-8"):
        read_texts(p)


def test_pipe_and_bare_file_are_text_lines(tmp_path, fifo):
    assert read_texts(fifo("63", "queen\n\nking\n")) == ["queen", "king"]
    bare = tmp_path / "words"
    bare.write_text("\ufeffalpha\nbeta\n")
    assert read_texts(bare) == ["alpha", "beta"]


def test_pipe_with_json_lines_is_records(fifo):
    pipe = fifo("rows", '\n{"id": "a", "text": "first", "n": 1}\n{"text": "second"}\n')
    records = list(read_records(pipe))
    assert [(r.id, r.text, r.metadata) for r in records] == [
        ("a", "first", {"n": 1}),
        (None, "second", {}),
    ]


def test_stdin_is_sniffed(monkeypatch):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO('{"body": "x", "k": 2}\n'))
    assert [(r.text, r.metadata) for r in read_records("-", text_field="body")] == [("x", {"k": 2})]
    monkeypatch.setattr("sys.stdin", io.StringIO("{not json\nplain\n"))
    assert read_texts("-") == ["{not json", "plain"]


def test_field_on_plain_lines_is_an_error(tmp_path):
    bare = tmp_path / "words"
    bare.write_text("alpha\n")
    with pytest.raises(InputError, match="plain text lines"):
        list(read_records(bare, text_field="body"))


def test_iter_rows_reads_a_pipe_as_json_lines(fifo):
    from semkit.text.io import iter_rows

    rows = list(iter_rows(fifo("pairs", '{"anchor": "a", "positive": "b"}\n')))
    assert rows == [(1, {"anchor": "a", "positive": "b"})]
