"""Files and folders of documents into a collection, kept in step with the folder.

:func:`add_documents` reads PDF, DOCX, HTML, Markdown and text files
(:mod:`semkit.text.extract`) into one document per file: the id is the file's absolute
path, the text what was extracted (hit offsets point into it), and the metadata says
where it came from (``path``, ``folder``, ``source`` relative to the folder, ``title``,
``format``, ``pages`` and ``page_starts`` for PDFs, ``bytes``, ``modified``, ``sha256``).

Re-running it on a folder syncs the collection with the folder: new files are added,
changed ones replaced, documents of files that are gone deleted, and unchanged files
(same SHA-256) are not even extracted again; a changed file whose text is unchanged is
not re-embedded (the collection skips unchanged text, the embedding cache every text it
has seen). A file that cannot be read is reported and skipped (its earlier document, if
any, is kept); the others go on. Only the public ``Collection`` API is used.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from semkit.errors import InputError
from semkit.text.extract import FORMATS, extract
from semkit.text.io import Record

EXTRACTOR_VERSION = 1  # bump when extraction changes, so unchanged files are read again
WRITE_BATCH = 16  # documents per commit: files can be long, progress should move


@dataclass(frozen=True, slots=True)
class FileError:
    path: str
    error: str


@dataclass(slots=True)
class DocumentsReport:
    """What :func:`add_documents` did, file by file."""

    added: list[str] = field(default_factory=list)  # ids (absolute paths) of new documents
    updated: list[str] = field(default_factory=list)  # files whose content changed
    unchanged: int = 0  # files with the same content as their document
    deleted: list[str] = field(default_factory=list)  # documents of files no longer there
    failed: list[FileError] = field(default_factory=list)  # files that could not be read
    skipped: int = 0  # files in the folders that are not documents semkit reads
    embedded: int = 0  # texts the model embedded (cache misses)

    @property
    def files(self) -> int:
        return len(self.added) + len(self.updated) + self.unchanged + len(self.failed)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "files": self.files}


@dataclass(frozen=True, slots=True)
class _File:
    path: Path  # absolute
    folder: Path | None  # the folder it was found in (its sync scope), None if named itself


def _walk(folder: Path) -> tuple[list[Path], int]:
    """Document files under ``folder`` (hidden files and folders left out) and how many
    other files were passed over."""
    found, other = [], 0
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).parts
        if any(part.startswith(".") for part in rel) or not p.is_file():
            continue
        if p.suffix.lower() in FORMATS:
            found.append(p)
        else:
            other += 1
    return found, other


def _gather(paths: Sequence[str | Path]) -> tuple[list[_File], list[Path], int]:
    files: list[_File] = []
    folders: list[Path] = []
    other = 0
    for given in paths:
        p = Path(given).expanduser()
        if p.is_dir():
            folder = p.resolve()
            found, skipped = _walk(folder)
            files += [_File(f, folder) for f in found]
            folders.append(folder)
            other += skipped
        elif p.is_file():
            if p.suffix.lower() not in FORMATS:
                raise InputError(
                    f"{p}: not a document semkit reads (use {', '.join(sorted(FORMATS))})"
                )
            files.append(_File(p.resolve(), None))
        else:
            raise InputError(f"no such file or folder: {p}")
    return files, folders, other


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _file_metadata(f: _File, sha: str) -> dict[str, Any]:
    stat = f.path.stat()
    return {
        "path": str(f.path),
        "folder": None if f.folder is None else str(f.folder),
        "source": (f.path.relative_to(f.folder) if f.folder else Path(f.path.name)).as_posix(),
        "bytes": stat.st_size,
        "modified": dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC).isoformat(timespec="seconds"),
        "sha256": sha,
        "extractor": EXTRACTOR_VERSION,
    }


def add_documents(
    collection: Any,
    paths: str | Path | Sequence[str | Path],
    *,
    delete_missing: bool = True,
    progress: Callable[[int, int], None] | None = None,
    on_error: Callable[[FileError], None] | None = None,
) -> DocumentsReport:
    """Add document files, and folders of them, to ``collection``; re-run to sync.

    ``paths``: files (.pdf .docx .html .htm .md .markdown .txt) and folders (searched
    recursively; hidden entries and other files are passed over). With
    ``delete_missing`` (the default) the documents that came from a given folder but
    whose file is gone are deleted. ``progress(done, total)`` is called as files are done;
    ``on_error`` for each file that cannot be read. A missing extraction library raises
    ``MissingExtraError`` (nothing is written); bad files never raise.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    files, folders, other = _gather(paths)
    report = DocumentsReport(skipped=other)
    known = _known(collection, files, folders)
    seen = {str(f.path) for f in files}
    meta_updates: list[tuple[str, dict[str, Any]]] = []

    def records() -> Iterator[Record]:
        if progress is not None:
            progress(0, len(files))
        for done, f in enumerate(files, 1):
            doc_id = str(f.path)
            try:
                sha = _sha256(f.path)
                meta = _file_metadata(f, sha)
                old = known.get(doc_id)
                if (
                    old is not None
                    and old.get("sha256") == sha
                    and old.get("extractor") == EXTRACTOR_VERSION
                ):
                    report.unchanged += 1
                    fresh = {k: v for k, v in meta.items() if old.get(k) != v}
                    if fresh:  # moved between folders, touched: metadata only
                        meta_updates.append((doc_id, fresh))
                    continue
                doc = extract(f.path)
            except (InputError, OSError) as exc:
                message = str(exc) if isinstance(exc, InputError) else f"{f.path}: {exc}"
                error = FileError(doc_id, message)
                report.failed.append(error)
                if on_error is not None:
                    on_error(error)
                continue
            finally:
                if progress is not None:
                    progress(done, len(files))
            meta.update(title=doc.title or f.path.stem, format=doc.format)
            if doc.page_starts:
                meta.update(pages=doc.pages, page_starts=list(doc.page_starts))
            (report.updated if doc_id in known else report.added).append(doc_id)
            yield Record(doc.text, doc_id, meta)

    written = collection.add_records(records(), replace=True, batch=WRITE_BATCH)
    report.embedded = written.embedded
    if meta_updates:
        collection.update_metadata([i for i, _ in meta_updates], [m for _, m in meta_updates])
    if delete_missing:
        gone = [
            doc_id for doc_id, meta in known.items() if meta.get("folder") and doc_id not in seen
        ]
        gone = [i for i in gone if Path(known[i]["folder"]) in folders]
        if gone:
            collection.delete(ids=gone)
            report.deleted = gone
    return report


def _known(collection: Any, files: list[_File], folders: list[Path]) -> dict[str, dict[str, Any]]:
    """Metadata of the documents these files or folders may already have, by id."""
    known: dict[str, dict[str, Any]] = {}
    for folder in folders:
        for doc in collection.get(where={"folder": str(folder)}):
            known[doc.id] = doc.metadata
    named = [str(f.path) for f in files if str(f.path) not in known]
    for start in range(0, len(named), 500):
        for doc in collection.get(ids=named[start : start + 500]):
            known[doc.id] = doc.metadata
    return known


__all__ = ["DocumentsReport", "FileError", "add_documents"]
