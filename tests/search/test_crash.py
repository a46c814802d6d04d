"""kill -9 during an ingest loses no acknowledged document (a short version of bench/crash.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[2] / "bench"))
from crash import trial


@pytest.mark.parametrize(
    "kind,kill_at,jitter", [("exact", 1500, 0.01), ("hnsw", 2500, 0.0), ("hnsw", 4000, 0.05)]
)
def test_kill_during_ingest_loses_nothing_acknowledged(tmp_path, kind, kill_at, jitter):
    result = trial(tmp_path / "db", 6000, kill_at, kind, batch=100, jitter=jitter)
    assert result["killed"], "the kill must land inside the ingest"
    assert result["lost"] == 0
    assert result["problems"] == []
    assert result["searchable"]
    assert result["present"] >= result["acknowledged"]
