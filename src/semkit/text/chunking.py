"""Token-aware chunking with character offsets.

A long text is cut into chunks of at most ``max_tokens`` tokens, counted with the
embedding model's own tokenizer. Cuts prefer, in this order, a paragraph break, a
sentence end, a line break, then any space between words; a chunk is never cut
shorter than half the budget to reach a better boundary. A single "word" longer
than the budget is cut hard. Every token of the text lies in some chunk, and each
chunk is an exact slice of the text: ``chunk.text == text[chunk.start:chunk.end]``.
"""

from __future__ import annotations

from semkit.errors import InputError
from semkit.text.tokens import Tokenizer
from semkit.types import Chunk

_PARAGRAPH, _SENTENCE, _LINE, _SPACE, _NONE = 3, 2, 1, 0, -1
_SENTENCE_END = ".!?…"
_CLOSERS = "\"'”’)]»"


def _cut_priorities(text: str, spans: list[tuple[int, int]]) -> list[int]:
    """``prio[j]``: how good a cut just before token ``j`` is (index 0 unused)."""
    prio = [_NONE] * len(spans)
    for j in range(1, len(spans)):
        prev_start, prev_end = spans[j - 1]
        gap = text[prev_end : spans[j][0]]
        if not gap or not gap.isspace():
            continue
        if gap.count("\n") >= 2:
            prio[j] = _PARAGRAPH
        elif text[prev_start:prev_end].rstrip(_CLOSERS)[-1:] in tuple(_SENTENCE_END):
            prio[j] = _SENTENCE
        elif "\n" in gap:
            prio[j] = _LINE
        else:
            prio[j] = _SPACE
    return prio


def _best_cut(prio: list[int], lo: int, hi: int) -> int:
    """The cut in [lo, hi] with the best boundary, the latest among equals; ``hi`` if none."""
    best, best_prio = hi, _NONE
    for j in range(hi, lo - 1, -1):
        if prio[j] > best_prio:
            best, best_prio = j, prio[j]
            if best_prio == _PARAGRAPH:
                break
    return best


def chunk_text(text: str, tokenizer: Tokenizer, max_tokens: int, overlap: int = 0) -> list[Chunk]:
    """Cut ``text`` into chunks of at most ``max_tokens`` tokens (see module doc).

    ``overlap`` tokens of each chunk are repeated at the start of the next one,
    moved forward to the nearest word start. An empty or whitespace-only text
    gives no chunks.
    """
    if max_tokens < 1:
        raise InputError(f"max_tokens must be at least 1, got {max_tokens}")
    if overlap < 0 or overlap >= max_tokens:
        raise InputError(
            f"overlap must be in [0, max_tokens), got {overlap} for max_tokens={max_tokens}"
        )
    spans = tokenizer.spans(text)
    n = len(spans)
    if n == 0:
        return []
    if n <= max_tokens:
        start, end = spans[0][0], spans[-1][1]
        return [Chunk(text[start:end], start, end, 0, n)]

    prio = _cut_priorities(text, spans)
    chunks: list[Chunk] = []
    i = 0
    while i < n:
        hi = min(i + max_tokens, n)
        j = n if hi == n else _best_cut(prio, i + max(1, max_tokens // 2), hi)
        start, end = spans[i][0], spans[j - 1][1]
        # A hard cut inside a word can re-tokenize into more pieces; shrink until it fits.
        while j - i > 1 and tokenizer.count([text[start:end]])[0] > max_tokens:
            j -= 1
            end = spans[j - 1][1]
        chunks.append(Chunk(text[start:end], start, end, len(chunks), j - i))
        if j >= n:
            break
        nxt = max(i + 1, j - overlap)
        while nxt < j and prio[nxt] == _NONE:
            nxt += 1
        i = nxt
    return chunks
