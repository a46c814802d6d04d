"""The local inference paths: fidelity to fp32, the automatic choice, the derived files."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from semkit import Embedder
from semkit.embedding.local import FIDELITY_FLOOR, SMALL_BATCH, LocalProvider, native_bf16
from semkit.embedding.registry import default_model_path
from semkit.errors import ConfigError

TEXTS = [
    "how do vaccines work",
    "Photosynthesis converts light energy into chemical energy stored in glucose.",
    "The committee postponed its decision until the next quarterly meeting, citing the need "
    "for a full report on energy efficiency and the rising cost of maintenance.",
    "error: failed to push some refs to origin",
]


@pytest.fixture(scope="module")
def reference(default_provider):
    """sentence-transformers' own fp32 encode."""
    return default_provider.embed(TEXTS, prompt="", dims=None, batch_size=8, variant="torch")


def unit(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize(
    "variant,floor", [("onnx", 0.99999), ("torch-bf16", 0.9999), ("onnx-int8", FIDELITY_FLOOR)]
)
def test_every_path_stays_close_to_fp32(default_provider, reference, variant, floor):
    out = default_provider.embed(TEXTS, prompt="", dims=None, batch_size=8, variant=variant)
    cos = (unit(out) * unit(reference)).sum(1)
    assert cos.min() >= floor, cos


def test_auto_picks_the_fastest_path_that_keeps_fidelity(default_provider):
    assert default_provider.backend == "auto"
    profile = {row["path"]: row for row in default_provider.profile()}
    assert set(profile) == {"torch", "torch-bf16", "onnx", "onnx-int8"}
    assert profile["torch"]["min_cosine"] == 1.0 and profile["onnx"]["min_cosine"] > 0.99999
    usable = [r for r in profile.values() if r["usable"]]
    assert default_provider.min_fidelity == 0.9999  # the default: vectors equal to ST's
    assert all(r["min_cosine"] >= 0.9999 for r in usable)
    assert not profile["onnx-int8"]["usable"]  # 0.996: only when asked for
    fastest = max(usable, key=lambda r: r["texts_per_s"])["path"]
    quickest = min(usable, key=lambda r: r["latency_ms"])["path"]
    assert default_provider.variant_for(SMALL_BATCH + 1) == fastest
    assert default_provider.variant_for(1) == quickest
    assert profile["torch-bf16"]["usable"] == native_bf16()
    fast = LocalProvider(default_model_path(), "fast", min_fidelity=0.995)
    fast_usable = [r for r in fast.profile() if r["usable"]]
    assert "onnx-int8" in {r["path"] for r in fast_usable}  # a lower floor admits int8
    assert fast.variant_for(1) == min(fast_usable, key=lambda r: r["latency_ms"])["path"]
    assert fast.variant_for(100) == max(fast_usable, key=lambda r: r["texts_per_s"])["path"]
    # speeds are measured once per machine, for every path that runs, whatever the floor
    assert {r["path"]: r["texts_per_s"] for r in fast.profile()} == {
        r["path"]: r["texts_per_s"] for r in default_provider.profile()
    }


def test_fidelity_is_measured_once_and_recorded(default_provider):
    default_provider.fidelity("onnx-int8")
    manifest = json.loads(default_provider.artifacts.manifest_path.read_text())
    assert manifest["fingerprint"] == default_provider.fingerprint
    assert manifest["measurements"]["min_cosine:onnx-int8"] >= FIDELITY_FLOOR
    assert set(manifest["files"]) >= {"model-fp32.onnx", "model-int8.onnx"}
    selection = manifest["measurements"]["int8:selection"]
    assert selection["quantized"] and selection["min_cosine"] >= FIDELITY_FLOOR
    fresh = LocalProvider(default_model_path(), "again")
    assert fresh.fidelity("onnx-int8") == manifest["measurements"]["min_cosine:onnx-int8"]
    assert fresh._model is None  # read from the manifest: nothing loaded, nothing measured


def test_a_damaged_export_is_rebuilt_not_loaded(default_provider, tmp_path):
    provider = LocalProvider(
        default_model_path(), "copy", backend="onnx", artifacts_dir=tmp_path / "artifacts"
    )
    first = provider.embed(TEXTS, prompt="", dims=None, batch_size=8)
    onnx_file = provider.artifacts.directory / "model-fp32.onnx"
    stamp = onnx_file.stat().st_mtime_ns
    data = bytearray(onnx_file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    onnx_file.write_bytes(bytes(data))
    again = LocalProvider(
        default_model_path(), "copy", backend="onnx", artifacts_dir=tmp_path / "artifacts"
    )
    second = again.embed(TEXTS, prompt="", dims=None, batch_size=8)
    assert onnx_file.stat().st_mtime_ns != stamp  # re-exported
    np.testing.assert_allclose(first, second, atol=1e-5)


def test_lossy_vectors_are_cached_apart_and_exact_ones_serve_everyone(default_provider, tmp_path):
    cache = tmp_path / "c"
    small = Embedder(LocalProvider(default_model_path(), "x", backend="onnx-int8"), cache=cache)
    small.encode(["a single query"])  # the int8 path: its own cache entries
    exact = Embedder(LocalProvider(default_model_path(), "x", backend="onnx"), cache=cache)
    exact.encode(["a single query"])
    assert exact.last_stats.embedded == 1  # int8 vectors never stand in for exact ones
    exact.encode([f"text {i}" for i in range(SMALL_BATCH + 1)])
    again = Embedder(LocalProvider(default_model_path(), "x", backend="onnx-int8"), cache=cache)
    again.encode(["text 3"])  # the int8 path is served by the exact entry
    assert again.last_stats.cached == 1 and again.last_stats.embedded == 0


def test_unknown_backend_and_telemetry_off():
    with pytest.raises(ConfigError, match="unknown backend"):
        LocalProvider(default_model_path(), backend="gpu")
    import semkit.embedding.onnx  # noqa: F401

    assert os.environ.get("ORT_DISABLE_TELEMETRY") == "1"
