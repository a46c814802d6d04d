"""RAG context: cited chunks packed into a token budget that is never exceeded."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest

import semkit
from semkit.analysis.context import SEPARATOR, build_context, pack
from semkit.errors import InputError
from semkit.types import Chunk, Hit

CORPUS = Path(__file__).parents[2] / "examples" / "data" / "corpus.jsonl"
QUESTIONS = [
    "how do AI models learn?",
    "how do I make good espresso at home?",
    "what does git rebase do?",
]


@pytest.fixture(scope="module")
def docs(tmp_path_factory, default_provider):
    """The demo corpus, a few long guides (several chunks each) and a copied document,
    chunked small (48 tokens, overlap 8) so that budgets cut between chunks."""
    rows = [json.loads(line) for line in CORPUS.read_text().splitlines()]
    by_topic: dict[str, list[str]] = {}
    for r in rows:
        by_topic.setdefault(r["topic"], []).append(r["text"])
    texts = {r["id"]: r["text"] for r in rows[::2]}
    for topic in ("coffee", "machine-learning", "version-control"):
        texts[f"guide-{topic}"] = "\n\n".join(by_topic[topic][:8])
    texts["copy-of-ml-002"] = texts.get("ml-002") or rows[2]["text"]
    # Built once per module and only read by the tests; no cache, so nothing is shared.
    embedder = semkit.Embedder(default_provider, cache=False)
    db = semkit.open(tmp_path_factory.mktemp("context") / "db", cache=False)
    coll = db.collection(
        "docs", embedder=embedder, chunking={"max_tokens": 48, "overlap": 8}, index="exact"
    )
    coll.add(list(texts.values()), ids=list(texts))
    yield coll, texts
    db.close()


def _check(ctx, budget, texts, count, k=None):
    assert ctx.max_tokens == budget
    assert count([ctx.text])[0] == ctx.tokens <= budget if ctx.chunks else ctx.text == ""
    assert ctx.text == SEPARATOR.join(f"[{c.id}:{c.start}-{c.end}]\n{c.text}" for c in ctx.chunks)
    for c in ctx.chunks:
        assert texts[c.id][c.start : c.end] == c.text  # the citation points at the text
    for i, a in enumerate(ctx.chunks):
        for b in ctx.chunks[i + 1 :]:
            assert a.rank < b.rank  # best first
            assert a.id != b.id or a.end <= b.start or b.end <= a.start  # no overlap
            assert a.text.strip().lower() != b.text.strip().lower()
    if k is not None:
        assert len(ctx.chunks) <= k
    # Greedy: if the smallest candidate fits the budget, something is always returned.
    assert bool(ctx.chunks) == (ctx.smallest is not None and ctx.smallest <= budget)
    if not ctx.chunks:
        assert ctx.note


def test_the_budget_is_never_exceeded(docs, embedder):
    coll, texts = docs
    rng = random.Random(0)
    budgets = [*range(1, 90, 3), 100, 128, 150, 200, 256, 300, 400, 512, 700, 1000, 1600, 3000]
    budgets += [rng.randint(1, 1200) for _ in range(25)]
    filled = 0
    for question in QUESTIONS:
        for budget in budgets:
            ctx = build_context(coll, question, budget, k=8)
            _check(ctx, budget, texts, embedder.count_tokens, k=8)
            filled += bool(ctx.chunks)
    assert filled > len(budgets)  # most budgets do give a context
    big = build_context(coll, QUESTIONS[0], 3000, k=None, candidates=200)
    assert len(big.chunks) > 20 and big.tokens > 1000  # big budgets are used, not wasted


def test_a_context_cites_the_relevant_documents_first(docs):
    coll, _ = docs
    ctx = build_context(coll, "how do I make good espresso at home?", 300)
    first = ctx.chunks[0]
    assert first.id.startswith(("coffee", "guide-coffee")) or "espresso" in first.text.lower()
    assert ctx.text.startswith(f"[{first.id}:{first.start}-{first.end}]\n")


def test_a_budget_below_every_chunk_returns_nothing_and_says_so(docs, embedder):
    coll, _ = docs
    ctx = build_context(coll, QUESTIONS[0], 4)
    assert ctx.chunks == [] and ctx.text == "" and ctx.tokens == 0
    assert ctx.skipped["too_long"] >= 1
    assert "no chunk fits in 4 tokens" in (ctx.note or "")


def test_a_copied_document_is_not_packed_twice(docs):
    coll, _ = docs
    ctx = build_context(coll, "How do AI models learn? random parameters nudged", 2000, k=None)
    ids = [c.id for c in ctx.chunks]
    assert not {"ml-002", "copy-of-ml-002"} <= set(ids)
    assert ctx.skipped.get("near_duplicate", 0) >= 1


def _hit(doc_id, text, start=0, end=None, score=0.5, whole=False):
    end = len(text) if end is None else end
    chunk = None if whole else Chunk(text[start:end], start, end, 0)
    return Hit(doc_id, score, text, {}, chunk)


def test_pack_skips_duplicates_overlaps_and_near_copies(embedder):
    text = "one two three four five six seven eight nine ten eleven twelve " * 3
    hits = [
        _hit("a", text, 0, 40),
        _hit("a", text, 0, 40),  # the same chunk again
        _hit("a", text, 30, 80),  # overlaps a:0-40
        _hit("a", text, 40, 80),  # adjacent: fine
        _hit("b", "  ONE two three\nfour five six seven EIGHT. "),  # a:0-40 again
        _hit("c", "Something else entirely.", whole=True),
    ]
    ctx = pack(hits, 500, embedder.count_tokens)
    assert [(c.id, c.start, c.end) for c in ctx.chunks] == [
        ("a", 0, 40),
        ("a", 40, 80),
        ("c", 0, 24),
    ]
    assert ctx.skipped == {"duplicate": 1, "overlap": 1, "near_duplicate": 1}
    assert ctx.candidates == 6


def test_pack_skips_a_chunk_longer_than_the_budget_and_keeps_going(embedder):
    long = " ".join(f"word{i}" for i in range(300))
    hits = [_hit("long", long, score=0.9), _hit("s1", "A short answer."), _hit("s2", "Another.")]
    ctx = pack(hits, 40, embedder.count_tokens)
    assert [c.id for c in ctx.chunks] == ["s1", "s2"]
    assert ctx.skipped == {"too_long": 1}
    assert pack(hits, 40, embedder.count_tokens, k=1).chunks[0].id == "s1"


def test_pack_holds_the_budget_for_a_tokenizer_whose_counts_do_not_add_up():
    def count(texts):  # ~4 characters a token, rounded up: parts do not add up to the whole
        return [math.ceil(len(t) / 4) for t in texts]

    rng = random.Random(1)
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota"]
    hits = [
        _hit(f"d{i}", " ".join(rng.choices(words, k=rng.randint(2, 40))), score=1 - i / 100)
        for i in range(40)
    ]
    for budget in range(1, 400, 3):
        ctx = pack(hits, budget, count)
        assert count([ctx.text])[0] <= budget
        assert bool(ctx.chunks) == (ctx.smallest <= budget)


def test_bad_arguments_are_input_errors(docs, embedder):
    coll, _ = docs
    with pytest.raises(InputError, match="max tokens must be a positive integer"):
        pack([], 0, embedder.count_tokens)
    with pytest.raises(InputError, match="question is empty"):
        build_context(coll, "  ", 100)
    empty = pack([], 100, embedder.count_tokens)
    assert empty.chunks == [] and empty.note == "no matching chunks found"
