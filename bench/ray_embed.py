"""SciFact documents embedded locally and on Ray: 1 vs 2 workers, scaling and overhead.

Three ways to embed the same documents with the same inference path (the one ``auto``
picks here for bulk work), cache off:

- local: ``Embedder.encode`` in this process (model loaded beforehand, not timed);
- Ray: ``semkit.distributed.embed_file`` on a local Ray cluster of this machine's cores,
  with 1 worker of 1 CPU, 2 workers of 1 CPU, and 1 worker of 2 CPUs.

Each Ray run is timed on the whole subset and on a small head of it; the difference is
the marginal throughput (documents/s once workers run), the small run the fixed cost of a
run (actors start, import torch, load the model). Scaling efficiency: 2 workers' marginal
throughput over twice one worker's. Ray's cost per document: 1/throughput of 1 worker of
2 CPUs minus 1/throughput of the local path (same cores, same path).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import data_dir, report

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
HEAD = 64  # documents of the small run that measures a run's fixed cost


def write_corpus(path: Path, n: int) -> list[str]:
    texts = []
    with (
        (data_dir() / "scifact" / "corpus.jsonl").open(encoding="utf-8") as f,
        path.open("w", encoding="utf-8") as out,
    ):
        for line in f:
            row = json.loads(line)
            text = f"{row.get('title', '')} {row.get('text', '')}".strip()
            out.write(json.dumps({"id": row["_id"], "text": text}) + "\n")
            texts.append(text)
            if len(texts) >= n:
                break
    return texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1000, help="SciFact documents (first N)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each setting (best)")
    args = parser.parse_args()

    import warnings

    import numpy as np
    import ray

    import semkit
    from semkit.distributed import RayOptions, embed_file

    warnings.simplefilter("ignore", semkit.TruncationWarning)
    tmp = Path(tempfile.mkdtemp(prefix="semkit-ray-bench-"))
    texts = write_corpus(tmp / "corpus.jsonl", args.n)
    write_corpus(tmp / "head.jsonl", HEAD)
    local = semkit.Embedder("default", cache=False)
    backend = local.provider.variant_for(len(texts))
    local = semkit.Embedder("default", cache=False, backend=backend)
    local.encode(texts[:16])  # load the model outside the timing
    best_local = float("inf")
    for _ in range(args.repeat):
        t = time.perf_counter()
        reference = local.encode(texts)
        best_local = min(best_local, time.perf_counter() - t)
    local_tput = len(texts) / best_local

    ray.init(address="local", num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)

    rows = [["local `Embedder.encode`", "-", "-", best_local, local_tput, "-", "-", 1.0]]
    results = {}
    for workers, cpus in ((1, 1.0), (2, 1.0), (1, 2.0)):
        timings = {}
        for name in ("head", "corpus"):
            best = float("inf")
            for _ in range(args.repeat):
                out = tmp / f"{name}-{workers}x{cpus:g}.parquet"
                rep = embed_file(
                    tmp / f"{name}.jsonl",
                    out,
                    model="default",
                    backend=backend,
                    options=RayOptions(workers=workers, cpus_per_worker=cpus, cache=False),
                )
                best = min(best, rep.seconds)
            timings[name] = best
        import pyarrow.parquet as pq

        got = np.array(
            pq.read_table(tmp / f"corpus-{workers}x{cpus:g}.parquet")
            .column("embedding")
            .to_pylist(),
            dtype=np.float32,
        )
        min_cos = float((got * reference).sum(1).min())
        marginal = (len(texts) - HEAD) / (timings["corpus"] - timings["head"])
        results[(workers, cpus)] = marginal
        rows.append(
            [
                f"Ray, {workers} worker{'s' if workers > 1 else ''} x {cpus:g} CPU",
                workers,
                cpus,
                timings["corpus"],
                len(texts) / timings["corpus"],
                marginal,
                timings["head"],
                min_cos,
            ]
        )
    ray.shutdown()
    one, two, whole = results[(1, 1.0)], results[(2, 1.0)], results[(1, 2.0)]
    efficiency = two / (2 * one)
    overhead_ms = (1 / whole - 1 / local_tput) * 1000
    per_node = max(two, whole)
    nodes = 10_000_000 / 3600 / per_node
    notes = [
        f"{len(texts)} SciFact documents (title + text, the first {len(texts)} of the corpus, "
        f"mean ~240 tokens, long ones truncated at 256 by the model), inference path "
        f"`{backend}` (what `auto` picks here for bulk work), embedding cache off.",
        "Total: wall time of `embed_file` from call to Parquet file written, actors started, "
        "model loaded and file written included. Marginal: documents/s once running, "
        f"from the difference between the whole run and a run of the first {HEAD} documents "
        "(whose time is the fixed cost column).",
        f"Scaling efficiency, 2 workers x 1 CPU vs 1 worker x 1 CPU: {efficiency:.2f} "
        f"({two:.1f} vs 2 x {one:.1f} documents/s).",
        f"Ray's cost per document, 1 worker x 2 CPUs vs the local path on the same 2 cores: "
        f"{overhead_ms:+.2f} ms ({whole:.1f} vs {local_tput:.1f} documents/s).",
        f"10M documents in an hour need 2,778 documents/s: {nodes:.0f} nodes like this one "
        f"({per_node:.1f} documents/s each), if throughput adds up across nodes.",
        "min cosine: Ray's vectors against the local path's, row by row.",
        "Each Ray worker runs its model with as many threads as it has CPUs "
        "(OMP_NUM_THREADS, read by torch and ONNX Runtime); the local path uses both cores.",
    ]
    report(
        "ray_embed",
        f"Embedding {len(texts)} SciFact documents: local vs Ray workers",
        [
            "path",
            "workers",
            "CPUs each",
            "total s",
            "docs/s (total)",
            "docs/s (marginal)",
            f"fixed cost s ({HEAD} docs)",
            "min cosine to local",
        ],
        rows,
        notes=notes,
        extra={
            "n": len(texts),
            "backend": backend,
            "local_docs_per_s": local_tput,
            "marginal_docs_per_s": {f"{w}x{c:g}": v for (w, c), v in results.items()},
            "scaling_efficiency": efficiency,
            "ray_overhead_ms_per_doc": overhead_ms,
            "nodes_for_10m_per_hour": nodes,
        },
    )


if __name__ == "__main__":
    main()
