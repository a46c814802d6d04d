"""Folders of documents into a collection, kept in step with the folder (semkit.add_documents
and `semkit add COLL ./folder`)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

import semkit
from semkit.cli.main import main

DOCS = Path(__file__).parent / "data" / "documents"
READABLE = ("report.pdf", "notes.docx", "page.html", "guide.md", "tides.txt")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A folder of the readable fixtures, plus a subfolder, a hidden file and a stray file."""
    target = tmp_path / "library"
    (target / "sub").mkdir(parents=True)
    for name in READABLE[:-1]:
        shutil.copy(DOCS / name, target / name)
    shutil.copy(DOCS / "tides.txt", target / "sub" / "tides.txt")
    (target / ".hidden.md").write_text("# hidden\n\nnot for the collection\n")
    (target / "picture.png").write_bytes(b"\x89PNG")
    return target


def ids(folder: Path, *names: str) -> list[str]:
    return [str((folder / n).resolve()) for n in names]


def test_sync_adds_changes_and_deletes_without_re_embedding(tmp_path, folder):
    with semkit.open(tmp_path / "db") as db:
        coll = db.collection("docs", model="hashing:64")
        first = semkit.add_documents(coll, folder)
        assert sorted(first.added) == sorted(
            ids(folder, "report.pdf", "notes.docx", "page.html", "guide.md", "sub/tides.txt")
        )
        assert first.skipped == 1 and not first.failed and first.embedded > 0
        report = coll.get(ids=ids(folder, "report.pdf"))[0]
        assert report.metadata["title"] == "Field notes on three subjects"
        assert report.metadata["pages"] == 3 and report.metadata["format"] == "pdf"
        assert report.metadata["source"] == "report.pdf"
        assert coll.get(ids=ids(folder, "sub/tides.txt"))[0].metadata["source"] == "sub/tides.txt"

        again = semkit.add_documents(coll, folder)
        assert (again.unchanged, again.added, again.updated, again.embedded) == (5, [], [], 0)

        guide = folder / "guide.md"
        guide.write_text(guide.read_text() + "\nServe it over ice with a splash of milk.\n")
        page = folder / "page.html"  # new bytes, same text: replaced, nothing embedded for it
        page.write_text(page.read_text().replace("<body>", "<body><!-- edited -->"))
        (folder / "sub" / "tides.txt").unlink()
        (folder / "new.md").write_text("# Kites\n\nA kite flies best in a steady breeze.\n")
        synced = semkit.add_documents(coll, folder)
        assert sorted(synced.updated) == sorted(ids(folder, "guide.md", "page.html"))
        assert synced.added == ids(folder, "new.md")
        assert synced.deleted == ids(folder, "sub/tides.txt")
        assert synced.unchanged == 2
        # new.md (1 chunk) and the changed chunk of guide.md; page.html's text is unchanged
        assert synced.embedded == 2
        assert coll.count() == 5 and not coll.get(ids=ids(folder, "sub/tides.txt"))


def test_bad_files_are_reported_and_the_rest_continue(tmp_path, folder):
    shutil.copy(DOCS / "secret.pdf", folder / "secret.pdf")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7\ntruncated")
    errors = []
    with semkit.open(tmp_path / "db") as db:
        coll = db.collection("docs", model="hashing:64")
        report = semkit.add_documents(coll, folder, on_error=errors.append)
        assert len(report.added) == 5 and coll.count() == 5
        failed = {Path(e.path).name: e.error for e in report.failed}
        assert set(failed) == {"secret.pdf", "broken.pdf"} and errors == report.failed
        assert "password-protected" in failed["secret.pdf"]
        # a file that was read before and is now damaged keeps its document
        (folder / "notes.docx").write_bytes(b"PK\x03\x04 damaged")
        again = semkit.add_documents(coll, folder)
        assert {Path(e.path).name for e in again.failed} == {
            "secret.pdf",
            "broken.pdf",
            "notes.docx",
        }
        assert coll.get(ids=ids(folder, "notes.docx")) and not again.deleted


def test_a_hit_on_a_pdf_says_its_page(tmp_path, folder, embedder):
    with semkit.open(tmp_path / "db") as db:
        coll = db.collection("docs", embedder=embedder)
        semkit.add_documents(coll, folder)
        hit = coll.search("looking at planets through a telescope", k=1)[0]
        assert hit.id == ids(folder, "report.pdf")[0]
        assert hit.chunk is not None and "Saturn" in hit.chunk.text
        stored = coll.get(ids=[hit.id])[0].text
        assert stored[hit.chunk.start : hit.chunk.end] == hit.chunk.text
        # the three pages fit in one chunk: its span covers them all, and a span inside
        # page 2 maps to page 2
        saturn = stored.index("Saturn")
        assert semkit.pages_of(hit.metadata, saturn, saturn + 6) == (2, 2)
        assert semkit.pages_of(hit.metadata, hit.chunk.start, hit.chunk.end)[0] == 1


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_add_folder_reports_each_bad_file_and_a_summary(tmp_path, folder, capsys):
    shutil.copy(DOCS / "secret.pdf", folder / "secret.pdf")
    db = tmp_path / "db"
    code, out, err = run(capsys, "add", "docs", folder, "-m", "hashing:64", "--db", db, "--json")
    assert code == 1  # some files could not be read; the others are in
    assert "secret.pdf" in err and "password-protected" in err and "Traceback" not in err
    summary = json.loads(out)
    assert summary["documents"] == 5 and len(summary["files"]["added"]) == 5
    assert [Path(e["path"]).name for e in summary["files"]["failed"]] == ["secret.pdf"]
    (folder / "secret.pdf").unlink()
    code, out, _ = run(capsys, "add", "docs", folder, "--db", db)
    assert code == 0 and "0 files added, 0 updated, 5 unchanged, 0 deleted" in out


def test_cli_search_shows_pages(tmp_path, capsys, default_provider):
    db = tmp_path / "db"
    with semkit.open(db) as database:  # chunks of ~12 tokens: one page each
        coll = database.collection("docs", chunking={"max_tokens": 40, "overlap": 0})
        semkit.add_documents(coll, DOCS / "report.pdf")
    code, out, _ = run(
        capsys, "search", "docs", "planets through a telescope", "-k", "1", "--db", db, "--json"
    )
    hit = json.loads(out)[0]
    assert code == 0 and hit["chunk"]["pages"] == [2, 2] and "Saturn" in hit["chunk"]["text"]
    code, out, _ = run(
        capsys, "search", "docs", "planets through a telescope", "-k", "1", "--db", db
    )
    assert "(p. 2)" in out and "page_starts" not in out


def test_cli_missing_library_is_one_line_naming_the_extra(tmp_path, folder, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "pypdfium2", None)
    code, _, err = run(capsys, "add", "docs", folder, "-m", "hashing:64", "--db", tmp_path / "db")
    assert (
        code == 2
        and "pip install 'semkit[documents]'" in err
        and len(err.strip().splitlines()) == 1
    )
