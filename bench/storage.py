"""Memory per vector against quality: float32, int8 and binary codes with float rescoring,
and Matryoshka prefixes, on real SciFact vectors and 100k clustered synthetic vectors.

Codes live in memory and are searched exhaustively; the float32 vectors stay on disk
(semkit's SQLite store) and rescore the top ``RESCORE x k`` candidates, so memory is
the codes only. Recall@10 is against exact float32 search on the same vectors;
nDCG@10 is SciFact test through semkit's metrics.

    python bench/storage.py
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from ann_libraries import synthetic
from common import data_dir, report
from semkit import Embedder
from semkit.embedding.embedder import TruncationWarning
from semkit.evaluate import load_beir, retrieval_scores
from semkit.similarity import top_k_of_scores

K = 10
RESCORE = 10  # candidates rescored per wanted result


def exact(queries: np.ndarray, base: np.ndarray, k: int) -> np.ndarray:
    return top_k_of_scores(queries @ base.T, k)[0]


def rescore(queries: np.ndarray, base: np.ndarray, candidates: np.ndarray, k: int) -> np.ndarray:
    out = np.empty((len(queries), k), dtype=np.int64)
    for i, (q, cand) in enumerate(zip(queries, candidates, strict=True)):
        scores = base[cand] @ q
        out[i] = cand[np.argsort(-scores, kind="stable")[:k]]
    return out


def int8_search(queries: np.ndarray, base: np.ndarray, k: int) -> tuple[np.ndarray, int]:
    lo, hi = base.min(0), base.max(0)
    scale = np.where(hi > lo, (hi - lo) / 255.0, 1.0)
    codes = np.round((base - lo) / scale).astype(np.uint8)  # 1 byte per dimension
    approx = queries @ (codes.astype(np.float32) * scale + lo).T
    cand = top_k_of_scores(approx, k * RESCORE)[0]
    return rescore(queries, base, cand, k), codes.nbytes // len(base)


def binary_search(queries: np.ndarray, base: np.ndarray, k: int) -> tuple[np.ndarray, int]:
    import faiss

    codes = np.packbits(base > 0, axis=1)  # 1 bit per dimension
    index = faiss.IndexBinaryFlat(base.shape[1])
    index.add(codes)
    _, cand = index.search(np.packbits(queries > 0, axis=1), k * RESCORE)
    return rescore(queries, base, cand.astype(np.int64), k), codes.nbytes // len(base)


def matryoshka(dims: int):
    def search(queries: np.ndarray, base: np.ndarray, k: int) -> tuple[np.ndarray, int]:
        b = base[:, :dims] / np.linalg.norm(base[:, :dims], axis=1, keepdims=True)
        q = queries[:, :dims] / np.linalg.norm(queries[:, :dims], axis=1, keepdims=True)
        return exact(q, b, k), 4 * dims

    return search


METHODS = {
    "float32 (exact)": lambda q, b, k: (exact(q, b, k), 4 * b.shape[1]),
    "int8 codes + float rescoring": int8_search,
    "binary codes + float rescoring": binary_search,
    "Matryoshka 256-d float32": matryoshka(256),
    "Matryoshka 128-d float32": matryoshka(128),
    "Matryoshka 64-d float32": matryoshka(64),
}


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(
        np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth, strict=True)])
    )


def main() -> None:
    warnings.simplefilter("ignore", TruncationWarning)
    dataset = load_beir(data_dir() / "scifact", "test")
    ids, texts = dataset.documents()
    qids = list(dataset.queries)
    emb = Embedder(backend="torch")  # fp32 reference vectors (cached after the first run)
    docs = emb.encode(texts)
    queries = emb.encode([dataset.queries[q] for q in qids], kind="query")
    synth = synthetic(100_000, 500, seed=3)
    truth_sf = exact(queries, docs, 100)
    truth_syn = exact(synth.queries, synth.base, K)
    rows = []
    for name, method in METHODS.items():
        found, nbytes = method(queries, docs, 100)
        run = {
            q: {ids[j]: float(100 - r) for r, j in enumerate(row)}
            for q, row in zip(qids, found, strict=True)
        }
        ndcg = retrieval_scores(run, dataset.qrels, (10,))["ndcg_at_10"]
        t = time.perf_counter()
        found_syn, _ = method(synth.queries, synth.base, K)
        qps = len(synth.queries) / (time.perf_counter() - t)
        rows.append(
            [
                name,
                nbytes,
                nbytes * 1e6 / 2**20,
                recall(found[:, :K], truth_sf[:, :K]),
                ndcg,
                recall(found_syn, truth_syn),
                qps,
            ]
        )
        print(rows[-1], flush=True)
    report(
        "storage",
        "Memory per 384-d vector against quality (codes in memory, float32 on disk for rescoring)",
        [
            "storage",
            "bytes/vector in memory",
            "MiB per 1M vectors",
            "SciFact recall@10",
            "SciFact nDCG@10",
            "100k synthetic recall@10",
            "100k q/s (exhaustive, batch of 500)",
        ],
        rows,
        notes=[
            f"Rescoring: the top {RESCORE}x{K} candidates by code distance are rescored with "
            "the float32 vectors (read from disk in semkit's store; not counted in memory).",
            "int8: per-dimension min/max scalar quantisation; binary: sign bits, Hamming "
            "distance (FAISS IndexBinaryFlat).",
            "Matryoshka rows: the default model was not trained for Matryoshka truncation, "
            "so quality falls quickly; recall is against the full 384-d search.",
            "Exhaustive search throughout: these figures isolate what the storage costs "
            "and keeps, not index speed (see search_*.md for HNSW).",
        ],
    )


if __name__ == "__main__":
    main()
