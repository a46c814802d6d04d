"""Embedding speed and fidelity on this machine: sentence-transformers vs semkit's paths.

    python bench/embedding.py            throughput on 2,000 SciFact documents + query latency
    python bench/embedding.py --ndcg     also SciFact nDCG@10 of every path (about 15 minutes)

Throughput: every path embeds the same 2,000 SciFact documents (title + text, cut at
256 tokens by the model) with the cache off; fidelity is the cosine of each vector to
sentence-transformers' own fp32 ``encode``. Latency: 200 SciFact queries, one call
each. Peak memory: the process's peak RSS during the run (reset before each path).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import contextlib

from common import data_dir, report, scifact_documents
from semkit import Embedder
from semkit.embedding.embedder import TruncationWarning
from semkit.embedding.local import BACKENDS, LocalProvider, native_bf16
from semkit.embedding.registry import DEFAULT_MODEL_ID, default_model_path
from semkit.evaluate import load_beir

N_DOCS = 2000
N_QUERIES = 200


def reset_peak() -> None:
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def peak_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def sentence_transformers_default(docs: list[str], queries: list[str]):
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(default_model_path()), device="cpu")
    model.encode(docs[:32])
    reset_peak()
    t = time.perf_counter()
    vectors = model.encode(docs)  # its defaults: batch_size=32, fp32
    seconds = time.perf_counter() - t
    memory = peak_mib()
    lat = []
    for q in queries:
        t0 = time.perf_counter()
        model.encode(q)
        lat.append(time.perf_counter() - t0)
    return unit(np.asarray(vectors)), seconds, memory, lat


def semkit_path(backend: str, docs: list[str], queries: list[str], min_fidelity: float | None):
    provider = LocalProvider(
        default_model_path(), DEFAULT_MODEL_ID, backend=backend, min_fidelity=min_fidelity
    )
    emb = Embedder(provider, cache=False)
    emb.encode(docs[:32])
    emb.encode(queries[:5], kind="query")
    reset_peak()
    t = time.perf_counter()
    vectors = emb.encode(docs)
    seconds = time.perf_counter() - t
    memory = peak_mib()
    lat = []
    for q in queries:
        t0 = time.perf_counter()
        emb.encode(q, kind="query")
        lat.append(time.perf_counter() - t0)
    return vectors, seconds, memory, lat, emb


def ndcg(backend: str | None, min_fidelity: float | None = None) -> float:
    import os

    from semkit.evaluate.collections import evaluate_beir

    if min_fidelity is not None:
        os.environ["SEMKIT_MIN_FIDELITY"] = str(min_fidelity)
    [result] = evaluate_beir(
        data_dir() / "scifact", truncate=(True,), k_values=(10,), backend=backend, cache=False
    )  # measure the path, not the cache
    os.environ.pop("SEMKIT_MIN_FIDELITY", None)
    return result.scores["ndcg_at_10"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ndcg", action="store_true", help="also SciFact nDCG@10 per path")
    args = parser.parse_args()
    warnings.simplefilter("ignore", TruncationWarning)
    docs = scifact_documents(N_DOCS)
    queries = list(load_beir(data_dir() / "scifact", "test").queries.values())[:N_QUERIES]
    tokenizer = LocalProvider(default_model_path()).tokenizer
    tokens = sum(min(c, 254) + 2 for c in tokenizer.count(docs))
    ref, st_s, st_mem, st_lat = sentence_transformers_default(docs, queries)
    base = N_DOCS / st_s
    rows = [
        [
            "sentence-transformers encode (fp32, batch 32)",
            N_DOCS / st_s,
            tokens / st_s,
            1.0,
            1.0,
            1.0,
            st_mem,
            1e3 * np.percentile(st_lat, 50),
            1e3 * np.percentile(st_lat, 95),
            ndcg("torch") if args.ndcg else "",
        ]
    ]
    print(rows[-1], flush=True)
    paths = [("auto", None), ("auto", 0.995)] + [(b, None) for b in BACKENDS if b != "auto"]
    for backend, floor in paths:
        vectors, seconds, memory, lat, emb = semkit_path(backend, docs, queries, floor)
        cos = (unit(vectors) * ref).sum(1)
        label = f"semkit {backend}"
        if backend == "auto":
            label += (
                f" (min_fidelity {emb.provider.min_fidelity:g}: "
                f"{emb.provider.variant_for(N_DOCS)} bulk, {emb.provider.variant_for(1)} queries)"
            )
        rows.append(
            [
                label,
                N_DOCS / seconds,
                tokens / seconds,
                (N_DOCS / seconds) / base,
                float(cos.min()),
                float(cos.mean()),
                memory,
                1e3 * np.percentile(lat, 50),
                1e3 * np.percentile(lat, 95),
                ndcg(backend, floor) if args.ndcg else "",
            ]
        )
        print(rows[-1], flush=True)
    report(
        "embedding",
        f"Embedding {N_DOCS:,} SciFact documents and {N_QUERIES} single queries "
        "with all-MiniLM-L6-v2 on this machine",
        [
            "path",
            "texts/s",
            "tokens/s",
            "speed-up",
            "min cos vs fp32",
            "mean cos",
            "peak RSS MiB",
            "query p50 ms",
            "query p95 ms",
            "SciFact nDCG@10",
        ],
        rows,
        notes=[
            f"Documents: mean {tokens / N_DOCS:.0f} tokens after the model's 256-token "
            "cut (SciFact abstracts are long). Cache off for every path.",
            f"CPU has native bf16: {native_bf16()}.",
            "Fidelity: cosine of each document vector to sentence-transformers' fp32 "
            "encode of the same text.",
            "Query latency: one `encode` call per query (Embedder.encode with "
            "kind='query' for semkit), 200 SciFact test queries, mean 22 tokens.",
            "nDCG@10: `semkit eval retrieval --truncate --backend <path>` with the cache "
            "off (fp32 reference 0.6451).",
        ],
    )


if __name__ == "__main__":
    main()
