"""A two-node Ray cluster (``ray.cluster_utils.Cluster``) with an embedding worker killed
(SIGKILL) in the middle of each run: the output has every row once, in order, with the
vectors of the local path."""

from __future__ import annotations

import os

import pytest

import semkit
from semkit.distributed import RayOptions, add_file, embed_file

from .conftest import (
    WorkerKiller,
    assert_same_collection,
    collection_state,
    cosines,
    parquet_vectors,
    start_options,
)


@pytest.fixture(scope="module")
def two_nodes(tmp_path_factory):
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    import ray
    from ray.cluster_utils import Cluster

    small = {"num_cpus": 1, "object_store_memory": 100 * 1024**2}
    cluster = Cluster(initialize_head=True, head_node_args={**small, "include_dashboard": False})
    cluster.add_node(**small)
    ray.init(address=cluster.address, **start_options(tmp_path_factory))
    assert len([n for n in ray.nodes() if n["Alive"]]) == 2
    yield ray
    ray.shutdown()
    cluster.shutdown()


@pytest.fixture(scope="module")
def local_vectors(corpus_rows):
    import warnings

    emb = semkit.Embedder("default", backend="torch", cache=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", semkit.TruncationWarning)
        return emb.encode([r["text"] for r in corpus_rows])


def test_embed_file_survives_a_killed_worker(
    two_nodes, corpus_files, corpus_rows, local_vectors, tmp_path
):
    killer = WorkerKiller()
    out = tmp_path / "vectors.parquet"
    report = embed_file(
        corpus_files["parquet"],
        out,
        model="default",
        backend="torch",
        options=RayOptions(batch=4, cache=False),
        progress=killer,
    )
    assert killer.killed is not None
    ids, texts, vectors = parquet_vectors(out)
    assert ids == [r["id"] for r in corpus_rows]  # no row lost, none twice, in order
    assert texts == [r["text"] for r in corpus_rows]
    assert report.rows == killer.rows == 60 and report.workers == 2
    assert cosines(vectors, local_vectors).min() >= 0.99999


def test_postgres_ingest_survives_a_killed_worker(two_nodes, corpus_files, local_reference, pg_url):
    _, want, _ = local_reference
    killer = WorkerKiller()
    with semkit.open(pg_url, backend="torch", cache=False) as db:
        coll = db.collection("corpus")
        add_file(
            coll, corpus_files["jsonl"], options=RayOptions(batch=4, cache=False), progress=killer
        )
        assert killer.killed is not None
        assert coll.count() == 60
        # no duplicate chunks: as many vectors as the local path's chunks
        assert coll.info()["vectors"] == sum(len(v[3]) for v in want.values())
        assert_same_collection(collection_state(coll), want)
