"""What `semkit add` does with document files and folders (PDF, DOCX, HTML, Markdown, text)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from semkit.text.extract import FORMATS

# A .txt file named on its own stays what it always was: one text per line.
LINE_FILES = (".txt",)


def is_document_input(path: Path) -> bool:
    """A folder, or a file `semkit add` reads as one document."""
    suffix = path.suffix.lower()
    return path.is_dir() or (suffix in FORMATS and suffix not in LINE_FILES)


def add_files(coll: Any, paths: Sequence[Path], progress: Any, task: Any) -> Any:
    """``semkit.documents.add_documents`` with the command's progress bar; each unreadable
    file is reported on stderr as it is met."""
    from semkit.documents import FileError, add_documents

    def advance(done: int, total: int) -> None:
        progress.update(task, completed=done, total=total, description=f"{coll.name} (files)")

    def report(error: FileError) -> None:
        progress.console.print(
            f"semkit: skipped {error.error}", markup=False, highlight=False, soft_wrap=True
        )

    return add_documents(coll, paths, progress=advance, on_error=report)


def summary_line(files: dict[str, Any]) -> str:
    parts = [
        f"{len(files['added'])} files added",
        f"{len(files['updated'])} updated",
        f"{files['unchanged']} unchanged",
        f"{len(files['deleted'])} deleted",
    ]
    if files["failed"]:
        parts.append(f"{len(files['failed'])} failed")
    if files["skipped"]:
        parts.append(f"{files['skipped']} other files passed over")
    return ", ".join(parts)


def hit_pages(hit: Any) -> list[int] | None:
    """``[first, last]`` page of a hit's chunk in a document with pages (PDF), else None."""
    from semkit.text.extract import pages_of

    if hit.chunk is None or not hit.metadata:
        return None
    span = pages_of(hit.metadata, hit.chunk.start, hit.chunk.end)
    return None if span is None else list(span)


def shown_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    """Metadata as a table shows it: without the page offsets (long, and for programs)."""
    return {k: v for k, v in metadata.items() if k != "page_starts"}


def page_label(pages: list[int] | None) -> str:
    if pages is None:
        return ""
    first, last = pages
    return f"(p. {first}) " if first == last else f"(pp. {first}-{last}) "
