"""Where a command's documents come from: a collection or a file of texts.

Every command that analyses or classifies documents takes the same options
(``--collection`` with ``--db`` and ``--where``, or ``--input`` with ``--text-field`` /
``--id-field`` and ``--model`` / ``--dims``), declared with the ``Annotated`` types below.
The command gathers them into a :class:`Source` (``Source.of(locals())``) and reads the
documents with :func:`read_corpus`, or :func:`open_corpus` when it also needs the
collection (which is closed afterwards).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from semkit.analysis.corpus import Corpus, from_collection, from_file
from semkit.cli.collections import DbOpt, WhereOpt, open_db, parse_where
from semkit.cli.common import DimsOpt, ModelOpt, embedder, progress_wanted
from semkit.errors import InputError

if TYPE_CHECKING:
    from semkit.embedding.embedder import Embedder
    from semkit.search.collection import Collection

CollectionOpt = Annotated[
    str | None,
    typer.Option("--collection", "-c", help="Analyse this collection (its stored vectors)."),
]
InputOpt = Annotated[
    Path | None,
    typer.Option(
        "--input",
        "-i",
        help="Analyse the texts of this file (.txt lines, .jsonl, .csv, .tsv, .parquet) or folder.",
    ),
]
TextFieldOpt = Annotated[
    str | None, typer.Option("--text-field", help="Column holding the text (--input).")
]
IdFieldOpt = Annotated[str | None, typer.Option("--id-field", help="Column holding the id.")]

__all__ = [
    "CollectionOpt",
    "DbOpt",
    "DimsOpt",
    "IdFieldOpt",
    "InputOpt",
    "ModelOpt",
    "Source",
    "TextFieldOpt",
    "WhereOpt",
    "open_corpus",
    "read_corpus",
]


@dataclass(frozen=True)
class Source:
    """The source options of one command run, named as the commands name their parameters."""

    collection: str | None
    input_path: Path | None
    db: str | None
    where: str | None
    text_field: str | None
    id_field: str | None
    model: str | None  # None: the caller decides (e.g. the classifier's own model)
    dims: int | None

    @classmethod
    def of(cls, arguments: Mapping[str, Any], **given: Any) -> Source:
        """The source options among a command's arguments (its ``locals()``); ``given``
        sets the ones the command does not take as options."""
        values = {**arguments, **given}
        missing = [f.name for f in fields(cls) if f.name not in values]
        if missing:  # a renamed parameter: fail loudly, not with a silent default
            raise TypeError(f"Source.of: no argument named {', '.join(missing)}")
        return cls(**{f.name: values[f.name] for f in fields(cls)})

    def without_where(self) -> None:
        """Refuse ``--where`` where there is no collection to filter."""
        if self.where is not None:
            raise InputError("--where applies to --collection; filter the --input file beforehand")

    def embedder(self) -> Embedder:
        """The embedder of ``--model`` / ``--dims`` (nothing loads until it embeds)."""
        emb: Embedder = embedder(self.model, self.dims)
        return emb

    def read_file(self, emb: Embedder) -> Corpus:
        """The ``--input`` file's records, embedded by ``emb``."""
        assert self.input_path is not None
        return from_file(
            self.input_path,
            emb,
            text_field=self.text_field,
            id_field=self.id_field,
            show_progress_bar=progress_wanted(),
        )


@contextmanager
def open_corpus(source: Source) -> Iterator[tuple[Corpus, Collection | None]]:
    """The corpus and its open collection (None for ``--input``), closed afterwards."""
    if (source.collection is None) == (source.input_path is None):
        raise InputError("give either --collection NAME or --input FILE")
    if source.collection is None:
        source.without_where()
        yield source.read_file(source.embedder()), None
        return
    with open_db(source.db) as database:
        coll = database.collection(source.collection, create=False)
        yield from_collection(coll, where=parse_where(source.where)), coll


def read_corpus(source: Source) -> Corpus:
    """The corpus alone (the collection, if any, is closed again)."""
    with open_corpus(source) as (corpus, _):
        return corpus
