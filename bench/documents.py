"""Text extraction libraries for PDF, DOCX and HTML, measured on documents whose text is known.

The corpus: SciFact abstracts (``$SEMKIT_DATA/scifact``) written as HTML, one abstract per
page (title as a heading, then the abstract), ``--docs`` documents of ``--per-doc``
abstracts each; LibreOffice (Debian's ``soffice``, needed only to build the corpus) turns
each HTML file into DOCX and the DOCX into PDF, as people's documents are made. The
abstracts are the ground truth:

- word F1: multiset overlap of extracted words with the true words (lower-cased, split on
  non-word characters): missing spaces, broken ligatures and dropped text all cost;
- order: difflib's ratio over the two word sequences (reading order);
- pages (PDF): the share of pages whose extracted text is closest (word F1) to the
  abstract printed on that page, i.e. a hit can name its page;
- speed: files per second, one file after another, best of ``--repeat`` passes.

Real files too (speed, pages found, characters): every PDF and HTML under ``/usr/share/doc``.

    python bench/documents.py --work /tmp/semkit-docs     (corpus is kept and reused)

Candidates that are not installed are skipped (``pip install markitdown[pdf,docx]
pdfminer.six pypdfium2`` for all of them).
"""

from __future__ import annotations

import argparse
import collections
import difflib
import html
import json
import random
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from common import data_dir, report

WORD = re.compile(r"\w+", re.UNICODE)
# The same abstracts as a web page printed to PDF by Chromium: two justified columns.
WEB_STYLE = (
    "body{font-family:serif;font-size:11pt} .c{columns:2;column-gap:1.5em;text-align:justify}"
    " h1{font-size:14pt} .b{break-before:page}"
)


# --- the corpus -----------------------------------------------------------------------------------
def make_corpus(work: Path, docs: int, per_doc: int, seed: int = 0) -> list[list[str]]:
    """Write doc-NNN.{html,md,docx,pdf} under ``work``; the true text of each page."""
    truth_file = work / "truth.json"
    if truth_file.is_file():
        truth = json.loads(truth_file.read_text(encoding="utf-8"))
        if len(truth) == docs and all(len(t) == per_doc for t in truth):
            return truth
    if shutil.which("soffice") is None:
        sys.exit("building the corpus needs LibreOffice: apt-get install libreoffice-writer-nogui")
    rows = [
        json.loads(line)
        for line in (data_dir() / "scifact" / "corpus.jsonl").open(encoding="utf-8")
    ]
    rows = [r for r in rows if r.get("title") and r.get("text")]
    picked = random.Random(seed).sample(rows, docs * per_doc)
    work.mkdir(parents=True, exist_ok=True)
    truth = []
    for d in range(docs):
        pages = picked[d * per_doc : (d + 1) * per_doc]
        name = f"doc-{d:03d}"
        body, md = [], []
        for i, row in enumerate(pages):
            brk = ' style="page-break-before: always"' if i else ""
            body.append(
                f"<h1{brk}>{html.escape(row['title'])}</h1>\n<p>{html.escape(row['text'])}</p>"
            )
            md.append(f"# {row['title']}\n\n{row['text']}\n")
        (work / f"{name}.html").write_text(
            f'<html><head><meta charset="utf-8"><title>{html.escape(pages[0]["title"])}'
            f"</title></head><body>\n" + "\n".join(body) + "\n</body></html>\n",
            encoding="utf-8",
        )
        (work / f"{name}.md").write_text("\n".join(md), encoding="utf-8")
        web = "\n".join(
            f"<h1{' class=b' if i else ''}>{html.escape(r['title'])}</h1>"
            f'<div class="c"><p>{html.escape(r["text"])}</p></div>'
            for i, r in enumerate(pages)
        )
        (work / "web").mkdir(exist_ok=True)
        (work / "web" / f"{name}.html").write_text(
            f'<html lang="en"><head><meta charset="utf-8"><title>{html.escape(pages[0]["title"])}'
            f"</title><style>{WEB_STYLE}</style></head><body>{web}</body></html>",
            encoding="utf-8",
        )
        truth.append([f"{r['title']}\n{r['text']}" for r in pages])
    htmls = sorted(str(p) for p in work.glob("doc-*.html"))
    for target, sources in (("docx:MS Word 2007 XML", htmls), ("pdf", None)):
        sources = sources or sorted(str(p) for p in work.glob("doc-*.docx"))
        subprocess.run(
            ["soffice", "--headless", "--convert-to", target, "--outdir", str(work), *sources],
            check=True,
            capture_output=True,
        )
    for page in sorted((work / "web").glob("doc-*.html")):
        subprocess.run(
            [
                "chromium",
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-pdf-header-footer",
                f"--print-to-pdf={page.with_suffix('.pdf')}",
                str(page),
            ],
            check=True,
            capture_output=True,
        )
    truth_file.write_text(json.dumps(truth), encoding="utf-8")
    return truth


# --- the candidates: path -> list of page texts (one item when a library has no pages) -----------
def pypdf_pages(path: Path) -> list[str]:
    from pypdf import PdfReader

    return [page.extract_text() or "" for page in PdfReader(path).pages]


def pdfium_pages(path: Path) -> list[str]:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(path)
    try:
        return [page.get_textpage().get_text_bounded() for page in pdf]
    finally:
        pdf.close()


def pdfminer_pages(path: Path) -> list[str]:
    from pdfminer.high_level import extract_text

    return extract_text(path).split("\f")[:-1] or [""]


def markitdown_pages(path: Path) -> list[str]:
    from markitdown import MarkItDown

    text = MarkItDown(enable_plugins=False).convert(str(path)).text_content
    return text.split("\f") if "\f" in text else [text]


def semkit_pages(path: Path) -> list[str]:
    from semkit.text.extract import extract

    doc = extract(path)
    return [doc.text[s:e] for s, e in doc.page_spans()]


def docx_paragraphs(path: Path) -> list[str]:
    import docx

    return ["\n".join(p.text for p in docx.Document(str(path)).paragraphs)]


def bs4_text(path: Path) -> list[str]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(path.read_bytes(), "html.parser")
    return [soup.get_text("\n", strip=True)]


def bs4_lxml_text(path: Path) -> list[str]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(path.read_bytes(), "lxml")
    return [soup.get_text("\n", strip=True)]


CANDIDATES: dict[str, list[tuple[str, str, Callable[[Path], list[str]]]]] = {
    "pdf": [
        ("pypdf", "pypdf", pypdf_pages),
        ("pypdfium2", "pypdfium2", pdfium_pages),
        ("pdfminer.six", "pdfminer.six", pdfminer_pages),
        ("markitdown", "markitdown", markitdown_pages),
        ("semkit (chosen)", "semkit", semkit_pages),
    ],
    "docx": [
        ("python-docx", "python-docx", docx_paragraphs),
        ("markitdown (mammoth)", "markitdown", markitdown_pages),
        ("semkit (chosen)", "semkit", semkit_pages),
    ],
    "html": [
        ("beautifulsoup4, html.parser", "beautifulsoup4", bs4_text),
        ("beautifulsoup4, lxml", "lxml", bs4_lxml_text),
        ("markitdown (markdownify)", "markitdown", markitdown_pages),
        ("semkit (chosen)", "semkit", semkit_pages),
    ],
    "md": [
        ("markitdown", "markitdown", markitdown_pages),
        ("semkit (chosen)", "semkit", semkit_pages),
    ],
}


# --- scoring ------------------------------------------------------------------------------------------
def words(text: str) -> list[str]:
    return WORD.findall(text.lower())


def word_f1(got: list[str], want: list[str]) -> float:
    common = sum((collections.Counter(got) & collections.Counter(want)).values())
    if not common:
        return 0.0
    p, r = common / len(got), common / len(want)
    return 2 * p * r / (p + r)


def order_ratio(got: list[str], want: list[str]) -> float:
    return difflib.SequenceMatcher(None, got, want, autojunk=False).ratio()


def page_hits(pages: list[str], truth: list[str]) -> int:
    """Pages whose text is closest to the abstract printed on them."""
    if len(pages) != len(truth):
        return 0
    true_words = [words(t) for t in truth]
    hits = 0
    for i, page in enumerate(pages):
        got = words(page)
        best = max(range(len(truth)), key=lambda j: word_f1(got, true_words[j]))
        hits += best == i
    return hits


def installed(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def measure(
    fmt: str, files: list[Path], truth: list[list[str]] | None, repeat: int
) -> list[list[Any]]:
    rows = []
    for label, dist, fn in CANDIDATES[fmt]:
        version = installed(dist)
        if version is None:
            print(f"skipping {label}: {dist} is not installed", file=sys.stderr)
            continue
        best = float("inf")
        results: list[list[str]] = []
        failures = 0
        for _ in range(repeat):
            results, failures = [], 0
            t0 = time.perf_counter()
            for f in files:
                try:
                    results.append(fn(f))
                except Exception:  # a library that cannot read a real-world file
                    failures += 1
                    results.append([""])
            best = min(best, time.perf_counter() - t0)
        row: list[Any] = [fmt, f"{label} {version}", len(files), len(files) / best]
        if truth is not None:
            f1 = [
                word_f1(words("\n".join(r)), words("\n".join(t)))
                for r, t in zip(results, truth, strict=True)
            ]
            order = [
                order_ratio(words("\n".join(r)), words("\n".join(t)))
                for r, t in zip(results, truth, strict=True)
            ]
            row += [sum(f1) / len(f1), sum(order) / len(order)]
            if fmt == "pdf":
                total = sum(len(t) for t in truth)
                row.append(
                    f"{sum(page_hits(r, t) for r, t in zip(results, truth, strict=True))}/{total}"
                )
            else:
                row.append("–")
        else:
            row += ["–", "–", f"{sum(len(r) for r in results)} pages" if fmt == "pdf" else "–"]
        row.append(failures)
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/semkit-bench-documents"))
    parser.add_argument("--docs", type=int, default=40)
    parser.add_argument("--per-doc", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--real", type=Path, default=Path("/usr/share/doc"))
    args = parser.parse_args()
    truth = make_corpus(args.work, args.docs, args.per_doc)
    rows = []
    for fmt in ("pdf", "docx", "html", "md"):
        files = sorted(args.work.glob(f"doc-*.{fmt}"))
        rows += measure(fmt, files, truth, args.repeat)
        if fmt == "pdf":
            web = measure(fmt, sorted((args.work / "web").glob("doc-*.pdf")), truth, args.repeat)
            rows += [["pdf (Chromium, 2 columns)", *r[1:]] for r in web]
    real_notes = []
    for fmt, pattern in (("pdf", "*.pdf"), ("html", "*.html")):
        files = sorted(args.real.rglob(pattern)) if args.real.is_dir() else []
        if files:
            real = measure(fmt, files, None, 1)
            for r in real:
                r[0] = f"{fmt} (real: {args.real})"
            rows += real
            real_notes.append(f"{len(files)} {fmt.upper()} files under {args.real}")
    report(
        "documents",
        "Text extraction: SciFact abstracts as PDF, DOCX, HTML and Markdown (LibreOffice-made)",
        ["format", "library", "files", "files/s", "word F1", "order", "pages right", "failed"],
        rows,
        notes=[
            f"Corpus: {args.docs} documents of {args.per_doc} SciFact abstracts, one abstract per "
            f"page ({args.docs * args.per_doc} pages), HTML -> DOCX -> PDF by LibreOffice, and the "
            "same as a two-column justified web page printed to PDF by Chromium; "
            f"ground truth: the abstracts' title and text.",
            "word F1: multiset overlap of lower-cased words with the truth; order: difflib "
            "ratio over word sequences; pages right: pages whose text is closest to the "
            "abstract printed on them (a library without page boundaries gets 0).",
            "files/s: one process, files one after another, best of "
            f"{args.repeat} passes (real files: one pass).",
            "Real files: " + ("; ".join(real_notes) or "none found") + " (no ground truth).",
        ],
    )


if __name__ == "__main__":
    main()
