"""Documents people have (PDF, DOCX, HTML, Markdown, plain text) as text with a title and pages.

One library per format, chosen by measurement (``bench/documents.py``, README "Documents"):
PDF through pypdfium2 (PDFium, the engine of Chrome's PDF viewer), DOCX through
python-docx, HTML through beautifulsoup4 (with lxml); Markdown and text are read as they
are. They are imported when a file of their kind is first read; a missing one is a
``MissingExtraError`` naming ``semkit[documents]``.

The text is what gets stored and chunked, so every offset a search hit carries points
into it. PDF pages are joined by a blank line and ``page_starts`` records where each
begins: :meth:`ExtractedDocument.page_at` (and :func:`pages_of` for a stored document's
metadata) turn a character offset back into a page number. A file that cannot be read
(corrupt, password-protected, no text layer, not UTF-8) is an ``InputError`` naming it.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from semkit.errors import InputError
from semkit.extras import require

EXTRA = "documents"
PAGE_SEPARATOR = "\n\n"  # a paragraph break: chunks prefer to end at a page's end
FORMATS: dict[str, str] = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".html": "html",
    ".htm": "html",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
}
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
_FRONT_MATTER_TITLE = re.compile(r"\A---\s*\n(?:.*\n)*?title:\s*(.+?)\s*\n(?:.*\n)*?---", re.M)
_BLANK_RUNS = re.compile(r"\n{3,}")


@dataclass(frozen=True, slots=True)
class ExtractedDocument:
    """A file's text, title and format; ``page_starts[i]`` is where page i+1 begins in
    ``text`` (PDF only; empty for formats without fixed pages)."""

    text: str
    title: str | None
    format: str
    page_starts: tuple[int, ...] = ()

    @property
    def pages(self) -> int:
        return len(self.page_starts)

    def page_at(self, offset: int) -> int | None:
        """The 1-based page holding character ``offset`` (None without pages)."""
        return page_at(self.page_starts, offset)

    def page_spans(self) -> list[tuple[int, int]]:
        """``(start, end)`` of every page's text (separators excluded); the whole text as one
        span for formats without pages."""
        if not self.page_starts:
            return [(0, len(self.text))]
        ends = [s - len(PAGE_SEPARATOR) for s in self.page_starts[1:]] + [len(self.text)]
        return list(zip(self.page_starts, ends, strict=True))


def page_at(page_starts: Sequence[int], offset: int) -> int | None:
    """The 1-based page of ``offset`` given each page's start offset."""
    if not page_starts:
        return None
    return max(1, bisect.bisect_right(page_starts, offset))


def pages_of(metadata: Mapping[str, Any], start: int, end: int) -> tuple[int, int] | None:
    """First and last page of the span ``[start, end)`` of a stored document, from the
    ``page_starts`` its metadata keeps (None for documents without pages). For a hit:
    ``pages_of(hit.metadata, hit.chunk.start, hit.chunk.end)``."""
    starts = metadata.get("page_starts")
    if not starts:
        return None
    first = page_at(starts, start)
    last = page_at(starts, max(start, end - 1))
    assert first is not None and last is not None
    return first, last


def is_document(path: str | Path) -> bool:
    return Path(path).suffix.lower() in FORMATS


def extract(path: str | Path) -> ExtractedDocument:
    """Text, title and pages of one file (.pdf .docx .html .htm .md .markdown .txt)."""
    p = Path(path)
    kind = FORMATS.get(p.suffix.lower())
    if kind is None:
        raise InputError(f"{p}: not a document semkit reads (use {', '.join(sorted(FORMATS))})")
    try:
        doc = _READERS[kind](p)
    except (InputError, MemoryError):
        raise
    except OSError as exc:
        raise InputError(f"{p}: cannot read: {exc.strerror or exc}") from exc
    if not doc.text.strip():
        hint = " (a scanned PDF needs OCR first)" if kind == "pdf" else ""
        raise InputError(f"{p}: no text{hint}")
    return doc


# --- one reader per format --------------------------------------------------------------------
def _decode(p: Path) -> str:
    try:
        return p.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{p}: not valid UTF-8 ({exc.reason} at byte {exc.start})") from exc


def _text(p: Path) -> ExtractedDocument:
    return ExtractedDocument(_decode(p).replace("\r\n", "\n"), None, "text")


def _markdown(p: Path) -> ExtractedDocument:
    text = _decode(p).replace("\r\n", "\n")
    match = _FRONT_MATTER_TITLE.match(text) or _HEADING.search(text)
    title = match.group(1).strip().strip("\"'") if match else None
    return ExtractedDocument(text, title or None, "markdown")


def _tidy(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    text = text.replace("\x02\n", "").replace("\x02", "-")  # PDFium's end-of-line hyphen
    lines = [line.rstrip() for line in text.split("\n")]
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip()


def _pdf(p: Path) -> ExtractedDocument:
    pdfium = require("pypdfium2", EXTRA, "reading PDF files")
    try:
        pdf = pdfium.PdfDocument(p)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise InputError(
                f"{p}: the PDF is password-protected; remove the password first "
                f"(e.g. qpdf --decrypt --password=... in.pdf out.pdf)"
            ) from exc
        raise InputError(f"{p}: not a readable PDF ({exc})") from exc
    try:
        pages = []
        for page in pdf:
            textpage = page.get_textpage()
            pages.append(_tidy(textpage.get_text_bounded()))
            textpage.close()
            page.close()
        title = (pdf.get_metadata_dict().get("Title") or "").strip() or None
    except pdfium.PdfiumError as exc:
        raise InputError(f"{p}: a page of the PDF cannot be read ({exc})") from exc
    finally:
        pdf.close()
    starts, pos = [], 0
    for text in pages:
        starts.append(pos)
        pos += len(text) + len(PAGE_SEPARATOR)
    return ExtractedDocument(PAGE_SEPARATOR.join(pages), title, "pdf", tuple(starts))


def _docx(p: Path) -> ExtractedDocument:
    docx = require("docx", EXTRA, "reading DOCX files")
    try:
        document = docx.Document(str(p))
    except Exception as exc:  # python-docx raises zipfile, KeyError, lxml errors...
        raise InputError(f"{p}: not a readable DOCX file ({type(exc).__name__}: {exc})") from exc
    blocks: list[str] = []
    title = (document.core_properties.title or "").strip() or None
    for item in document.iter_inner_content():
        if hasattr(item, "rows"):  # a table: one line per row, cells separated by " | "
            for row in item.rows:
                cells = list(dict.fromkeys(c.text.strip() for c in row.cells))
                if any(cells):
                    blocks.append(" | ".join(cells))
            continue
        text = item.text.strip()
        if not text:
            continue
        if title is None and (
            item.style is not None and item.style.name.startswith(("Title", "Heading"))
        ):
            title = text
        blocks.append(text)
    return ExtractedDocument("\n\n".join(blocks), title, "docx")


_HTML_SKIP = ("script", "style", "noscript", "template", "head", "svg", "nav")
_HTML_BLOCKS = (
    "p", "div", "section", "article", "header", "footer", "main", "aside", "nav", "li", "ul",
    "ol", "table", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote", "br", "hr",
    "dt", "dd", "figcaption", "td", "th",
)  # fmt: skip


def _html(p: Path) -> ExtractedDocument:
    bs4 = require("bs4", EXTRA, "reading HTML files")
    parser = "lxml" if _has("lxml") else "html.parser"
    soup = bs4.BeautifulSoup(p.read_bytes(), parser)  # decodes by <meta charset> or sniffing
    title_tag = soup.find("title")
    title = title_tag.get_text(" ", strip=True) if title_tag else None
    if not title:
        h1 = soup.find("h1")
        title = h1.get_text(" ", strip=True) if h1 else None
    for tag in soup(_HTML_SKIP):
        tag.decompose()
    for tag in soup.find_all(_HTML_BLOCKS):
        tag.insert_before("\n")
        tag.insert_after("\n")
    lines = (" ".join(line.split()) for line in soup.get_text().split("\n"))
    text = "\n\n".join(line for line in lines if line)  # blocks as paragraphs, as DOCX
    return ExtractedDocument(text, title or None, "html")


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


_READERS: dict[str, Callable[[Path], ExtractedDocument]] = {
    "pdf": _pdf,
    "docx": _docx,
    "html": _html,
    "markdown": _markdown,
    "text": _text,
}

__all__ = ["FORMATS", "ExtractedDocument", "extract", "is_document", "page_at", "pages_of"]
