"""Readers for evaluation datasets: BEIR retrieval folders and STS sentence pairs.

``load_beir(path, split)`` reads a BEIR folder (``corpus.jsonl``, ``queries.jsonl``,
``qrels/<split>.tsv``) into a ``BeirDataset``; ``load_sts(path)`` reads sentence pairs
with gold scores into ``StsPairs``, from the STS-Benchmark release format or from a
CSV/TSV file with a ``sentence1, sentence2, score`` header.

Every problem with a file is an ``InputError`` that names the file and, for a bad
row, its 1-based line number. Nothing is repaired silently.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from semkit.errors import InputError
from semkit.text.io import iter_jsonl

Corpus = dict[str, dict[str, str]]
Qrels = dict[str, dict[str, int]]

QRELS_HEADER = ("query-id", "corpus-id", "score")
STS_COLUMNS = ("sentence1", "sentence2", "score")
# STS-Benchmark release rows: genre, file, year, id, score, sentence1, sentence2[, ...].
_STSB_SCORE, _STSB_S1, _STSB_S2, _STSB_MIN_FIELDS = 4, 5, 6, 7


def document_text(doc: dict[str, str]) -> str:
    """The text MTEB embeds for a BEIR document: ``(title + " " + text).strip()``."""
    return f"{doc.get('title', '')} {doc.get('text', '')}".strip()


@dataclass(frozen=True)
class BeirDataset:
    """One split of a BEIR retrieval dataset.

    ``corpus``: ``{doc_id: {"title", "text"}}`` in file order; ``queries``: ``{qid: text}``,
    only the queries judged in this split; ``qrels``: ``{qid: {doc_id: relevance}}``
    exactly as in the file (relevance-0 judgments included; relevant means >= 1).
    """

    corpus: Corpus
    queries: dict[str, str]
    qrels: Qrels
    name: str = ""
    split: str = "test"

    def documents(self) -> tuple[list[str], list[str]]:
        """Document ids and their texts (see ``document_text``), in corpus order."""
        ids = list(self.corpus)
        return ids, [document_text(self.corpus[i]) for i in ids]

    def __repr__(self) -> str:
        return (
            f"BeirDataset({self.name!r}, split={self.split!r}, documents={len(self.corpus)}, "
            f"queries={len(self.queries)}, judgments={sum(map(len, self.qrels.values()))})"
        )


@dataclass(frozen=True)
class StsPairs:
    """Sentence pairs with gold similarity scores, index-aligned."""

    sentences1: list[str]
    sentences2: list[str]
    scores: list[float]

    def __len__(self) -> int:
        return len(self.scores)


# --- BEIR ------------------------------------------------------------------------------------
def _need_file(path: Path, what: str) -> Path:
    if not path.is_file():
        raise InputError(f"{what} not found: {path} (expected a BEIR folder layout)")
    return path


def _field(row: dict[str, Any], key: str, path: Path, n: int, required: bool = True) -> str:
    value = row.get(key)
    if value is None:
        if required:
            raise InputError(f'{path}:{n}: missing field "{key}"')
        return ""
    if key == "_id" and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise InputError(f'{path}:{n}: field "{key}" must be a string, got {type(value).__name__}')
    return value


def _read_corpus(path: Path) -> Corpus:
    corpus: Corpus = {}
    lines: dict[str, int] = {}
    for n, row in iter_jsonl(path):
        doc_id = _field(row, "_id", path, n)
        if doc_id in lines:
            raise InputError(
                f"{path}:{n}: duplicate document id {doc_id!r} (first on line {lines[doc_id]})"
            )
        lines[doc_id] = n
        corpus[doc_id] = {
            "title": _field(row, "title", path, n, required=False),
            "text": _field(row, "text", path, n),
        }
    if not corpus:
        raise InputError(f"{path}: no documents")
    return corpus


def _read_queries(path: Path) -> dict[str, str]:
    queries: dict[str, str] = {}
    for n, row in iter_jsonl(path):
        qid = _field(row, "_id", path, n)
        if qid in queries:
            raise InputError(f"{path}:{n}: duplicate query id {qid!r}")
        queries[qid] = _field(row, "text", path, n)
    return queries


def read_qrels(path: str | Path) -> Qrels:
    """BEIR qrels: ``query-id<TAB>corpus-id<TAB>score`` rows, an optional header line.

    Relevance must be an integer. A pair listed twice with different scores is an error.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"qrels file not found: {path}")
    qrels: Qrels = {}
    with path.open(encoding="utf-8", newline="") as f:
        for n, raw in enumerate(f, 1):
            line = raw.rstrip("\r\n")
            if not line.strip():
                continue
            fields = [x.strip() for x in line.split("\t")]
            if n == 1 and tuple(x.lower() for x in fields) == QRELS_HEADER:
                continue
            if len(fields) != 3:
                raise InputError(
                    f"{path}:{n}: expected 3 tab-separated fields "
                    f"(query-id, corpus-id, score), got {len(fields)}"
                )
            qid, doc_id, score_text = fields
            if not qid or not doc_id:
                raise InputError(f"{path}:{n}: empty query-id or corpus-id")
            try:
                score = int(score_text)
            except ValueError:
                raise InputError(
                    f"{path}:{n}: relevance {score_text!r} is not an integer"
                ) from None
            judged = qrels.setdefault(qid, {})
            if judged.get(doc_id, score) != score:
                raise InputError(
                    f"{path}:{n}: ({qid}, {doc_id}) judged twice, "
                    f"with relevance {judged[doc_id]} and {score}"
                )
            judged[doc_id] = score
    if not qrels:
        raise InputError(f"{path}: no relevance judgments")
    return qrels


def load_beir(path: str | Path, split: str = "test") -> BeirDataset:
    """Read a BEIR folder: ``corpus.jsonl``, ``queries.jsonl`` and ``qrels/<split>.tsv``.

    Queries are restricted to those judged in the split (as BEIR and MTEB do); a judged
    query missing from ``queries.jsonl`` is an error. Judged documents missing from the
    corpus are kept in ``qrels`` (they can never be retrieved, as in MTEB).
    """
    root = Path(path)
    if not root.is_dir():
        raise InputError(f"BEIR dataset folder not found: {root}")
    qrels_path = _need_file(root / "qrels" / f"{split}.tsv", f"qrels for split {split!r}")
    corpus = _read_corpus(_need_file(root / "corpus.jsonl", "corpus file"))
    queries_path = _need_file(root / "queries.jsonl", "queries file")
    all_queries = _read_queries(queries_path)
    qrels = read_qrels(qrels_path)
    missing = [qid for qid in qrels if qid not in all_queries]
    if missing:
        raise InputError(
            f"{qrels_path}: {len(missing)} judged query id(s) are not in {queries_path}, "
            f"e.g. {missing[:3]}"
        )
    queries = {qid: all_queries[qid] for qid in qrels}
    return BeirDataset(corpus, queries, qrels, name=root.name, split=split)


# --- STS -------------------------------------------------------------------------------------
def _score(text: str, path: Path, n: int) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{path}:{n}: score {text!r} is not a number") from None
    if not math.isfinite(value):
        raise InputError(f"{path}:{n}: score {text!r} is not finite")
    return value


def _sentence(text: str, path: Path, n: int, column: str) -> str:
    if not text.strip():
        raise InputError(f"{path}:{n}: {column} is empty")
    return text


def _is_stsb_row(line: str) -> bool:
    fields = line.rstrip("\r\n").split("\t")
    if len(fields) < _STSB_MIN_FIELDS:
        return False
    try:
        float(fields[_STSB_SCORE])
    except ValueError:
        return False
    return True


def _read_stsb(path: Path, lines: list[str]) -> StsPairs:
    s1: list[str] = []
    s2: list[str] = []
    scores: list[float] = []
    for n, raw in enumerate(lines, 1):
        line = raw.rstrip("\r\n")
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < _STSB_MIN_FIELDS:
            raise InputError(
                f"{path}:{n}: expected at least {_STSB_MIN_FIELDS} tab-separated fields "
                f"(STS-Benchmark format), got {len(fields)}"
            )
        scores.append(_score(fields[_STSB_SCORE], path, n))
        s1.append(_sentence(fields[_STSB_S1], path, n, "sentence 1 (column 6)"))
        s2.append(_sentence(fields[_STSB_S2], path, n, "sentence 2 (column 7)"))
    return StsPairs(s1, s2, scores)


def _read_with_header(path: Path, lines: list[str]) -> StsPairs:
    tab = path.suffix.lower() == ".tsv" or "\t" in lines[0]
    reader = csv.reader(lines, delimiter="\t", quoting=csv.QUOTE_NONE) if tab else csv.reader(lines)
    header = [h.strip().lower() for h in next(reader)]
    missing = [c for c in STS_COLUMNS if c not in header]
    if missing:
        raise InputError(
            f"{path}:1: not an STS-Benchmark file and its header {header} lacks "
            f"column(s) {missing}; expected a header with {list(STS_COLUMNS)}"
        )
    cols = [header.index(c) for c in STS_COLUMNS]
    s1: list[str] = []
    s2: list[str] = []
    scores: list[float] = []
    for row in reader:
        n = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise InputError(f"{path}:{n}: expected {len(header)} fields, got {len(row)}")
        s1.append(_sentence(row[cols[0]], path, n, "sentence1"))
        s2.append(_sentence(row[cols[1]], path, n, "sentence2"))
        scores.append(_score(row[cols[2]].strip(), path, n))
    return StsPairs(s1, s2, scores)


def load_sts(path: str | Path) -> StsPairs:
    """Sentence pairs and gold scores from an STS file; the format is detected.

    STS-Benchmark release files (tab-separated, no header, no quoting; score in column 5,
    sentences in columns 6 and 7) are recognised by their first line. Anything else
    must be a CSV (or, for ``.tsv`` or a tab in the header, TSV without quoting) with a
    header naming ``sentence1``, ``sentence2`` and ``score`` (any order, extra columns ok).
    """
    path = Path(path)
    if not path.exists() or path.is_dir():  # a pipe (<(...)) is not a regular file
        raise InputError(f"STS file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc})") from exc
    # Split on line ends only (str.splitlines would also split on U+2028, \x1c, ...).
    lines = io.StringIO(text, newline="").readlines()
    first = next((line for line in lines if line.strip()), None)
    if first is None:
        raise InputError(f"{path}: empty file")
    pairs = _read_stsb(path, lines) if _is_stsb_row(first) else _read_with_header(path, lines)
    if not pairs.scores:
        raise InputError(f"{path}: no sentence pairs")
    return pairs


__all__ = [
    "BeirDataset",
    "StsPairs",
    "document_text",
    "load_beir",
    "load_sts",
    "read_qrels",
]
