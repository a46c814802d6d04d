"""Which HNSW library should semkit collections use? FAISS, hnswlib and usearch, measured.

All three build the same graph (M links per node on the upper levels, 2*M on the
base level, efConstruction candidates while inserting) over 384-d unit vectors
with inner product, so they are compared at equal parameters and equal recall:

- data: clustered synthetic vectors (``--sizes``, default 100k; seeded; queries
  from the same distribution, not in the base set) and the real SciFact corpus
  (5,183 documents, 300 test queries) embedded with ``semkit.Embedder()``;
- ground truth: exact top-10 by numpy matrix products;
- per library and M: build time, RSS growth, serialized size, load time, then an
  efSearch sweep of recall@10, batched QPS (all queries at once, the library's own
  threads) and single-query QPS with p50/p99 latency (one thread);
- what semkit needs beyond speed: deletes (FAISS HNSW cannot remove, so a tombstone
  selector; hnswlib ``mark_deleted``; usearch ``remove``) and allow-list filtered
  search at 50/10/1% (FAISS ``SearchParametersHNSW(sel=...)``, hnswlib ``filter=``,
  usearch has no filter in Python, so an oversampled post-filter);
- file safety: what loading a truncated or corrupted index file does (in a
  subprocess, so a crash is reported rather than suffered).

Tables: ``ann_libraries`` (summary), ``ann_libraries_sweep``, ``ann_libraries_filtered``,
``ann_libraries_deletes`` and ``ann_libraries_files`` in bench/results.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/ann_libraries.py --quick    # < 3 minutes
    HF_HUB_OFFLINE=1 .venv/bin/python bench/ann_libraries.py            # 100k + SciFact
    HF_HUB_OFFLINE=1 .venv/bin/python bench/ann_libraries.py --sizes 1000000 --no-scifact
    .venv/bin/python bench/ann_libraries.py --rerender     # rewrite tables/notes from the JSON

Data and queries are seeded, so every run measures the same vectors; the graphs
built on several threads are not bit-identical between runs (insertion order
races), which moves recall by a few thousandths at most.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import data_dir, report, scifact_documents

os.environ.setdefault("HF_HUB_OFFLINE", "1")

DIM = 384
K = 10
TARGETS = (0.95, 0.98, 0.99)
FULL_EFS = (16, 32, 48, 64, 96, 128, 192, 256, 384, 512)
QUICK_EFS = (16, 32, 64, 128, 256)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --- memory --------------------------------------------------------------------------------
_PAGE = os.sysconf("SC_PAGE_SIZE")
try:
    _LIBC: Any = ctypes.CDLL("libc.so.6")
except OSError:  # pragma: no cover - not glibc
    _LIBC = None


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE


def settle() -> int:
    """Collect garbage, hand freed heap back to the OS, and return the RSS."""
    gc.collect()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)
    return rss_bytes()


# --- data ----------------------------------------------------------------------------------
def normalise(x: np.ndarray) -> np.ndarray:
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


@dataclass
class Dataset:
    name: str
    base: np.ndarray  # (n, DIM) float32, unit rows
    queries: np.ndarray  # (q, DIM) float32, unit rows
    ids: np.ndarray = field(init=False)  # int64 labels of the base rows

    def __post_init__(self) -> None:
        self.ids = np.arange(len(self.base), dtype=np.int64)


class Clusters:
    """Gaussian clusters shaped like sentence embeddings.

    Real embeddings are anisotropic: variance falls off over the principal
    directions (here 1/(i+1)^0.8, in a random rotation), all vectors share a common
    mean direction, clusters differ in size (Zipf-like weights) and spread. The
    defaults were set so that the similarity statistics printed by ``describe``
    (random-pair cosine, nearest and 10th-nearest neighbour cosine) land near those
    of all-MiniLM-L6-v2 on SciFact at the same corpus size.
    """

    def __init__(self, n_clusters: int, seed: int, spread: float = 0.95, mean_weight: float = 0.5):
        rng = np.random.default_rng(seed)
        self.rng = rng
        q, _ = np.linalg.qr(rng.standard_normal((DIM, DIM)))
        self.scale = ((1.0 / np.arange(1, DIM + 1) ** 0.8) ** 0.5).astype(np.float32)
        self.scale /= np.sqrt((self.scale**2).sum())  # unit expected norm
        self.rot = q.astype(np.float32)
        mean = normalise(rng.standard_normal((1, DIM)).astype(np.float32))[0]
        self.centers = normalise(self._shaped(n_clusters) + mean_weight * mean)
        w = 1.0 / np.arange(1, n_clusters + 1) ** 0.6
        self.weights = rng.permutation(w / w.sum())
        self.spreads = (spread * rng.uniform(0.6, 1.4, n_clusters)).astype(np.float32)

    def _shaped(self, n: int) -> np.ndarray:
        return (self.rng.standard_normal((n, DIM), dtype=np.float32) * self.scale) @ self.rot

    def sample(self, n: int, chunk: int = 200_000) -> np.ndarray:
        out = np.empty((n, DIM), dtype=np.float32)
        for start in range(0, n, chunk):
            m = min(chunk, n - start)
            c = self.rng.choice(len(self.centers), size=m, p=self.weights)
            x = self.centers[c] + self.spreads[c, None] * self._shaped(m)
            out[start : start + m] = normalise(x)
        return out


def synthetic(n: int, n_queries: int, seed: int) -> Dataset:
    n_clusters = int(np.clip(n // 50, 1000, 4000))
    gen = Clusters(n_clusters, seed)
    base = gen.sample(n)
    queries = gen.sample(n_queries)
    return Dataset(f"clustered {n:,} ({n_clusters:,} clusters)", base, queries)


def scifact(self_queries: bool) -> Dataset:
    from semkit import Embedder

    root = data_dir() / "scifact"
    embedder = Embedder()
    t = time.perf_counter()
    base = embedder.encode(scifact_documents())
    log(
        f"SciFact documents: {base.shape} in {time.perf_counter() - t:.1f}s "
        f"({embedder.last_stats.embedded} embedded, the rest cached)"
    )
    if self_queries:
        rng = np.random.default_rng(0)
        pick = rng.choice(len(base), 300, replace=False)
        ds = Dataset("SciFact 5,183 docs (doc queries)", base, base[pick].copy())
        ds.self_ids = pick  # type: ignore[attr-defined]
        return ds
    wanted = set()
    for line in (root / "qrels" / "test.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        if line.strip():
            wanted.add(line.split("\t")[0].strip())
    texts = []
    with (root / "queries.jsonl").open(encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            if row["_id"] in wanted:
                texts.append(row["text"])
    queries = embedder.encode(texts, kind="query")
    log(f"SciFact test queries: {queries.shape}")
    return Dataset(f"SciFact {len(base):,} docs, {len(queries)} test queries", base, queries)


def exact_top_k(
    queries: np.ndarray,
    base: np.ndarray,
    ids: np.ndarray,
    k: int = K,
    exclude: np.ndarray | None = None,
) -> np.ndarray:
    """Exact top-k labels by inner product (blocks of queries); ``exclude[i]`` drops one id."""
    out = np.full((len(queries), k), -1, dtype=np.int64)
    step = max(1, 50_000_000 // max(1, len(base)))
    for s in range(0, len(queries), step):
        scores = queries[s : s + step] @ base.T
        if exclude is not None:
            rows = np.arange(scores.shape[0])
            pos = np.searchsorted(ids, exclude[s : s + step])
            scores[rows, pos] = -np.inf
        kk = min(k, scores.shape[1])
        part = np.argpartition(-scores, kk - 1, axis=1)[:, :kk]
        order = np.argsort(-np.take_along_axis(scores, part, 1), axis=1)
        out[s : s + step, :kk] = ids[np.take_along_axis(part, order, 1)]
    return out


def describe(ds: Dataset) -> str:
    """Similarity statistics, to check the synthetic data looks like real embeddings."""
    rng = np.random.default_rng(1)
    sample = ds.queries[:200]
    sims = sample @ ds.base.T
    top = -np.sort(-sims, axis=1)[:, :K]
    a, b = rng.integers(0, len(ds.base), (2, 2000))
    rand = float(np.mean(np.sum(ds.base[a] * ds.base[b], 1)))
    return (
        f"random-pair cos {rand:.3f}, query top-1 cos {top[:, 0].mean():.3f}, "
        f"top-10 cos {top[:, -1].mean():.3f}"
    )


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    hits = 0
    total = 0
    for f, t in zip(found, truth, strict=True):
        t = t[t >= 0]
        total += len(t)
        hits += len(np.intersect1d(f[f >= 0], t, assume_unique=False))
    return hits / max(total, 1)


def returned_share(found: np.ndarray, k: int = K) -> float:
    return float((found >= 0).sum()) / (found.shape[0] * k)


# --- libraries -----------------------------------------------------------------------------
class Lib:
    name = ""
    native_filter = True

    def __init__(self, m: int, ef_construction: int, threads: int, seed: int) -> None:
        self.m = m
        self.efc = ef_construction
        self.threads = threads
        self.seed = seed

    @property
    def label(self) -> str:
        return f"{self.name} M={self.m}"

    def build(self, ids: np.ndarray, x: np.ndarray) -> None: ...
    def search(self, q: np.ndarray, k: int, ef: int, threads: int) -> np.ndarray: ...
    def search_one(self, q: np.ndarray, k: int) -> Any: ...
    def set_ef(self, ef: int) -> None: ...
    def save(self, path: Path) -> None: ...
    def load(self, path: Path) -> Any: ...
    def delete(self, ids: np.ndarray) -> None: ...
    def search_deleted(self, q: np.ndarray, k: int, ef: int) -> np.ndarray:
        return self.search(q, k, ef, self.threads)

    def filtered(
        self, q: np.ndarray, k: int, ef: int, allowed: np.ndarray, mask: np.ndarray, how: str
    ) -> np.ndarray: ...

    filter_modes: tuple[str, ...] = ("native",)


class Faiss(Lib):
    name = "faiss"
    filter_modes = ("batch", "bitmap")

    def __init__(self, *a: Any) -> None:
        super().__init__(*a)
        import faiss

        self.faiss = faiss
        self.index: Any = None
        self._keep: list[Any] = []
        self.tombstone: Any = None
        self.params: Any = None

    def build(self, ids: np.ndarray, x: np.ndarray) -> None:
        f = self.faiss
        f.omp_set_num_threads(self.threads)
        hnsw = f.IndexHNSWFlat(x.shape[1], self.m, f.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = self.efc
        self.index = f.IndexIDMap2(hnsw)
        self._keep = [hnsw]
        self.index.add_with_ids(x, ids)

    def _params(self, ef: int, sel: Any = None) -> Any:
        p = self.faiss.SearchParametersHNSW()
        p.efSearch = ef
        if sel is not None:
            p.sel = sel
        return p

    def set_ef(self, ef: int) -> None:  # before single-query calls: one thread
        self.faiss.omp_set_num_threads(1)
        self.params = self._params(ef)

    def search(self, q: np.ndarray, k: int, ef: int, threads: int) -> np.ndarray:
        self.faiss.omp_set_num_threads(threads)
        return self.index.search(q, k, params=self._params(ef))[1]

    def search_one(self, q: np.ndarray, k: int) -> Any:
        return self.index.search(q, k, params=self.params)[1]

    def save(self, path: Path) -> None:
        path.write_bytes(self.faiss.serialize_index(self.index).tobytes())

    def load(self, path: Path) -> Any:
        return self.faiss.deserialize_index(np.frombuffer(path.read_bytes(), dtype=np.uint8))

    def delete(self, ids: np.ndarray) -> None:
        # IndexHNSW cannot remove: keep a tombstone set and exclude it at search time.
        prev = self._keep_deleted if self.tombstone is not None else np.zeros(0, np.int64)
        self._keep_deleted = np.concatenate([prev, ids])
        inner = self.faiss.IDSelectorBatch(self._keep_deleted)
        self.tombstone = self.faiss.IDSelectorNot(inner)
        self._tomb_inner = inner

    def search_deleted(self, q: np.ndarray, k: int, ef: int) -> np.ndarray:
        self.faiss.omp_set_num_threads(self.threads)
        return self.index.search(q, k, params=self._params(ef, self.tombstone))[1]

    def filtered(
        self, q: np.ndarray, k: int, ef: int, allowed: np.ndarray, mask: np.ndarray, how: str
    ) -> np.ndarray:
        f = self.faiss
        f.omp_set_num_threads(self.threads)
        if how == "batch":
            sel = f.IDSelectorBatch(allowed)
            bits = None
        else:
            bits = np.packbits(mask, bitorder="little")
            sel = f.IDSelectorBitmap(len(mask), f.swig_ptr(bits))
        out = self.index.search(q, k, params=self._params(ef, sel))[1]
        del bits
        return out


class Hnswlib(Lib):
    name = "hnswlib"
    filter_modes = ("callable",)

    def __init__(self, *a: Any) -> None:
        super().__init__(*a)
        import hnswlib

        self.hnswlib = hnswlib
        self.index: Any = None
        self.n = 0

    def build(self, ids: np.ndarray, x: np.ndarray) -> None:
        self.n = len(x)
        p = self.hnswlib.Index(space="ip", dim=x.shape[1])
        p.init_index(max_elements=len(x), ef_construction=self.efc, M=self.m, random_seed=self.seed)
        p.add_items(x, ids, num_threads=self.threads)
        self.index = p

    def _query(self, q: np.ndarray, k: int, threads: int, filt: Any = None) -> np.ndarray:
        try:
            return self.index.knn_query(q, k, num_threads=threads, filter=filt)[0].astype(np.int64)
        except RuntimeError:  # fewer than k found for some query: go one by one
            out = np.full((len(q), k), -1, dtype=np.int64)
            for i in range(len(q)):
                for kk in range(k, 0, -1):
                    try:
                        out[i, :kk] = self.index.knn_query(
                            q[i : i + 1], kk, num_threads=1, filter=filt
                        )[0][0]
                        break
                    except RuntimeError:
                        continue
            return out

    def set_ef(self, ef: int) -> None:
        self.index.set_ef(ef)

    def search(self, q: np.ndarray, k: int, ef: int, threads: int) -> np.ndarray:
        self.index.set_ef(ef)
        return self._query(q, k, threads)

    def search_one(self, q: np.ndarray, k: int) -> Any:
        return self.index.knn_query(q, k, num_threads=1)

    def save(self, path: Path) -> None:
        self.index.save_index(str(path))

    def load(self, path: Path) -> Any:
        p = self.hnswlib.Index(space="ip", dim=DIM)
        p.load_index(str(path), max_elements=self.n)
        return p

    def delete(self, ids: np.ndarray) -> None:
        for i in ids.tolist():
            self.index.mark_deleted(i)

    def filtered(
        self, q: np.ndarray, k: int, ef: int, allowed: np.ndarray, mask: np.ndarray, how: str
    ) -> np.ndarray:
        self.index.set_ef(ef)
        lookup = mask.tolist()  # list.__getitem__: the cheapest Python callable there is
        return self._query(q, k, self.threads, lookup.__getitem__)


class USearch(Lib):
    name = "usearch"
    native_filter = False
    filter_modes = ("post-filter",)

    def __init__(self, *a: Any, dtype: str = "f32") -> None:
        super().__init__(*a)
        from usearch.index import Index

        self.Index = Index
        self.dtype = dtype
        self.index: Any = None

    @property
    def label(self) -> str:
        return f"usearch {self.dtype} M={self.m}"

    def build(self, ids: np.ndarray, x: np.ndarray) -> None:
        # i8 quantisation is defined for cosine; on unit vectors cosine == inner product.
        metric = "cos" if self.dtype == "i8" else "ip"
        self.index = self.Index(
            ndim=x.shape[1],
            metric=metric,
            dtype=self.dtype,
            connectivity=self.m,
            expansion_add=self.efc,
            expansion_search=64,
        )
        self.index.add(ids.astype(np.uint64), x, threads=self.threads)

    @staticmethod
    def _keys(m: Any, k: int) -> np.ndarray:
        keys = np.asarray(m.keys).astype(np.int64).reshape(-1, k)
        counts = np.asarray(m.counts).reshape(-1, 1)
        keys[np.arange(k)[None, :] >= counts] = -1
        return keys

    def set_ef(self, ef: int) -> None:
        self.index.expansion_search = ef

    def search(self, q: np.ndarray, k: int, ef: int, threads: int) -> np.ndarray:
        self.index.expansion_search = ef
        return self._keys(self.index.search(q, k, threads=threads), k)

    def search_one(self, q: np.ndarray, k: int) -> Any:
        return self.index.search(q, k, threads=1)

    def save(self, path: Path) -> None:
        self.index.save(str(path))

    def load(self, path: Path) -> Any:
        return self.Index.restore(str(path))

    def delete(self, ids: np.ndarray) -> None:
        self.index.remove(ids.astype(np.uint64))

    def filtered(
        self, q: np.ndarray, k: int, ef: int, allowed: np.ndarray, mask: np.ndarray, how: str
    ) -> np.ndarray:
        # No predicate in the Python API: ask for k/selectivity*2 and keep the allowed.
        sel = mask.mean()
        count = int(min(len(mask), math.ceil(2 * k / max(sel, 1e-9))))
        self.index.expansion_search = max(ef, count)
        keys = self._keys(self.index.search(q, count, threads=self.threads), count)
        out = np.full((len(q), k), -1, dtype=np.int64)
        for i, row in enumerate(keys):
            row = row[row >= 0]
            row = row[mask[row]][:k]
            out[i, : len(row)] = row
        return out


def make_libs(
    names: Sequence[str], m: int, efc: int, threads: int, seed: int, usearch_dtypes: Sequence[str]
) -> list[Lib]:
    libs: list[Lib] = []
    for name in names:
        if name == "faiss":
            libs.append(Faiss(m, efc, threads, seed))
        elif name == "hnswlib":
            libs.append(Hnswlib(m, efc, threads, seed))
        elif name == "usearch":
            libs += [USearch(m, efc, threads, seed, dtype=d) for d in usearch_dtypes]
        else:
            raise SystemExit(f"unknown library {name!r}")
    return libs


# --- measurement ---------------------------------------------------------------------------
def best_time(fn: Callable[[], Any], repeats: int) -> float:
    """The fastest of ``repeats`` runs: the least disturbed by other load on the machine."""
    best = math.inf
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


@dataclass
class Point:
    ef: int
    recall: float
    qps_batch: float
    qps_batch1: float
    qps_single: float
    p50_ms: float
    p99_ms: float


def sweep(
    libs: Sequence[Lib],
    ds: Dataset,
    truth: np.ndarray,
    efs: Sequence[int],
    args: argparse.Namespace,
    exclude: np.ndarray | None,
) -> dict[str, list[Point]]:
    """The ef sweep for all ``libs`` at once, interleaved so that load from other
    processes falls on every library alike: each timed repeat runs the libraries in
    turn, and single queries alternate between libraries in blocks of 25."""
    points: dict[str, list[Point]] = {lib.label: [] for lib in libs}
    active = list(libs)
    q = ds.queries
    singles = q[: args.single_queries]
    for ef in efs:
        rec = {}
        for lib in active:
            found = lib.search(q, K, ef, args.threads)
            if exclude is not None:  # documents as queries: the self-match does not count
                found = drop_self(found, exclude)
            rec[lib.label] = recall(found, truth)
        secs = dict.fromkeys(rec, math.inf)
        secs1 = dict.fromkeys(rec, math.inf)
        for _ in range(args.repeats):
            for lib in active:
                for threads, best in ((args.threads, secs), (1, secs1)):
                    t = time.perf_counter()
                    lib.search(q, K, ef, threads)
                    best[lib.label] = min(best[lib.label], time.perf_counter() - t)
        lat = {label: np.empty(len(singles)) for label in rec}
        for _ in range(2 if args.repeats > 1 else 1):  # the first pass warms caches
            for start in range(0, len(singles), 25):
                for lib in active:
                    lib.set_ef(ef)
                    row = lat[lib.label]
                    for i in range(start, min(start + 25, len(singles))):
                        t = time.perf_counter()
                        lib.search_one(singles[i : i + 1], K)
                        row[i] = time.perf_counter() - t
        for lib in list(active):
            label = lib.label
            p = Point(
                ef,
                rec[label],
                len(q) / secs[label],
                len(q) / secs1[label],
                1.0 / lat[label].mean(),
                float(np.percentile(lat[label], 50) * 1e3),
                float(np.percentile(lat[label], 99) * 1e3),
            )
            points[label].append(p)
            log(
                f"  {label:<18} ef={ef:<4} recall {p.recall:.4f}  batch {p.qps_batch:>8,.0f} q/s "
                f"(1 thread {p.qps_batch1:>8,.0f})  single {p.qps_single:>8,.0f} q/s  "
                f"p50 {p.p50_ms:.3f} ms  p99 {p.p99_ms:.3f} ms"
            )
            if p.recall >= 0.9999 and ef >= 64 and args.stop_at_perfect:
                active.remove(lib)
        if not active:
            break
    return points


def drop_self(found: np.ndarray, exclude: np.ndarray) -> np.ndarray:
    return np.where(found == exclude[:, None], -1, found)


def at_recall(points: Sequence[Point], target: float, attr: str) -> tuple[Any, Any]:
    """Best QPS (``attr``) among sweep points reaching ``target`` recall, and its ef."""
    ok = [p for p in points if p.recall >= target]
    if not ok:
        return "-", "-"
    best = max(ok, key=lambda p: getattr(p, attr))
    return round(getattr(best, attr)), best.ef


def file_roundtrip(lib: Lib, tmp: Path) -> dict[str, float]:
    path = tmp / f"{lib.name}.idx"
    t = time.perf_counter()
    lib.save(path)
    save_s = time.perf_counter() - t
    size = path.stat().st_size
    t = time.perf_counter()
    loaded = lib.load(path)
    load_s = time.perf_counter() - t
    del loaded
    path.unlink()
    return {"size": size, "save_s": save_s, "load_s": load_s}


def filtered_runs(lib: Lib, ds: Dataset, args: argparse.Namespace, rows: list[list[Any]]) -> None:
    rng = np.random.default_rng(args.seed + 7)
    q = ds.queries[: args.filter_queries]
    n = len(ds.base)
    for sel in args.selectivity:
        mask = np.zeros(n, dtype=bool)
        mask[rng.choice(n, max(K, round(sel * n)), replace=False)] = True
        allowed = ds.ids[mask]
        truth = exact_top_k(q, ds.base[mask], allowed)
        for how in lib.filter_modes:
            for ef in args.filter_ef:
                t = time.perf_counter()
                found = lib.filtered(q, K, ef, allowed, mask, how)
                secs = time.perf_counter() - t
                if secs < 1.0:  # fast enough to repeat for a steadier figure

                    def again(
                        ef: int = ef,
                        allowed: np.ndarray = allowed,
                        mask: np.ndarray = mask,
                        how: str = how,
                    ) -> np.ndarray:
                        return lib.filtered(q, K, ef, allowed, mask, how)

                    secs = min(secs, best_time(again, args.repeats))
                rows.append(
                    [
                        ds.name,
                        lib.label,
                        how,
                        f"{sel:.0%}",
                        ef,
                        returned_share(found),
                        recall(found, truth),
                        round(len(q) / secs),
                    ]
                )
                log(
                    f"  filtered {lib.label} {how} {sel:.0%} ef={ef}: returned "
                    f"{returned_share(found):.3f} recall {rows[-1][6]:.4f} {rows[-1][7]:,} q/s"
                )


def exact_filtered_rows(ds: Dataset, args: argparse.Namespace, rows: list[list[Any]]) -> None:
    """What the exact alternative costs: numpy over the allowed vectors only."""
    rng = np.random.default_rng(args.seed + 7)
    q = ds.queries[: args.filter_queries]
    n = len(ds.base)
    for sel in args.selectivity:
        mask = np.zeros(n, dtype=bool)
        mask[rng.choice(n, max(K, round(sel * n)), replace=False)] = True
        allowed = ds.ids[mask]

        def run(mask: np.ndarray = mask, allowed: np.ndarray = allowed) -> np.ndarray:
            return exact_top_k(q, ds.base[mask], allowed)

        secs = best_time(run, args.repeats)
        rows.append(
            [
                ds.name,
                "exact numpy (gather + matmul)",
                "-",
                f"{sel:.0%}",
                "-",
                1.0,
                1.0,
                round(len(q) / secs),
            ]
        )


def delete_runs(lib: Lib, ds: Dataset, args: argparse.Namespace, rows: list[list[Any]]) -> None:
    """Cumulative deletes (1%, then up to 10%) and search over the survivors."""
    rng = np.random.default_rng(args.seed + 11)
    order = rng.permutation(len(ds.ids))
    q = ds.queries[: args.filter_queries * 2]
    done = 0
    for frac in args.delete_fracs:
        upto = round(frac * len(ds.ids))
        batch = ds.ids[order[done:upto]]
        t = time.perf_counter()
        lib.delete(batch)
        del_s = time.perf_counter() - t
        done = upto
        live = np.ones(len(ds.ids), dtype=bool)
        live[order[:done]] = False
        truth = exact_top_k(q, ds.base[live], ds.ids[live])
        for ef in args.filter_ef:
            found = lib.search_deleted(q, K, ef)
            secs = best_time(lambda ef=ef: lib.search_deleted(q, K, ef), args.repeats)
            dead = np.isin(found, ds.ids[order[:done]]).sum()
            rows.append(
                [
                    ds.name,
                    lib.label,
                    f"{frac:.0%}",
                    round(del_s * 1e6 / max(len(batch), 1), 2),
                    ef,
                    returned_share(found),
                    int(dead),
                    recall(found, truth),
                    round(len(q) / secs),
                ]
            )
            log(
                f"  deleted {lib.label} {frac:.0%} ef={ef}: recall {rows[-1][7]:.4f} "
                f"{rows[-1][8]:,} q/s ({dead} deleted ids returned)"
            )


# --- file safety ---------------------------------------------------------------------------
_PROBE = r"""
import sys, numpy as np
lib, path, dim = sys.argv[1], sys.argv[2], int(sys.argv[3])
q = np.random.default_rng(0).standard_normal((500, dim)).astype(np.float32)
q /= np.linalg.norm(q, axis=1, keepdims=True)
if lib == "faiss":
    import faiss
    idx = faiss.deserialize_index(np.frombuffer(open(path, "rb").read(), dtype=np.uint8))
    idx.search(q, 10, params=faiss.SearchParametersHNSW(efSearch=128))
elif lib == "hnswlib":
    import hnswlib
    idx = hnswlib.Index(space="ip", dim=dim); idx.load_index(path); idx.set_ef(128)
    idx.knn_query(q, 10)
else:
    from usearch.index import Index
    idx = Index.restore(path); assert idx is not None, "restore returned None"
    idx.expansion_search = 128; idx.search(q, 10)
print("LOADED")
"""


def file_safety(args: argparse.Namespace, tmp: Path) -> list[list[Any]]:
    """Load a truncated and a byte-flipped index file in a subprocess; report what happens."""
    rng = np.random.default_rng(args.seed)
    x = normalise(rng.standard_normal((2000, DIM)).astype(np.float32))
    ids = np.arange(len(x), dtype=np.int64)
    rows = []
    for lib in make_libs(args.libs, 16, 64, args.threads, args.seed, ["f32"]):
        lib.build(ids, x)
        good = tmp / f"{lib.name}.good"
        lib.save(good)
        data = good.read_bytes()
        cases = {
            "intact": data,
            "truncated to 50%": data[: len(data) // 2],
            "truncated by 1 byte": data[:-1],
            "64 bytes zeroed at 40%": data[: int(len(data) * 0.4)]
            + b"\0" * 64
            + data[int(len(data) * 0.4) + 64 :],
            "header zeroed (first 64 B)": b"\0" * 64 + data[64:],
        }
        for at in (0.02, 0.1, 0.5, 0.9):  # large positive ints: out-of-range ids if they are links
            pos = int(len(data) * at)
            cases[f"4 KiB of 0x7F at {at:.0%}"] = data[:pos] + b"\x7f" * 4096 + data[pos + 4096 :]
        for case, blob in cases.items():
            p = tmp / f"{lib.name}.case"
            p.write_bytes(blob)
            try:
                r = subprocess.run(
                    [sys.executable, "-c", _PROBE, lib.name, str(p), str(DIM)],
                    capture_output=True,
                    text=True,
                    timeout=60,
                )
                if r.returncode == 0:
                    outcome = "loads and searches (no error)"
                elif r.returncode < 0:
                    outcome = f"CRASH (signal {-r.returncode})"
                else:
                    err = (r.stderr.strip().splitlines() or ["?"])[-1]
                    outcome = "error: " + err[:90].replace("|", "/")
            except subprocess.TimeoutExpired:
                outcome = "hangs (> 60 s)"
            rows.append([lib.name, case, outcome])
            log(f"  file {lib.name}: {case}: {outcome}")
    return rows


# --- main ----------------------------------------------------------------------------------
def run_dataset(
    ds: Dataset, args: argparse.Namespace, results: dict[str, list[list[Any]]], tmp: Path
) -> None:
    exclude = getattr(ds, "self_ids", None)
    log(f"{ds.name}: {describe(ds)}")
    t = time.perf_counter()
    truth = exact_top_k(
        ds.queries, ds.base, ds.ids, K + (1 if exclude is not None else 0), exclude=exclude
    )[:, :K]
    log(f"ground truth in {time.perf_counter() - t:.1f}s")
    for m in args.m:
        libs = make_libs(
            args.libs, m, args.ef_construction, args.threads, args.seed, args.usearch_dtypes
        )
        built: dict[str, dict[str, Any]] = {}
        for lib in libs:  # built one after the other, all kept for the interleaved sweep
            rss0 = settle()
            t = time.perf_counter()
            lib.build(ds.ids, ds.base)
            build_s = time.perf_counter() - t
            rss = settle() - rss0
            log(f"{lib.label} built in {build_s:.1f}s, RSS +{rss / 2**20:.0f} MiB")
            built[lib.label] = {"build_s": build_s, "rss_bytes": rss, **file_roundtrip(lib, tmp)}
        all_points = sweep(libs, ds, truth, args.efs, args, exclude)
        for lib in libs:
            points = all_points[lib.label]
            info = built[lib.label]
            for p in points:
                results["sweep"].append(
                    [
                        ds.name,
                        lib.label,
                        p.ef,
                        p.recall,
                        round(p.qps_batch),
                        round(p.qps_batch1),
                        round(p.qps_single),
                        p.p50_ms,
                        p.p99_ms,
                    ]
                )
            row: list[Any] = [
                ds.name,
                lib.label,
                round(info["build_s"], 1),
                round(info["rss_bytes"] / 2**20),
                round(info["size"] / 2**20, 1),
                round(info["load_s"], 2),
            ]
            for target in TARGETS:
                qps, ef = at_recall(points, target, "qps_batch")
                qpst1, _ = at_recall(points, target, "qps_batch1")
                qps1, _ = at_recall(points, target, "qps_single")
                row += [f"{qps:,} / {qpst1:,} / {qps1:,} (ef {ef})" if ef != "-" else "not reached"]
            row.append(round(max(p.recall for p in points), 4))
            results["summary"].append(row)
            results["raw"].append(
                {
                    "dataset": ds.name,
                    "library": lib.label,
                    **info,
                    "points": [p.__dict__ for p in points],
                }
            )
        for lib in libs:
            if m == args.m[0] and exclude is None and (lib.name != "usearch" or lib.dtype == "f32"):
                if not args.no_filtered:
                    filtered_runs(lib, ds, args, results["filtered"])
                if not args.no_deletes:
                    delete_runs(lib, ds, args, results["deletes"])
        del libs, lib
        settle()
    if not args.no_filtered and exclude is None:
        exact_filtered_rows(ds, args, results["filtered"])


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, fewer ef values (< 3 min)")
    ap.add_argument(
        "--sizes",
        type=lambda s: [int(float(v)) for v in s.split(",")],
        help="synthetic base sizes, e.g. 100000,1000000 (default 100000; quick 20000)",
    )
    ap.add_argument("--queries", type=int, help="synthetic queries (default 1000; quick 300)")
    ap.add_argument("--no-scifact", action="store_true")
    ap.add_argument(
        "--scifact-doc-queries",
        action="store_true",
        help="query SciFact with 300 of its documents (self-match removed) "
        "instead of embedding the test queries",
    )
    ap.add_argument("--libs", default="faiss,hnswlib,usearch", type=lambda s: s.split(","))
    ap.add_argument(
        "--usearch-dtypes",
        default=None,
        type=lambda s: s.split(","),
        help="usearch scalar types (default f32,f16,i8; quick f32)",
    )
    ap.add_argument(
        "--m",
        default=None,
        type=lambda s: [int(v) for v in s.split(",")],
        help="M values; the first also runs filters and deletes (default 32,16)",
    )
    ap.add_argument("--ef-construction", type=int, default=200)
    ap.add_argument("--efs", type=lambda s: [int(v) for v in s.split(",")])
    ap.add_argument("--filter-ef", type=lambda s: [int(v) for v in s.split(",")], default=[64, 256])
    ap.add_argument(
        "--selectivity", type=lambda s: [float(v) for v in s.split(",")], default=[0.5, 0.1, 0.01]
    )
    ap.add_argument(
        "--delete-fracs", type=lambda s: [float(v) for v in s.split(",")], default=[0.01, 0.10]
    )
    ap.add_argument(
        "--filter-queries",
        type=int,
        default=None,
        help="queries for filtered search (deletes use twice as many); default 200",
    )
    ap.add_argument(
        "--single-queries",
        type=int,
        default=None,
        help="queries timed one by one per ef (default 500; quick 100)",
    )
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=None, help="timed runs, fastest kept (3)")
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--no-filtered", action="store_true")
    ap.add_argument("--no-deletes", action="store_true")
    ap.add_argument("--no-files", action="store_true", help="skip the corrupted-file probe")
    ap.add_argument(
        "--stop-at-perfect", action="store_true", help="stop an ef sweep once recall is 1.0"
    )
    ap.add_argument(
        "--rerender",
        action="store_true",
        help="rewrite the tables and notes from bench/results/<name>*.json (no measuring)",
    )
    ap.add_argument("--name", default="ann_libraries", help="result table name prefix")
    a = ap.parse_args()
    q = a.quick
    a.sizes = a.sizes or ([20_000] if q else [100_000])
    a.queries = a.queries or (300 if q else 1000)
    a.usearch_dtypes = a.usearch_dtypes or (["f32"] if q else ["f32", "f16", "i8"])
    a.m = a.m or ([32] if q else [32, 16])
    a.efs = a.efs or list(QUICK_EFS if q else FULL_EFS)
    a.filter_queries = a.filter_queries or (100 if q else 200)
    a.single_queries = a.single_queries or (100 if q else 500)
    a.repeats = a.repeats or (1 if q else 3)
    if q:
        a.filter_ef = a.filter_ef[:1] if a.filter_ef == [64, 256] else a.filter_ef
    return a


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _fmt_qps(v: float) -> str:
    return f"{v:,.0f}"


def summary_notes(
    results: dict[str, list[Any]], file_rows: Sequence[Sequence[Any]], m: int
) -> list[str]:
    """'Who wins on what', computed from the measurements (M = ``m``, f32 unless said)."""
    notes: list[str] = []
    raw = [r for r in results["raw"] if r["library"].endswith(f"M={m}")]
    datasets = list(dict.fromkeys(r["dataset"] for r in raw))
    for ds in datasets:
        runs = [r for r in raw if r["dataset"] == ds and "i8" not in r["library"]]
        for target in (0.95, 0.99):
            cells = []
            for r in runs:
                ok = [p for p in r["points"] if p["recall"] >= target]
                if ok:
                    best = max(ok, key=lambda p: p["qps_batch1"])
                    cells.append((best["qps_batch1"], r["library"], best["ef"]))
            if cells:
                cells.sort(reverse=True)
                text = ", ".join(f"{lib} {_fmt_qps(q)} (ef {ef})" for q, lib, ef in cells)
                notes.append(
                    f"SPEED {ds}, recall>={target}, M={m}, batched on 1 thread: fastest "
                    f"{cells[0][1]} - {text} (gaps under ~15% are noise here)."
                )
        builds = sorted((r["build_s"], r["library"]) for r in runs)
        notes.append(
            f"BUILD {ds}, M={m}: "
            + ", ".join(f"{lib} {b:,.1f} s" for b, lib in builds)
            + "; memory (RSS growth) "
            + ", ".join(
                f"{r['library']} {r['rss_bytes'] / 2**20:,.0f} MiB"
                for r in raw
                if r["dataset"] == ds
            )
            + "."
        )
        i8 = [r for r in raw if r["dataset"] == ds and "i8" in r["library"]]
        if i8:
            top = max(p["recall"] for p in i8[0]["points"])
            notes.append(
                f"QUANTISED {ds}: usearch i8 tops out at recall {top:.3f}; f16 keeps "
                "f32 recall at ~60% of the memory."
            )
    by_case: dict[tuple[str, str], list[Sequence[Any]]] = {}
    for row in results["filtered"]:
        by_case.setdefault((row[0], row[3]), []).append(row)
    for (ds, allowed), rows in by_case.items():
        parts = []
        for lib in dict.fromkeys(r[1] for r in rows):
            mine = [r for r in rows if r[1] == lib]
            best = max(mine, key=lambda r: (r[6], r[7]))
            parts.append(
                f"{lib} recall {best[6]:.3f} at {_fmt_qps(best[7])} q/s"
                + (f" (ef {best[4]})" if best[4] != "-" else "")
            )
        notes.append(
            f"FILTER {ds}, {allowed} allowed, best recall per library: " + "; ".join(parts) + "."
        )
    dels = [r for r in results["deletes"] if r[2] == "10%"]
    if dels:
        low = min(r[4] for r in dels)
        per_ds: dict[str, list[str]] = {}
        for r in dels:
            if r[4] == low:
                per_ds.setdefault(r[0], []).append(f"{r[1]} {r[7]:.3f} ({_fmt_qps(r[8])} q/s)")
        leaked = sum(r[6] for r in results["deletes"])
        notes.append(
            f"DELETES: recall@10 against exact search over the live vectors after 10% were "
            f"deleted, ef {low} - "
            + "; ".join(f"{ds}: {', '.join(parts)}" for ds, parts in per_ds.items())
            + f". Deleted ids returned in all runs: {leaked}."
        )
    crashes = sorted({r[0] for r in file_rows if str(r[2]).startswith("CRASH")})
    silent = sorted({r[0] for r in file_rows if str(r[2]).startswith("loads") and r[1] != "intact"})
    if file_rows:
        notes.append(
            f"FILES: crashed (segfault) on a damaged file: {', '.join(crashes) or 'none'}; "
            f"loaded some damaged file without error: {', '.join(silent) or 'none'}."
        )
    return notes


def notes_for(results: dict[str, list[list[Any]]], args: argparse.Namespace) -> list[str]:
    notes = [
        "Same graph parameters for all: M links per node (2*M on the base level, as all three do), "
        f"efConstruction={args.ef_construction}; inner product on unit vectors; k={K}.",
        "QPS cells: batched q/s (all queries in one call, the library's own threads, "
        f"{plural(args.threads, 'thread')}) / batched on 1 thread / single-query q/s (one call per query, 1 thread, Python call "
        "overhead included) at the fastest swept efSearch whose recall@10 reaches the target; "
        "the ef is given.",
        "Build and RSS: adding all vectors in one call on the same threads; RSS growth after "
        "gc + malloc_trim. File: the library's own serialisation (FAISS: faiss.serialize_index "
        "of IndexIDMap2(IndexHNSWFlat) to bytes, which semkit wraps in its checksummed file).",
        "usearch defaults to bf16 for cosine; it is set to f32 explicitly (f16/i8 rows are the "
        "quantised variants; i8 uses the cos metric, equal to ip on unit vectors).",
        "Timings are the fastest of repeated runs, taken in turn for all libraries (interleaved), "
        "but other agents shared this 2-core machine while it ran: absolute QPS and build times "
        "are noisy (differences under ~15% are not meaningful), and 2-thread figures are often "
        "no better than 1-thread ones because the second core was busy. Recall is not affected.",
    ]
    return notes


def write_reports(
    results: dict[str, list[Any]],
    file_rows: list[list[Any]],
    args: argparse.Namespace,
    seconds: float,
    measured: str | None = None,
) -> None:
    name = args.name
    notes = notes_for(results, args)
    if measured:
        notes.append(f"Re-rendered from the measurements of {measured}.")
    wins = summary_notes(results, file_rows, args.m[0])
    tail = [n for n in notes if n.startswith(("Timings", "Re-rendered"))]
    report(
        name,
        "HNSW libraries for semkit collections: recall, speed, memory (384-d unit vectors)",
        [
            "data",
            "library",
            "build s",
            "RSS MiB",
            "file MiB",
            "load s",
            *(f"q/s at recall>={t}: batch / batch 1 thr / single (ef)" for t in TARGETS),
            "max recall@10",
        ],
        results["summary"],
        notes=[
            *notes,
            f"Per-ef figures: {name}_sweep; filters: {name}_filtered; "
            f"deletes: {name}_deletes; damaged files: {name}_files.",
            *wins,
        ],
        extra={
            "args": {k: v for k, v in vars(args).items()},
            "raw": results["raw"],
            "seconds": seconds,
        },
    )
    report(
        f"{name}_sweep",
        "HNSW libraries: efSearch sweep (recall@10, batched and single-query speed)",
        [
            "data",
            "library",
            "efSearch",
            "recall@10",
            f"batch q/s ({plural(args.threads, 'thread')})",
            "batch q/s (1 thread)",
            "single q/s",
            "p50 ms",
            "p99 ms",
        ],
        results["sweep"],
        notes=[notes[1], *tail],
    )
    if results["filtered"]:
        report(
            f"{name}_filtered",
            "HNSW libraries: search restricted to an allow-list (random ids)",
            [
                "data",
                "library",
                "filter",
                "allowed",
                "efSearch",
                "share of k returned",
                "recall@10 vs exact filtered",
                "q/s",
            ],
            results["filtered"],
            notes=[
                *[w for w in wins if w.startswith("FILTER")],
                "FAISS: SearchParametersHNSW(sel=IDSelectorBatch | IDSelectorBitmap, efSearch) through "
                "IndexIDMap2 (it translates the selector to internal ids). hnswlib: knn_query(filter="
                "callable), a Python call per candidate (list.__getitem__ over a bool list). usearch "
                "2.x has no filter in its Python API: the row is an oversampled post-filter "
                "(count = 2k/selectivity, expansion_search >= count).",
                f"{plural(args.threads, 'thread')}, {args.filter_queries} queries, batched; allowed ids drawn "
                "at random (uncorrelated with the query).",
                "exact numpy: gather the allowed vectors and multiply; recall 1 by definition.",
                *tail,
            ],
        )
    if results["deletes"]:
        report(
            f"{name}_deletes",
            "HNSW libraries: search after deleting 1% then 10% of the vectors",
            [
                "data",
                "library",
                "deleted",
                "delete µs/id",
                "efSearch",
                "share of k returned",
                "deleted ids returned",
                "recall@10 vs exact live",
                "q/s",
            ],
            results["deletes"],
            notes=[
                *[w for w in wins if w.startswith("DELETES")],
                "FAISS IndexHNSW cannot remove vectors (remove_ids raises): deletes are a tombstone "
                "IDSelectorNot(IDSelectorBatch(deleted)) passed at every search; the dead nodes stay "
                "in the graph and memory until a rebuild. hnswlib mark_deleted (one Python call per "
                "id; slots reusable with allow_replace_deleted). usearch remove (marks; "
                "compact=False).",
                "Deletes are cumulative: the 10% row has the 1% already deleted.",
                *tail,
            ],
        )
    if file_rows:
        report(
            f"{name}_files",
            "HNSW libraries: loading a damaged index file (2,000 vectors, in a subprocess)",
            ["library", "file", "outcome"],
            file_rows,
            notes=[
                "Probe: load, then 500 queries at ef=128. A crash is a process killed by a signal "
                "(segfault/abort) - the caller cannot "
                "catch it; 'loads and searches' means damage went undetected. semkit should "
                "checksum whatever it stores and verify before handing bytes to the library."
            ],
        )


def rerender(args: argparse.Namespace) -> None:
    """Rewrite the tables and notes from saved JSON results, without measuring again."""
    from common import RESULTS

    def load(suffix: str) -> dict[str, Any]:
        path = RESULTS / f"{args.name}{suffix}.json"
        return json.loads(path.read_text()) if path.exists() else {"rows": []}

    main_json = load("")
    saved = argparse.Namespace(**{**vars(args), **main_json["args"], "name": args.name})
    results = {
        "summary": main_json["rows"],
        "raw": main_json["raw"],
        "sweep": load("_sweep")["rows"],
        "filtered": load("_filtered")["rows"],
        "deletes": load("_deletes")["rows"],
    }
    write_reports(
        results,
        load("_files")["rows"],
        saved,
        main_json.get("seconds", 0.0),
        measured=main_json["machine"]["date"],
    )


def main() -> None:
    args = parse_args()
    if args.rerender:
        rerender(args)
        return
    started = time.perf_counter()
    results: dict[str, list[list[Any]]] = {
        k: [] for k in ("summary", "sweep", "filtered", "deletes", "raw")
    }
    datasets: list[Callable[[], Dataset]] = []
    for n in args.sizes:
        datasets.append(lambda n=n: synthetic(n, args.queries, args.seed))
    if not args.no_scifact:
        datasets.append(lambda: scifact(args.scifact_doc_queries))
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        for make in datasets:
            t = time.perf_counter()
            ds = make()
            log(
                f"data {ds.name}: {ds.base.shape} + {len(ds.queries)} queries "
                f"in {time.perf_counter() - t:.1f}s"
            )
            run_dataset(ds, args, results, tmp)
            del ds
            settle()
        file_rows = [] if args.no_files else file_safety(args, tmp)

    write_reports(results, file_rows, args, time.perf_counter() - started)
    log(f"done in {time.perf_counter() - started:.0f}s")


if __name__ == "__main__":
    main()
