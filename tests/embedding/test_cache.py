"""The persistent cache: content keys, versioned file, safe with two writing processes."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from semkit.embedding.cache import EmbeddingCache, cache_key
from semkit.errors import StoreError


def test_key_covers_every_input():
    base = cache_key("fp", None, True, "", "text")
    variants = [
        cache_key("fp2", None, True, "", "text"),
        cache_key("fp", 64, True, "", "text"),
        cache_key("fp", None, False, "", "text"),
        cache_key("fp", None, True, "q: ", "text"),
        cache_key("fp", None, True, "", "text "),
        cache_key("fp", None, True, "q", ": text"),
    ]
    assert len({base, *variants}) == 1 + len(variants)


def test_round_trip_stats_and_clear(tmp_path):
    cache = EmbeddingCache(tmp_path)
    vecs = np.random.default_rng(0).standard_normal((3, 5)).astype(np.float32)
    keys = [bytes([i]) * 32 for i in range(3)]
    cache.put_many("fpA", zip(keys, vecs, strict=True))
    cache.put_many("fpB", [(b"z" * 32, vecs[0])])
    got = cache.get_many([*keys, b"missing" * 4])
    assert set(got) == set(keys)
    np.testing.assert_array_equal(got[keys[1]], vecs[1])
    stats = cache.stats()
    assert stats["entries"] == 4 and {m["fingerprint"] for m in stats["models"]} == {"fpA", "fpB"}
    assert cache.clear("fpB") == 1
    assert cache.clear() == 3 and cache.stats()["entries"] == 0


def test_corrupt_cache_file_is_a_clear_error(tmp_path):
    (tmp_path / "embeddings.sqlite3").write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="cannot open the embedding cache"):
        EmbeddingCache(tmp_path)


def test_newer_format_is_refused(tmp_path):
    cache = EmbeddingCache(tmp_path)
    cache._db.execute("UPDATE meta SET value='99' WHERE name='format_version'")
    cache.close()
    with pytest.raises(StoreError, match="format 99"):
        EmbeddingCache(tmp_path)


def test_two_processes_writing_at_once(tmp_path):
    script = textwrap.dedent(f"""
        import sys
        from semkit import Embedder
        from semkit.embedding.hashing import HashingProvider
        worker = int(sys.argv[1])
        e = Embedder(HashingProvider(32), cache={str(tmp_path)!r})
        for round in range(20):
            # both workers write overlapping and distinct keys in many small transactions
            texts = [f"shared {{round}} {{i}}" for i in range(50)] + [f"own {{worker}} {{round}} {{i}}" for i in range(50)]
            e.encode(texts)
    """)
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(w)], stderr=subprocess.PIPE)
        for w in range(2)
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
    assert EmbeddingCache(tmp_path).stats()["entries"] == 20 * 50 + 2 * 20 * 50
