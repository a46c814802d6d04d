"""Embedding speed and fidelity on this machine: sentence-transformers vs semkit's paths.

    python bench/embedding.py            throughput on 2,000 SciFact documents + query latency
    python bench/embedding.py --ndcg     also SciFact nDCG@10 of every path (about 15 minutes)

Results go to ``bench/results/embedding_<cpu kind>.md`` (e.g. ``amd-epyc-avx2``,
``intel-xeon-avx512-bf16``): one table per kind of CPU, so a run on one machine does not
overwrite another's. Throughput: every path embeds the same 2,000 SciFact documents
(title + text, cut at 256 tokens by the model) with the cache off, in blocks of 250 that
the paths take in turns (sentence-transformers first in each), so every path sees the
same conditions; fidelity is the cosine of each vector to sentence-transformers' own fp32
``encode``. Latency: 200 SciFact queries, one call each, the paths again in turns. Other
processes' CPU use during the run is recorded in the notes.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import data_dir, report, scifact_documents
from semkit import Embedder
from semkit.embedding.calibration import (
    SENTENCE_TRANSFORMERS,
    LoadProbe,
    cpu_kind,
    cpu_model,
    environment,
    native_bf16,
)
from semkit.embedding.embedder import TruncationWarning
from semkit.embedding.local import BACKENDS, LocalProvider
from semkit.embedding.registry import DEFAULT_MODEL_ID, default_model_path
from semkit.evaluate import load_beir

N_DOCS = 2000
N_QUERIES = 200
BLOCK = 250


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


class Contender:
    """One contender: a name and a function embedding a list of texts (or one query)."""

    def __init__(self, label: str, encode, query) -> None:
        self.label, self.encode, self.query = label, encode, query
        self.seconds, self.vectors, self.latencies = 0.0, [], []


def sentence_transformers_default() -> Contender:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(default_model_path()), device="cpu")
    return Contender(
        "sentence-transformers encode (fp32, batch 32)",
        lambda docs: model.encode(docs),  # its defaults: batch_size=32, fp32
        lambda q: model.encode(q),
    )


def semkit_path(backend: str, min_fidelity: float | None) -> tuple[Contender, Embedder]:
    provider = LocalProvider(
        default_model_path(), DEFAULT_MODEL_ID, backend=backend, min_fidelity=min_fidelity
    )
    emb = Embedder(provider, cache=False)
    path = Contender(
        f"semkit {backend}",
        lambda docs: emb.encode(docs),
        lambda q: emb.encode(q, kind="query"),
    )
    return path, emb


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
    contenders = [sentence_transformers_default()]
    autos = []
    for floor in (None, 0.995):
        path, emb = semkit_path("auto", floor)
        autos.append((path, emb))
        contenders.append(path)
    for backend in BACKENDS:
        if backend in ("auto", SENTENCE_TRANSFORMERS):
            continue  # sentence-transformers' own encode is the first contender
        if backend == "torch-bf16" and not native_bf16():
            continue  # emulated bf16: several times slower, never chosen (see the notes)
        contenders.append(semkit_path(backend, None)[0])
    for c in contenders:  # warm up; "auto" calibrates here (once per machine)
        c.encode(docs[:32])
        c.query(queries[0])
    for path, emb in autos:
        path.label += (
            f" (min_fidelity {emb.provider.min_fidelity:g}: "
            f"{emb.provider.variant_for(N_DOCS)} bulk, {emb.provider.variant_for(1)} queries)"
        )
    probe = LoadProbe()
    loads = []
    for start in range(0, N_DOCS, BLOCK):
        block = docs[start : start + BLOCK]
        for c in contenders:
            with probe.watch() as load:
                t = time.perf_counter()
                c.vectors.append(np.asarray(c.encode(block), dtype=np.float32))
                c.seconds += time.perf_counter() - t
            loads.append(load["others"])
        print(
            f"{start + len(block)} documents: "
            + ", ".join(
                f"{c.label.split(' (')[0]} {(start + len(block)) / c.seconds:.1f}/s"
                for c in contenders
            ),
            flush=True,
        )
    for q in queries:
        for c in contenders:
            t0 = time.perf_counter()
            c.query(q)
            c.latencies.append(time.perf_counter() - t0)
    ref = unit(np.concatenate(contenders[0].vectors))
    base = N_DOCS / contenders[0].seconds
    rows = []
    for c in contenders:
        cos = (unit(np.concatenate(c.vectors)) * ref).sum(1)
        backend = c.label.split()[1] if c.label.startswith("semkit") else "torch"
        floor = 0.995 if "0.995" in c.label else None
        rows.append(
            [
                c.label,
                N_DOCS / c.seconds,
                tokens / c.seconds,
                (N_DOCS / c.seconds) / base,
                float(cos.min()),
                float(cos.mean()),
                1e3 * np.percentile(c.latencies, 50),
                1e3 * np.percentile(c.latencies, 95),
                ndcg(backend, floor) if args.ndcg else "",
            ]
        )
        print(rows[-1], flush=True)
    report(
        f"embedding_{cpu_kind()}",
        f"Embedding {N_DOCS:,} SciFact documents and {N_QUERIES} single queries "
        f"with all-MiniLM-L6-v2 on {cpu_model()}",
        [
            "path",
            "texts/s",
            "tokens/s",
            "speed-up",
            "min cos vs fp32",
            "mean cos",
            "query p50 ms",
            "query p95 ms",
            "SciFact nDCG@10",
        ],
        rows,
        notes=[
            f"CPU kind {cpu_kind()}: {cpu_model()}, instruction sets "
            f"{', '.join(environment([])['isa'])}; native bf16: {native_bf16()}"
            + ("" if native_bf16() else " (torch-bf16 skipped: emulated, several times slower)"),
            f"Documents: mean {tokens / N_DOCS:.0f} tokens after the model's 256-token "
            f"cut (SciFact abstracts are long), in blocks of {BLOCK} taken in turns by "
            "every path. Cache off for every path.",
            f"Other processes used {np.mean(loads):.2f} cores on average (max "
            f"{max(loads):.2f}) during the timed blocks.",
            "Fidelity: cosine of each document vector to sentence-transformers' fp32 "
            "encode of the same text.",
            "Query latency: one `encode` call per query (Embedder.encode with "
            "kind='query' for semkit), 200 SciFact test queries, mean 22 tokens, the paths "
            "in turns.",
            "nDCG@10: `semkit eval retrieval --truncate --backend <path>` with the cache "
            "off (fp32 reference 0.6451).",
            "auto's calibration here: "
            + "; ".join(
                f"{k}: {v}" for k, v in autos[0][1].provider.calibration_report()["why"].items()
            ),
        ],
    )


if __name__ == "__main__":
    main()
