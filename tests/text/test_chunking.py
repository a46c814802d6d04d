"""Chunking with the real tokenizer: exact slices, full coverage, limits, good boundaries."""

from __future__ import annotations

import itertools

import pytest

import semkit
from semkit.errors import InputError
from semkit.text.chunking import chunk_text

PARAGRAPHS = [
    " ".join(
        f"Sentence {p}.{s} talks about topic {p} in some detail, with several words."
        for s in range(12)
    )
    for p in range(6)
]
TEXT = "\n\n".join(PARAGRAPHS)


def _covered(text, chunks):
    covered = [False] * len(text)
    for c in chunks:
        for i in range(c.start, c.end):
            covered[i] = True
    return all(covered[i] or text[i].isspace() for i in range(len(text)))


def test_chunks_are_exact_slices_covering_the_text(embedder):
    chunks = embedder.chunk(TEXT, max_tokens=100, overlap=0)
    assert len(chunks) > 3
    for i, c in enumerate(chunks):
        assert c.text == TEXT[c.start : c.end] and c.index == i
    assert _covered(TEXT, chunks)
    assert all(chunks[i].end <= chunks[i + 1].start for i in range(len(chunks) - 1))


def test_every_chunk_fits_the_limit_when_retokenized(embedder):
    chunks = embedder.chunk(TEXT, max_tokens=64, overlap=8)
    counts = embedder.count_tokens([c.text for c in chunks])
    assert max(counts) <= 64
    assert [c.n_tokens for c in chunks] == counts


def test_cuts_prefer_paragraphs_then_sentences(embedder):
    tokens_per_paragraph = embedder.count_tokens(PARAGRAPHS[0])[0]
    chunks = embedder.chunk(TEXT, max_tokens=tokens_per_paragraph + 20, overlap=0)
    assert [c.text for c in chunks] == PARAGRAPHS  # each paragraph fits: cut at the breaks
    small = embedder.chunk(PARAGRAPHS[0], max_tokens=60, overlap=0)
    assert all(c.text.endswith(".") for c in small)  # sentence ends, never mid-sentence


def test_overlap_repeats_the_tail_of_the_previous_chunk(embedder):
    chunks = embedder.chunk(TEXT, max_tokens=80, overlap=16)
    for a, b in itertools.pairwise(chunks):
        assert b.start < a.end  # overlapping
        assert b.start > a.start
        assert TEXT[b.start - 1].isspace()  # starts at a word


def test_a_word_longer_than_the_limit_is_cut_hard(embedder):
    text = "x" * 3000
    chunks = embedder.chunk(text, max_tokens=50, overlap=0)
    assert "".join(c.text for c in chunks) == text
    assert max(embedder.count_tokens([c.text for c in chunks])) <= 50


def test_short_text_is_one_chunk_and_default_limit_is_the_models(embedder):
    assert [c.text for c in semkit.chunk("  short text  ")] == ["short text"]
    long_text = "word " * 1000
    chunks = semkit.chunk(long_text)
    assert max(c.n_tokens for c in chunks) == embedder.max_tokens - 2  # [CLS] and [SEP]


def test_bad_arguments(embedder):
    with pytest.raises(InputError, match="empty"):
        semkit.chunk("   ")
    with pytest.raises(InputError, match="overlap"):
        chunk_text("a b c", embedder.tokenizer, 4, overlap=4)
    with pytest.raises(InputError, match="max_tokens"):
        chunk_text("a b c", embedder.tokenizer, 0)
