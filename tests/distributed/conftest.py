"""Fixtures of the Ray tests: a small corpus (short and long documents) as JSON lines and
Parquet, one Ray cluster per module, and a way to kill one of its embedding workers."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).parents[1] / "data"


@pytest.fixture(scope="session")
def corpus_rows() -> list[dict]:
    """60 records: sentences with ids and metadata, and long texts that are chunked."""
    sentences = (DATA / "sentences.txt").read_text(encoding="utf-8").splitlines()
    rows = [
        {"id": f"s{i:03d}", "text": s, "topic": i % 3, "tags": ["a", "b"][: i % 3]}
        for i, s in enumerate(sentences[:54])
    ]
    for j in range(6):  # ~400-700 tokens: two or three chunks each
        text = " ".join(sentences[(j * 7 + k) % len(sentences)] for k in range(60 + j * 10))
        rows.append({"id": f"long{j}", "text": text, "topic": 9, "tags": ["long"]})
    return rows


@pytest.fixture(scope="session")
def corpus_files(corpus_rows, tmp_path_factory) -> dict[str, Path]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path_factory.mktemp("ray-corpus")
    jsonl = folder / "corpus.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in corpus_rows), encoding="utf-8")
    parquet = folder / "corpus.parquet"
    # small row groups: Ray Data reads the file in several blocks
    pq.write_table(pa.Table.from_pylist(corpus_rows), parquet, row_group_size=16)
    return {"jsonl": jsonl, "parquet": parquet}


@pytest.fixture(scope="session")
def local_reference(corpus_files, tmp_path_factory):
    """The corpus added to a SQLite collection by the local path (fp32 torch, no cache)."""
    import semkit
    from semkit.text.io import read_records

    db = semkit.open(tmp_path_factory.mktemp("local-ref") / "db", backend="torch", cache=False)
    coll = db.collection("corpus")
    report = coll.add_records(read_records(corpus_files["jsonl"]))
    state = collection_state(coll)
    order = [d.id for d in coll.get()]
    db.close()
    return report, state, order


def start_options(tmp_path_factory) -> dict:
    """``ray.init`` options of the test clusters."""
    return {
        "log_to_driver": False,
        "runtime_env": {"env_vars": ray_env(tmp_path_factory)},
    }


def ray_env(tmp_path_factory) -> dict[str, str]:
    """Environment of the cluster's workers: their own cache, the tests' artifacts."""
    return {
        "SEMKIT_CACHE_DIR": str(tmp_path_factory.mktemp("ray-worker-cache")),
        "SEMKIT_ARTIFACTS_DIR": os.environ["SEMKIT_ARTIFACTS_DIR"],
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "RAY_USAGE_STATS_ENABLED": "0",
    }


def embedding_workers() -> list:
    """Ray Data's embedding actors started by this test process (not another's)."""
    import psutil

    mine = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        try:
            title = " ".join(proc.info["cmdline"] or [])
            if title.startswith("ray::MapWorker") and os.getpid() in {
                p.pid for p in proc.parents()
            }:
                mine.append(proc)
        except psutil.Error:
            continue
    return mine


class WorkerKiller:
    """A progress callback that SIGKILLs one embedding worker once the first block is in."""

    def __init__(self) -> None:
        self.killed: int | None = None
        self.rows = 0

    def __call__(self, n: int) -> None:
        self.rows += n
        if self.killed is None:
            victims = embedding_workers()
            assert victims, "no embedding worker of this test to kill"
            self.killed = victims[0].pid
            os.kill(self.killed, signal.SIGKILL)


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def parquet_vectors(path: Path) -> tuple[list[str], list[str], np.ndarray]:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    return (
        table.column("id").to_pylist(),
        table.column("text").to_pylist(),
        np.array(table.column("embedding").to_pylist(), dtype=np.float32),
    )


def collection_state(coll) -> dict[str, tuple]:
    """Every document by id: (text, metadata JSON, content hash, chunk spans, chunk vectors),
    as the backend exports it."""
    state = {}
    for docs, vectors in coll._store.export():
        row = 0
        for doc in docs:
            n = len(doc.spans)
            state[doc.id] = (
                doc.text,
                doc.metadata_json,
                doc.content_hash,
                [tuple(s) for s in doc.spans],
                vectors[row : row + n],
            )
            row += n
    return state


def assert_same_collection(got, want) -> None:
    """Same documents, chunks and metadata; vectors equal to cosine 0.99999."""
    assert got.keys() == want.keys()
    for doc_id, (text, meta, digest, spans, vectors) in want.items():
        g_text, g_meta, g_digest, g_spans, g_vectors = got[doc_id]
        assert (g_text, g_digest, g_spans) == (text, digest, spans), doc_id
        assert json.loads(g_meta) == json.loads(meta), doc_id  # jsonb spaces it differently
        assert cosines(g_vectors, vectors).min() >= 0.99999, doc_id
