"""Text, titles and pages from real PDF, DOCX, HTML and Markdown files (tests/data/documents)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from semkit import extract, pages_of
from semkit.errors import InputError, MissingExtraError

DOCS = Path(__file__).parents[1] / "data" / "documents"


def test_pdf_pages_map_offsets_back_to_their_page():
    doc = extract(DOCS / "report.pdf")  # three pages, one subject each (LibreOffice-made)
    assert doc.format == "pdf" and doc.pages == 3
    assert doc.title == "Field notes on three subjects"
    for page, words in ((1, "Knead the dough"), (2, "rings of Saturn"), (3, "goalkeeper saved")):
        offset = doc.text.index(words)
        assert doc.page_at(offset) == page
        start, end = doc.page_spans()[page - 1]
        assert words in doc.text[start:end]
    saturn = doc.text.index("Saturn")
    meta = {"page_starts": list(doc.page_starts)}
    assert pages_of(meta, saturn, saturn + 6) == (2, 2)
    assert pages_of(meta, 0, len(doc.text)) == (1, 3)
    assert pages_of({}, 0, 10) is None


def test_docx_keeps_paragraphs_and_tables_in_order():
    doc = extract(DOCS / "notes.docx")
    assert doc.format == "docx" and doc.title == "Garden diary" and doc.pages == 0
    text = doc.text
    assert text.index("Spring planting") < text.index("tomato | 18") < text.index("Slugs ate")


def test_html_text_without_head_scripts_or_navigation():
    doc = extract(DOCS / "page.html")
    assert doc.title == "Repairing a bicycle puncture"
    assert doc.text.startswith("Fixing a flat tyre\n\nRemove the wheel")
    assert "console.log" not in doc.text and "font-family" not in doc.text
    assert "Home" not in doc.text and "patch kit" in doc.text


def test_markdown_and_text_are_kept_as_written():
    md = extract(DOCS / "guide.md")
    assert md.title == "Making cold brew coffee"
    assert md.text == (DOCS / "guide.md").read_text(encoding="utf-8")
    assert extract(DOCS / "tides.txt").title is None


def test_front_matter_title(tmp_path):
    p = tmp_path / "post.md"
    p.write_text('---\ntitle: "Hello there"\ndate: 2024-01-01\n---\n\n# Other\n\nbody\n')
    assert extract(p).title == "Hello there"


@pytest.mark.parametrize(
    "name,content,message",
    [
        ("secret.pdf", None, "password-protected"),
        ("broken.pdf", b"%PDF-1.7\n1 0 obj <<", "not a readable PDF"),
        ("fake.docx", b"PK\x03\x04 not really a zip", "not a readable DOCX"),
        ("latin1.md", "caf\xe9".encode("latin-1"), "not valid UTF-8"),
        ("empty.html", b"<html><body>  </body></html>", "no text"),
        ("data.xml", b"<a/>", "not a document semkit reads"),
    ],
)
def test_unreadable_files_are_clear_errors(tmp_path, name, content, message):
    path = DOCS / name if content is None else tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match=message) as info:
        extract(path)
    assert name in str(info.value)


def test_a_missing_library_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "pypdfium2", None)  # import pypdfium2 -> ImportError
    with pytest.raises(MissingExtraError, match=r"pip install 'semkit\[documents\]'"):
        extract(DOCS / "report.pdf")
