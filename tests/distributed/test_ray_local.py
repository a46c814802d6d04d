"""Embedding and ingest on a real local Ray cluster (``ray.init(num_cpus=2)``): the output
equals the local path's, row for row; re-runs embed only what is missing."""

from __future__ import annotations

import json
import os
import warnings

import numpy as np
import pyarrow.parquet as pq
import pytest

import semkit
from semkit.cli.main import main
from semkit.distributed import RayOptions, add_file, embed_file
from semkit.errors import InputError

from .conftest import (
    assert_same_collection,
    collection_state,
    cosines,
    parquet_vectors,
    start_options,
)


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory):
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    import ray

    ray.init(
        address="local", num_cpus=2, include_dashboard=False, **start_options(tmp_path_factory)
    )
    yield ray
    ray.shutdown()


def test_embed_file_equals_local_encoding(ray_cluster, corpus_files, corpus_rows, tmp_path):
    out = tmp_path / "vectors.parquet"
    report = embed_file(
        corpus_files["parquet"],
        out,
        model="default",
        backend="torch",
        options=RayOptions(batch=8, cache=False),
    )
    ids, texts, vectors = parquet_vectors(out)
    assert ids == [r["id"] for r in corpus_rows]
    assert texts == [r["text"] for r in corpus_rows]
    assert (report.rows, report.dim, report.embedded, report.workers) == (60, 384, 60, 2)
    local = semkit.Embedder("default", backend="torch", cache=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", semkit.TruncationWarning)  # the long texts, as on Ray
        want = local.encode(texts)
    assert cosines(vectors, want).min() >= 0.99999
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_cli_embed_on_ray_is_bit_equal_to_local(ray_cluster, corpus_files, tmp_path, capsys):
    """A deterministic model gives the very same file: ids, texts, vectors, schema."""
    local, on_ray = tmp_path / "local.parquet", tmp_path / "ray.parquet"
    common = ["embed", "--input", str(corpus_files["jsonl"]), "--model", "hashing:32"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", semkit.TruncationWarning)  # long texts, cut by the model
        assert main([*common, "--out", str(local)]) == 0
    assert main([*common, "--out", str(on_ray), "--ray", "auto", "--ray-workers", "2"]) == 0
    assert "on Ray (2 workers" in capsys.readouterr().err
    assert pq.read_table(on_ray).equals(pq.read_table(local))


def test_add_file_sqlite_equals_local_add_and_resumes(
    ray_cluster, corpus_files, local_reference, tmp_path
):
    want_report, want, want_order = local_reference
    with semkit.open(tmp_path / "db", backend="torch", cache=False) as db:
        coll = db.collection("corpus")
        report = add_file(coll, corpus_files["parquet"], options=RayOptions(batch=8, cache=False))
        assert (report.written, report.unchanged) == (60, 0)
        assert report.embedded == want_report.embedded  # every chunk, once
        assert [d.id for d in coll.get()] == want_order  # same insertion order
        assert_same_collection(collection_state(coll), want)

        # An interrupted run, re-run: only what is missing is embedded.
        missing = ["s005", "s017", "long2", "long4"]
        coll.delete(ids=missing)
        again = add_file(coll, corpus_files["jsonl"], options=RayOptions(batch=8, cache=False))
        assert (again.written, again.unchanged) == (4, 56)
        long_chunks = sum(len(want[i][3]) for i in ("long2", "long4"))
        assert again.embedded == 2 + long_chunks
        assert_same_collection(collection_state(coll), want)
        assert coll.search("machine learning", k=3)


def test_add_file_postgres_workers_write(
    ray_cluster, corpus_files, local_reference, pg_url, tmp_path
):
    _, want, _ = local_reference
    with semkit.open(pg_url, backend="torch", cache=False) as db:
        coll = db.collection("corpus")
        report = add_file(coll, corpus_files["jsonl"], options=RayOptions(batch=8, cache=False))
        assert (report.written, report.unchanged) == (60, 0)
        assert sorted(report.ids) == sorted(want)
        assert_same_collection(collection_state(coll), want)
        again = add_file(coll, corpus_files["parquet"], options=RayOptions(batch=8, cache=False))
        assert (again.written, again.unchanged, again.embedded) == (0, 60, 0)


def test_cli_add_on_ray(ray_cluster, corpus_files, tmp_path, capsys):
    """`semkit add --ray` writes what `semkit add` writes (a deterministic model: bit-equal)."""
    states = []
    for name, extra in (("local", []), ("ray", ["--ray", "auto"])):
        db = str(tmp_path / name)
        argv = ["add", "c", str(corpus_files["jsonl"]), "--db", db, "--model", "hashing:32"]
        assert main([*argv, *extra, "--json"]) == 0
        summary = json.loads(capsys.readouterr().out)
        assert (summary["written"], summary["documents"]) == (60, 60)
        with semkit.open(db) as database:
            states.append(collection_state(database.collection("c")))
    local, on_ray = states
    assert local.keys() == on_ray.keys()
    for doc_id, (*fields, vectors) in local.items():
        *ray_fields, ray_vectors = on_ray[doc_id]
        assert ray_fields == fields
        assert np.array_equal(ray_vectors, vectors)


def test_worker_errors_come_back_as_semkit_errors(ray_cluster, tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "fine"}\n{"text": "   "}\n', encoding="utf-8")
    with pytest.raises(InputError, match="empty or whitespace only"):
        embed_file(bad, tmp_path / "out.parquet", model="hashing:8")
    assert not (tmp_path / "out.parquet").exists()
    code = main(
        ["add", "c", str(tmp_path / "doc.pdf"), "--db", str(tmp_path / "db"), "--ray", "auto"]
    )
    assert code != 0
    err = capsys.readouterr().err
    assert "--ray adds .jsonl and .parquet records" in err and "Traceback" not in err
    txt = tmp_path / "lines.txt"
    txt.write_text("one\ntwo\n", encoding="utf-8")
    code = main(
        ["embed", "--input", str(txt), "--out", str(tmp_path / "o.parquet"), "--ray", "auto"]
    )
    assert code != 0
    assert "on Ray, semkit reads .jsonl and .parquet" in capsys.readouterr().err
