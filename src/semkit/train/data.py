"""Training data for fine-tuning: (anchor, positive[, negatives]) examples, and their checks.

Two sources:

- a file of pairs or triplets (.jsonl, .csv, .tsv, .parquet) with a header naming the
  columns: ``anchor`` (or query, question, sentence1, text1), ``positive`` (or document,
  doc, passage, pos, answer, sentence2, text2) and optionally ``negative`` (or neg,
  hard_negative; ``negative_1``, ``negative_2``, ... or a JSON list under ``negatives``
  for several). ``columns={"anchor": "q", ...}`` names them explicitly.
- a BEIR folder and a split: anchor = the query text, positive = the text MTEB embeds
  for each relevant document, ``(title + " " + text).strip()``; one example per
  (query, relevant document).

``find_overlap`` tells whether held-out evaluation queries leak into the training
data; ``finetune`` refuses such a run before training (see ``Overlap``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from semkit.errors import InputError
from semkit.evaluate.datasets import BeirDataset, document_text, load_beir
from semkit.text.io import iter_rows

ALIASES: dict[str, tuple[str, ...]] = {
    "anchor": ("anchor", "query", "question", "sentence1", "text1"),
    "positive": ("positive", "document", "doc", "passage", "pos", "answer", "sentence2", "text2"),
    "negative": ("negative", "neg", "hard_negative", "negatives", "hard_negatives"),
}
# Columns that mean the rows are graded pairs, not (anchor, positive) examples.
_GRADED = ("label", "score", "labels", "scores", "similarity")
_NUMBERED_NEGATIVE = re.compile(r"^negative_?(\d+)$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Example:
    """One training example. ``query_id``/``positive_id`` are known for BEIR data."""

    anchor: str
    positive: str
    negatives: tuple[str, ...] = ()
    query_id: str | None = None
    positive_id: str | None = None


@dataclass(frozen=True)
class TrainingData:
    """Examples plus where they came from (``source``, a BEIR ``split``) and how they were read.

    ``corpus``: the documents the examples were drawn from (``{doc_id: text}``, a BEIR
    folder's corpus), where hard negatives are mined by default.
    """

    examples: list[Example]
    source: str = ""
    split: str | None = None
    columns: dict[str, Any] = field(default_factory=dict)
    corpus: Mapping[str, str] | None = field(default=None, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.examples)

    @property
    def negatives_per_example(self) -> int:
        """Negatives of the examples that have any (mining may leave some without)."""
        return max((len(ex.negatives) for ex in self.examples), default=0)

    @property
    def with_negatives(self) -> int:
        return sum(1 for ex in self.examples if ex.negatives)

    def anchors(self) -> dict[str, list[Example]]:
        """Examples grouped by anchor text, in first-seen order."""
        groups: dict[str, list[Example]] = {}
        for ex in self.examples:
            groups.setdefault(ex.anchor, []).append(ex)
        return groups

    def with_examples(self, examples: list[Example], **changes: Any) -> TrainingData:
        return replace(self, examples=examples, **changes)

    def digest(self) -> str:
        """SHA-256 of the examples: what a resumed run checks it trains on the same data."""
        h = hashlib.sha256()
        for ex in self.examples:
            h.update(json.dumps([ex.anchor, ex.positive, list(ex.negatives)]).encode())
        return h.hexdigest()[:16]

    def summary(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "split": self.split,
            "examples": len(self.examples),
            "anchors": len(self.anchors()),
            "negatives_per_example": self.negatives_per_example,
            "with_negatives": self.with_negatives,
            "columns": self.columns,
        }

    def tables(self, triplets: bool = False) -> dict[str, dict[str, list[str]]]:
        """Training tables, columns in the order the losses read them (anchor, positive,
        negative...): "negatives" for examples with negatives, "pairs" for those without.

        ``triplets``: one (anchor, positive, negative) row per negative, and no pairs
        (``TripletLoss`` needs a negative on every row).
        """
        with_neg = [e for e in self.examples if e.negatives]
        pairs = [e for e in self.examples if not e.negatives]
        out: dict[str, dict[str, list[str]]] = {}
        if triplets:
            rows = [(e.anchor, e.positive, neg) for e in with_neg for neg in e.negatives]
            if rows:
                out["negatives"] = {
                    "anchor": [r[0] for r in rows],
                    "positive": [r[1] for r in rows],
                    "negative": [r[2] for r in rows],
                }
            return out
        n = self.negatives_per_example
        if with_neg:
            cols = {
                "anchor": [e.anchor for e in with_neg],
                "positive": [e.positive for e in with_neg],
            }
            for i in range(n):
                cols["negative" if n == 1 else f"negative_{i + 1}"] = [
                    e.negatives[i] for e in with_neg
                ]
            out["negatives"] = cols
        if pairs:
            out["pairs"] = {
                "anchor": [e.anchor for e in pairs],
                "positive": [e.positive for e in pairs],
            }
        return out


# --- reading -------------------------------------------------------------------------------
def _resolve_columns(
    header: Sequence[str], path: Path, given: Mapping[str, str] | None
) -> tuple[str, str, list[str]]:
    present = list(header)
    lower = {h.lower().strip(): h for h in present}
    graded = [h for h in present if h.lower() in _GRADED]
    if graded and not given:
        raise InputError(
            f"{path}: column {graded[0]!r} looks like graded pairs (e.g. STS or NLI labels); "
            f"fine-tuning takes (anchor, positive[, negative]) rows where every positive is "
            f"relevant. Keep only the relevant pairs and drop the column, or name the "
            f"columns with --columns anchor=...,positive=..."
        )
    chosen: dict[str, str] = {}
    for role in ("anchor", "positive"):
        if given and role in given:
            if given[role] not in present:
                raise InputError(f"{path}: no column {given[role]!r} (columns: {present})")
            chosen[role] = given[role]
            continue
        found = next((lower[a] for a in ALIASES[role] if a in lower), None)
        if found is None:
            raise InputError(
                f"{path}: no {role} column; found {present}. Name it one of "
                f"{list(ALIASES[role])}, or say which it is with --columns {role}=NAME"
            )
        chosen[role] = found
    if given and "negative" in given:
        negs = [n.strip() for n in given["negative"].split("+")]
        missing = [n for n in negs if n not in present]
        if missing:
            raise InputError(f"{path}: no column {missing[0]!r} (columns: {present})")
    else:
        numbered = sorted(
            (int(m.group(1)), h) for h in present if (m := _NUMBERED_NEGATIVE.match(h.strip()))
        )
        single = next((lower[a] for a in ALIASES["negative"] if a in lower), None)
        negs = [h for _, h in numbered] or ([single] if single else [])
    return chosen["anchor"], chosen["positive"], negs


def _text(value: Any, path: Path, line: int, column: str) -> str:
    if not isinstance(value, str):
        raise InputError(
            f"{path}:{line}: column {column!r} is {type(value).__name__}, not text"
            if value is not None
            else f"{path}:{line}: column {column!r} is missing"
        )
    if not value.strip():
        raise InputError(f"{path}:{line}: column {column!r} is empty")
    return value


def _negatives_of(row: dict[str, Any], names: list[str], path: Path, line: int) -> list[str]:
    out: list[str] = []
    for name in names:
        value = row.get(name)
        if isinstance(value, list):
            out += [_text(v, path, line, name) for v in value]
        elif value is None or (isinstance(value, str) and not value.strip()):
            continue
        else:
            out.append(_text(value, path, line, name))
    return out


def load_pairs(path: str | Path, columns: Mapping[str, str] | None = None) -> TrainingData:
    """Pairs or triplets from a .jsonl/.csv/.tsv/.parquet file (see the module docstring).

    Every row needs a non-empty anchor and positive; either every row has the same
    number of negatives or none has any (the losses read fixed columns).
    """
    path = Path(path)
    examples: list[Example] = []
    names: tuple[str, str, list[str]] | None = None
    first_negatives: tuple[int, int] | None = None
    for line, row in iter_rows(path):
        if names is None:
            names = _resolve_columns(list(row), path, columns)
        anchor_col, positive_col, negative_cols = names
        negatives = _negatives_of(row, negative_cols, path, line)
        if first_negatives is None:
            first_negatives = (line, len(negatives))
        elif len(negatives) != first_negatives[1]:
            raise InputError(
                f"{path}:{line}: {len(negatives)} negative(s), but line {first_negatives[0]} "
                f"has {first_negatives[1]}; give every row the same number of negatives "
                f"(or none, and mine them with --mine-negatives)"
            )
        examples.append(
            Example(
                _text(row.get(anchor_col), path, line, anchor_col),
                _text(row.get(positive_col), path, line, positive_col),
                tuple(negatives),
            )
        )
    if not examples or names is None:
        raise InputError(f"{path}: no training examples")
    anchor_col, positive_col, negative_cols = names
    mapping: dict[str, Any] = {"anchor": anchor_col, "positive": positive_col}
    if negative_cols:
        mapping["negative"] = negative_cols
    return TrainingData(examples, str(path), None, mapping)


def load_beir_pairs(path: str | Path, split: str = "train") -> TrainingData:
    """One example per (query, relevant document) of a BEIR split (relevance >= 1)."""
    dataset = load_beir(path, split)
    return beir_examples(dataset, str(path))


def beir_examples(dataset: BeirDataset, source: str) -> TrainingData:
    examples = [
        Example(dataset.queries[qid], document_text(dataset.corpus[doc_id]), (), qid, doc_id)
        for qid, judged in dataset.qrels.items()
        for doc_id, relevance in judged.items()
        if relevance >= 1 and doc_id in dataset.corpus and document_text(dataset.corpus[doc_id])
    ]
    if not examples:
        raise InputError(f"{source}: split {dataset.split!r} has no relevant judged documents")
    corpus = {doc_id: document_text(doc) for doc_id, doc in dataset.corpus.items()}
    return TrainingData(
        examples, source, dataset.split, {"anchor": "query", "positive": "corpus"}, corpus
    )


def load_training_data(
    path: str | Path, split: str = "train", columns: Mapping[str, str] | None = None
) -> TrainingData:
    """A BEIR folder (queries + ``qrels/<split>.tsv``) or a pairs/triplets file."""
    p = Path(path)
    if p.is_dir():
        return load_beir_pairs(p, split)
    if not p.exists():
        raise InputError(f"training data not found: {p}")
    return load_pairs(p, columns)


def parse_columns(text: str | None) -> dict[str, str] | None:
    """``"anchor=q,positive=doc,negative=n1+n2"`` as a mapping (the CLI's --columns)."""
    if not text:
        return None
    out: dict[str, str] = {}
    for part in text.split(","):
        role, sep, name = part.partition("=")
        role = role.strip().lower()
        if not sep or role not in ALIASES or not name.strip():
            raise InputError(
                f"--columns takes role=column pairs with roles anchor, positive, negative; "
                f"got {part!r}"
            )
        out[role] = name.strip()
    return out


# --- overlap with held-out data ---------------------------------------------------------------
def normalize_text(text: str) -> str:
    return " ".join(text.split()).casefold()


@dataclass(frozen=True)
class Overlap:
    """Training examples that also stand in the held-out evaluation split."""

    query_ids: list[str]  # same query id (training and evaluation from the same BEIR folder)
    texts: list[tuple[str, str]]  # (training anchor, evaluation query id) with the same text

    def __bool__(self) -> bool:
        return bool(self.query_ids or self.texts)

    def describe(self, eval_name: str) -> str:
        parts = []
        if self.query_ids:
            parts.append(f"{len(self.query_ids)} query id(s) such as {self.query_ids[:3]}")
        if self.texts:
            shown = "; ".join(f"{t[:60]!r} (= {qid})" for t, qid in self.texts[:2])
            parts.append(f"{len(self.texts)} query text(s) such as {shown}")
        return f"the training data shares {' and '.join(parts)} with {eval_name}"


def find_overlap(train: TrainingData, held_out: BeirDataset, held_out_path: str | Path) -> Overlap:
    """Where training anchors leak into ``held_out``'s queries.

    Same BEIR folder: a shared query id, or a shared query text whose training positives
    include one of the held-out query's relevant documents. A pairs file: any anchor
    whose text is a held-out query's text.
    """
    same_folder = (
        train.split is not None
        and Path(train.source).resolve() == Path(held_out_path).resolve()
        and any(ex.query_id is not None for ex in train.examples)
    )
    by_text: dict[str, list[str]] = {}
    for qid, text in held_out.queries.items():
        by_text.setdefault(normalize_text(text), []).append(qid)
    ids: set[str] = set()
    texts: dict[str, str] = {}
    for ex in train.examples:
        if same_folder and ex.query_id in held_out.queries:
            ids.add(str(ex.query_id))
        for qid in by_text.get(normalize_text(ex.anchor), []):
            relevant = {d for d, r in held_out.qrels.get(qid, {}).items() if r >= 1}
            if ex.positive_id is None or ex.positive_id in relevant:
                texts.setdefault(ex.anchor, qid)
    return Overlap(sorted(ids), sorted(texts.items()))


def drop_overlap(train: TrainingData, overlap: Overlap) -> TrainingData:
    """``train`` without the examples ``overlap`` names (every example of those anchors)."""
    ids = set(overlap.query_ids)
    anchors = {t for t, _ in overlap.texts}
    kept = [ex for ex in train.examples if ex.query_id not in ids and ex.anchor not in anchors]
    if not kept:
        raise InputError("every training example overlaps the held-out data; nothing is left")
    return train.with_examples(kept)


__all__ = [
    "ALIASES",
    "Example",
    "Overlap",
    "TrainingData",
    "beir_examples",
    "drop_overlap",
    "find_overlap",
    "load_beir_pairs",
    "load_pairs",
    "load_training_data",
    "normalize_text",
    "parse_columns",
]
