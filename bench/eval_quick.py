"""Reproduce MTEB's published scores of the default model with semkit.evaluate.

SciFact (BEIR, test split): exact cosine retrieval, documents embedded as
``(title + " " + text).strip()``, queries with ``kind="query"``, top 1000 per query.
STS-Benchmark (test): Spearman/Pearson of cosine similarity with the gold scores.
The first run embeds 5,183 SciFact documents (minutes on a small CPU); the embedding
cache (``SEMKIT_CACHE_DIR``) makes later runs take seconds.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import data_dir, report
from semkit import Embedder, TruncationWarning
from semkit.evaluate import RetrievalEvaluator, evaluate_sts, load_beir, load_sts

# MTEB results of sentence-transformers/all-MiniLM-L6-v2 (see the datasets' SOURCE.txt).
PUBLISHED_SCIFACT = {
    "ndcg_at_10": 0.64508,
    "map_at_100": 0.60307,
    "recall_at_100": 0.925,
    "mrr_at_10": 0.60472,
}
PUBLISHED_STS = {"cosine_spearman": 0.82032}
K_VALUES = (1, 3, 5, 10, 100, 1000)


def pytrec_eval_check(run: dict, qrels: dict, ours: dict[str, float]) -> str:
    """Largest difference to pytrec_eval on the same run, if it is installed."""
    try:
        import pytrec_eval
    except ImportError:
        return "pytrec_eval not installed: no cross-check"
    names = {"ndcg": "ndcg_cut", "map": "map_cut", "recall": "recall", "precision": "P"}
    cut = ",".join(map(str, K_VALUES))
    per_query = pytrec_eval.RelevanceEvaluator(
        qrels, {f"{m}.{cut}" for m in names.values()}
    ).evaluate(run)
    worst = 0.0
    for ours_name, trec_name in names.items():
        for k in K_VALUES:
            theirs = sum(q[f"{trec_name}_{k}"] for q in per_query.values()) / len(per_query)
            worst = max(worst, abs(theirs - ours[f"{ours_name}_at_{k}"]))
    return f"pytrec_eval on the same run: largest difference over nDCG/MAP/Recall/P at all k = {worst:.1e}"


def main() -> None:
    data = data_dir()
    embedder = Embedder()
    scifact = load_beir(data / "scifact", split="test")
    _, texts = scifact.documents()
    over = sum(n > embedder.chunk_tokens for n in embedder.count_tokens(texts))

    evaluator = RetrievalEvaluator(scifact, k_values=K_VALUES, top_k=1000)
    start = time.perf_counter()
    with warnings.catch_warnings():
        # Expected for long abstracts: the model truncates them, as it does in MTEB.
        warnings.simplefilter("ignore", TruncationWarning)
        retrieval = evaluator(embedder)
    retrieval_s = time.perf_counter() - start

    sts = load_sts(data / "stsbenchmark" / "sts-test.csv")
    start = time.perf_counter()
    sts_scores = evaluate_sts(embedder, sts)
    sts_s = time.perf_counter() - start

    rows: list[list[object]] = []
    compared = [(f"SciFact test {n}", retrieval[n], v) for n, v in PUBLISHED_SCIFACT.items()]
    compared += [(f"STSBenchmark test {n}", sts_scores[n], v) for n, v in PUBLISHED_STS.items()]
    for label, ours, published in compared:
        # Five decimals: the precision MTEB reports.
        rows.append([label, f"{ours:.5f}", f"{published:.5f}", f"{ours - published:+.1e}"])
    rows.append(["STSBenchmark test cosine_pearson", f"{sts_scores['cosine_pearson']:.5f}", "", ""])
    for name in (
        "ndcg_at_1",
        "ndcg_at_100",
        "map_at_10",
        "recall_at_10",
        "recall_at_1000",
        "precision_at_10",
        "mrr_at_100",
    ):
        rows.append([f"SciFact test {name}", f"{retrieval[name]:.5f}", "", ""])

    report(
        "eval_quick",
        f"semkit.evaluate vs MTEB: {embedder.model_id}",
        ["metric", "semkit", "MTEB published", "difference"],
        rows,
        notes=[
            f"SciFact: {len(scifact.corpus):,} documents, {len(scifact.queries)} test queries, "
            f"exact cosine top-1000; {over:,} documents exceed {embedder.max_tokens} tokens and "
            f"are truncated by the model (as in MTEB). {retrieval_s:.1f} s including embedding "
            f"(cache at SEMKIT_CACHE_DIR; the first run embeds everything).",
            f"STS-Benchmark: {len(sts):,} test pairs, cosine similarity, {sts_s:.1f} s.",
            pytrec_eval_check(evaluator.last_run or {}, scifact.qrels, retrieval),
            "MTEB rounds nDCG/MAP/Recall/P to 5 decimals; semkit does not round.",
        ],
        extra={"retrieval": retrieval, "sts": sts_scores},
    )


if __name__ == "__main__":
    main()
