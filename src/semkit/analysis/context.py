"""RAG context: the best chunks for a question, packed into a token budget, each cited.

The context is plain text, one block per chunk, blocks separated by a blank line::

    [doc-7:120-874]
    <the chunk's text, exactly source[120:874]>

Tokens are counted with the collection's model tokenizer (``Embedder.count_tokens``,
special tokens excluded) over the whole rendered text, headers and separators
included, and a chunk is accepted only if the whole text still fits: the budget is
never exceeded. Chunks are taken greedily, best first; a chunk that does not fit in
what is left is skipped (never cut) and smaller ones further down may still fit, so a
budget below every chunk gives an empty context (``Context.note`` says why). Skipped as
well: the same chunk twice, a span overlapping one already taken from the same
document, and near-identical text (word-trigram Jaccard >= 0.9, e.g. a copied document).

The tokenizer is the embedding model's, which approximates but is not the language
model's; leave a margin when the exact limit of another tokenizer matters.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from semkit.errors import InputError
from semkit.types import Hit

if TYPE_CHECKING:
    from semkit.search.collection import Collection

SEPARATOR = "\n\n"
NEAR_DUPLICATE = 0.9  # word-trigram Jaccard at or above which two chunks say the same
SKIP_REASONS = ("duplicate", "overlap", "near_duplicate", "too_long", "no_room", "no_text")

TokenCounter = Callable[[Sequence[str]], list[int]]


@dataclass(frozen=True, slots=True)
class ContextChunk:
    """A chunk in the context: ``text == source_document[start:end]``."""

    id: str
    start: int
    end: int
    text: str
    score: float
    rank: int  # its position among the search candidates (1 = best)

    @property
    def citation(self) -> str:
        return f"[{self.id}:{self.start}-{self.end}]"

    @property
    def block(self) -> str:
        return f"{self.citation}\n{self.text}"


@dataclass(frozen=True, slots=True)
class Context:
    """The packed context. ``tokens`` (of ``text``) never exceeds ``max_tokens``."""

    text: str
    chunks: list[ContextChunk]
    tokens: int
    max_tokens: int
    candidates: int
    skipped: dict[str, int] = field(default_factory=dict)
    smallest: int | None = None  # tokens of the smallest candidate block, if any

    @property
    def note(self) -> str | None:
        """Why the context is empty (None when it is not)."""
        if self.chunks:
            return None
        if not self.candidates:
            return "no matching chunks found"
        if self.smallest is not None and self.smallest > self.max_tokens:
            return (
                f"no chunk fits in {self.max_tokens} tokens: the smallest candidate needs "
                f"{self.smallest} (with its citation); raise --max-tokens"
            )
        return "no usable chunk among the candidates"


def _words(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    if len(words) < 3:
        return {tuple(words)}
    return {tuple(words[i : i + 3]) for i in range(len(words) - 2)}


def _similar(a: set[tuple[str, ...]], b: set[tuple[str, ...]]) -> bool:
    if not a or not b:
        return a == b
    return len(a & b) / len(a | b) >= NEAR_DUPLICATE


def _candidate(hit: Hit, rank: int) -> ContextChunk | None:
    if hit.chunk is not None and hit.chunk.text.strip():
        c = hit.chunk
        return ContextChunk(hit.id, c.start, c.end, c.text, float(hit.score), rank)
    if hit.text and hit.text.strip():  # no chunk (lexical hit): the whole document
        return ContextChunk(hit.id, 0, len(hit.text), hit.text, float(hit.score), rank)
    return None


def render(chunks: Sequence[ContextChunk]) -> str:
    return SEPARATOR.join(c.block for c in chunks)


def pack(
    hits: Sequence[Hit],
    max_tokens: int,
    count_tokens: TokenCounter,
    *,
    k: int | None = None,
) -> Context:
    """Pack ``hits`` (best first; their chunks, or whole texts) into ``max_tokens`` tokens
    as counted by ``count_tokens``; at most ``k`` chunks. See the module doc."""
    if not isinstance(max_tokens, int) or max_tokens < 1:
        raise InputError(f"max tokens must be a positive integer, got {max_tokens!r}")
    if k is not None and k < 1:
        raise InputError(f"k must be at least 1, got {k}")
    skipped = dict.fromkeys(SKIP_REASONS, 0)
    candidates: list[ContextChunk] = []
    for rank, hit in enumerate(hits, 1):
        c = _candidate(hit, rank)
        if c is None:
            skipped["no_text"] += 1
        else:
            candidates.append(c)
    sizes = count_tokens([c.block for c in candidates]) if candidates else []
    separator = count_tokens([SEPARATOR])[0]
    taken: list[ContextChunk] = []
    shingles: list[set[tuple[str, ...]]] = []
    used = 0
    for c, size in zip(candidates, sizes, strict=True):
        if k is not None and len(taken) >= k:
            break
        if any(t.id == c.id and t.start == c.start and t.end == c.end for t in taken):
            skipped["duplicate"] += 1
            continue
        if any(t.id == c.id and t.start < c.end and c.start < t.end for t in taken):
            skipped["overlap"] += 1
            continue
        words = _words(c.text)
        if any(_similar(words, s) for s in shingles):
            skipped["near_duplicate"] += 1
            continue
        if size > max_tokens:
            skipped["too_long"] += 1
            continue
        if used + size + (separator if taken else 0) > max_tokens:
            skipped["no_room"] += 1
            continue
        # Counts of parts need not add up exactly (a tokenizer may merge across a
        # boundary), so the whole text decides.
        exact = count_tokens([render([*taken, c])])[0]
        if exact > max_tokens:
            skipped["no_room"] += 1
            continue
        taken.append(c)
        shingles.append(words)
        used = exact
    text = render(taken)
    return Context(
        text,
        taken,
        count_tokens([text])[0] if taken else 0,
        max_tokens,
        len(hits),
        {r: n for r, n in skipped.items() if n},
        min(sizes) if sizes else None,
    )


def build_context(
    collection: Collection,
    question: str,
    max_tokens: int,
    *,
    k: int | None = 10,
    candidates: int | None = None,
    where: dict[str, Any] | None = None,
    mode: str = "dense",
) -> Context:
    """The best chunks of ``collection`` for ``question`` within ``max_tokens`` tokens.

    ``candidates`` search hits are considered (default ``max(3 k, 20)``), so that
    chunks skipped as too long or duplicate leave room for the next ones."""
    if collection.embedder is None:
        raise InputError(
            f"collection {collection.name!r} holds vectors without a model; a context needs "
            f"a model to search by text and to count tokens"
        )
    if not isinstance(question, str) or not question.strip():
        raise InputError("the question is empty")
    if candidates is None:
        candidates = max(3 * (k or 10), 20)
    if candidates < 1:
        raise InputError(f"candidates must be at least 1, got {candidates}")
    hits = collection.search(question, k=candidates, where=where, mode=mode)  # type: ignore[arg-type]
    assert isinstance(hits, list)
    return pack(hits, max_tokens, collection.embedder.count_tokens, k=k)


__all__ = ["Context", "ContextChunk", "build_context", "pack", "render"]
