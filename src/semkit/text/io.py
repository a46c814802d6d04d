"""Reading texts (and, for collections, ids and metadata) from files.

Formats: .txt (one text per line; blank lines skipped), .jsonl, .csv/.tsv and
.parquet (one record per row; ``text_field`` names the text column, the other
columns become metadata), and folders of .txt/.md files (one text per file, the
relative path as id). Standard input ("-"), pipes (``<(...)``) and files without an
extension are sniffed: JSON lines if the first non-blank line is a JSON object, text
lines otherwise. Bytes are decoded as UTF-8 (a BOM is dropped); undecodable input is
an ``InputError`` naming the file and line.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from semkit.errors import InputError
from semkit.extras import require

FORMATS = (".txt", ".jsonl", ".csv", ".tsv", ".parquet")
FOLDER_SUFFIXES = (".txt", ".md")


@dataclass(slots=True)
class Record:
    text: str
    id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


def _open_text(path: Path) -> Any:
    try:
        return path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _pick(
    row: dict[str, Any],
    name: str | None,
    default: str,
    path: Path,
    line: int,
    required: bool = True,
) -> Any:
    key = name or default
    if key in row:
        return row[key]
    if required:
        raise InputError(
            f"{path}:{line}: no field '{key}' (fields: {', '.join(map(str, row))}); "
            f"choose one with --field"
        )
    return None


def records_from_rows(
    rows: Iterator[tuple[int, dict[str, Any]]],
    path: Path,
    text_field: str | None,
    id_field: str | None,
) -> Iterator[Record]:
    """Records of parsed rows ``(line, row)``: the text field, the id field, the rest as
    metadata (also how ``semkit.distributed`` reads the rows of each Ray block)."""
    for line, row in rows:
        text = _pick(row, text_field, "text", path, line)
        if not isinstance(text, str):
            raise InputError(f"{path}:{line}: field '{text_field or 'text'}' is not a string")
        rid = _pick(row, id_field, "id", path, line, required=id_field is not None)
        meta = {k: v for k, v in row.items() if k not in {text_field or "text", id_field or "id"}}
        yield Record(text, None if rid is None else str(rid), meta)


def jsonl_rows(lines: Iterable[str], name: Any) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` of JSON lines; blank lines are skipped."""
    try:
        for line_no, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{name}:{line_no}: not valid JSON ({exc.msg})") from exc
            if not isinstance(row, dict):
                raise InputError(
                    f"{name}:{line_no}: expected a JSON object, got {type(row).__name__}"
                )
            yield line_no, row
    except UnicodeDecodeError as exc:
        raise InputError(f"{name}: not valid UTF-8 ({exc.reason})") from exc


def iter_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` for each non-blank line of a JSON-lines file."""
    with _open_text(path) as f:
        yield from jsonl_rows(f, path)


def _csv_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    with _open_text(path) as f:
        try:
            reader = csv.DictReader(f, delimiter=delimiter)
            for row in reader:
                yield reader.line_num, dict(row)
        except (UnicodeDecodeError, csv.Error) as exc:
            raise InputError(f"{path}: cannot parse as {path.suffix[1:].upper()}: {exc}") from exc


def _parquet_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    require("pyarrow", "parquet", "reading .parquet files")
    import pyarrow.parquet as pq

    try:
        table = pq.ParquetFile(path)
    except Exception as exc:
        raise InputError(f"{path}: not a readable Parquet file: {exc}") from exc
    n = 0
    for batch in table.iter_batches():
        for row in batch.to_pylist():
            n += 1
            yield n, row


def _line_records(lines: Iterable[str], name: Any) -> Iterator[Record]:
    try:
        for line in lines:
            text = line.rstrip("\r\n")
            if text.strip():
                yield Record(text)
    except UnicodeDecodeError as exc:
        raise InputError(f"{name}: not valid UTF-8 ({exc.reason})") from exc


def _txt_records(path: Path) -> Iterator[Record]:
    with _open_text(path) as f:
        yield from _line_records(f, path)


def _is_json_object(line: str) -> bool:
    if not line.lstrip().startswith("{"):
        return False
    try:
        return isinstance(json.loads(line), dict)
    except json.JSONDecodeError:
        return False


def _sniffed_records(
    lines: Iterator[str], name: str, text_field: str | None, id_field: str | None
) -> Iterator[Record]:
    """JSON lines if the first non-blank line is a JSON object, else one text per line
    (a stream is read once: the lines looked at are put back in front)."""
    head: list[str] = []
    try:
        for line in lines:
            head.append(line)
            if line.strip():
                break
    except UnicodeDecodeError as exc:
        raise InputError(f"{name}: not valid UTF-8 ({exc.reason})") from exc
    everything = itertools.chain(head, lines)
    if head and _is_json_object(head[-1]):
        rows = jsonl_rows(everything, name)
        yield from records_from_rows(rows, Path(name), text_field, id_field)
        return
    if text_field is not None or id_field is not None:
        raise InputError(
            f"{name} holds plain text lines, not records: --field/--id-field apply to "
            f"JSON lines, .csv, .tsv and .parquet"
        )
    yield from _line_records(everything, name)


def _stdin_lines() -> Iterator[str]:
    buffer = getattr(sys.stdin, "buffer", None)
    if buffer is None:  # replaced by a text stream (tests, embedding applications)
        yield from sys.stdin
        return
    yield from io.TextIOWrapper(buffer, encoding="utf-8-sig", newline="")


def _is_stream_or_bare(p: Path) -> bool:
    """A pipe, a device (/dev/stdin) or a regular file without an extension."""
    return p.suffix == "" or not p.is_file()


def _folder_records(folder: Path) -> Iterator[Record]:
    files = sorted(
        p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in FOLDER_SUFFIXES
    )
    if not files:
        raise InputError(f"{folder} holds no .txt or .md files")
    for p in files:
        try:
            text = p.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InputError(f"{p}: not valid UTF-8 ({exc.reason})") from exc
        if text.strip():
            yield Record(text, p.relative_to(folder).as_posix(), {"path": str(p)})


def read_records(
    path: str | Path, text_field: str | None = None, id_field: str | None = None
) -> Iterator[Record]:
    """Records from a file or folder; "-" reads standard input. Standard input, pipes
    and files without an extension are JSON lines if their first non-blank line is a
    JSON object, text lines otherwise."""
    if str(path) == "-":
        yield from _sniffed_records(_stdin_lines(), "<stdin>", text_field, id_field)
        return
    p = Path(path)
    if p.is_dir():
        yield from _folder_records(p)
        return
    if not p.exists():
        raise InputError(f"no such file: {p}")
    suffix = p.suffix.lower()
    if _is_stream_or_bare(p):
        with _open_text(p) as f:
            yield from _sniffed_records(iter(f), str(p), text_field, id_field)
    elif suffix == ".txt":
        yield from _txt_records(p)
    elif suffix == ".jsonl":
        yield from records_from_rows(iter_jsonl(p), p, text_field, id_field)
    elif suffix in (".csv", ".tsv"):
        yield from records_from_rows(_csv_rows(p), p, text_field, id_field)
    elif suffix == ".parquet":
        yield from records_from_rows(_parquet_rows(p), p, text_field, id_field)
    else:
        raise InputError(
            f"{p}: unsupported format '{suffix}'; use one of {', '.join(FORMATS)} "
            f"or a folder of .txt/.md files"
        )


def read_texts(path: str | Path, text_field: str | None = None) -> list[str]:
    return [r.text for r in read_records(path, text_field)]


ROW_FORMATS = (".jsonl", ".csv", ".tsv", ".parquet")


def iter_rows(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line or row number, row)`` of a .jsonl/.csv/.tsv/.parquet file, as read, unmapped;
    standard input ("-"), a pipe or a file without an extension is read as JSON lines."""
    if str(path) == "-":
        yield from jsonl_rows(_stdin_lines(), "<stdin>")
        return
    p = Path(path)
    if not p.exists() or p.is_dir():
        raise InputError(f"no such file: {p}")
    suffix = p.suffix.lower()
    if _is_stream_or_bare(p):
        with _open_text(p) as f:
            yield from jsonl_rows(f, p)
    elif suffix == ".jsonl":
        yield from iter_jsonl(p)
    elif suffix in (".csv", ".tsv"):
        yield from _csv_rows(p)
    elif suffix == ".parquet":
        yield from _parquet_rows(p)
    else:
        raise InputError(f"{p}: unsupported format '{suffix}'; use one of {', '.join(ROW_FORMATS)}")


def vectors_table(ids: list[str], texts: list[str], vectors: Any) -> Any:
    """Vectors as semkit writes them to Parquet: ``id``, ``text`` and ``embedding``
    (float32 fixed-size lists), one row per text, in order."""
    import numpy as np
    import pyarrow as pa

    matrix = np.ascontiguousarray(vectors, dtype=np.float32)
    embedding = pa.FixedSizeListArray.from_arrays(pa.array(matrix.reshape(-1)), matrix.shape[1])
    return pa.table(
        {
            "id": pa.array(ids, pa.string()),
            "text": pa.array(texts, pa.string()),
            "embedding": embedding,
        }
    )
