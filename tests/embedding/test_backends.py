"""The local inference paths: fidelity to fp32, the automatic choice, the derived files."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from semkit import Embedder
from semkit.embedding import calibration
from semkit.embedding.local import FIDELITY_FLOOR, SMALL_BATCH, LocalProvider, native_bf16
from semkit.embedding.registry import default_model_path
from semkit.errors import ConfigError

DATA = Path(__file__).parents[1] / "data"
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
    "variant,floor",
    [
        ("sentence-transformers", 0.99999),
        ("onnx", 0.99999),
        ("torch-bf16", 0.9999),
        ("onnx-int8", FIDELITY_FLOOR),
    ],
)
def test_every_path_stays_close_to_fp32(calibrated, reference, variant, floor):
    out = calibrated.embed(TEXTS, prompt="", dims=None, batch_size=8, variant=variant)
    cos = (unit(out) * unit(reference)).sum(1)
    assert cos.min() >= floor, cos


SAMPLE = [line for line in (DATA / "sentences.txt").read_text().splitlines() if line][:16]


@pytest.fixture(scope="module")
def calibrated(shared_artifacts):
    """``auto`` calibrated on a small sample (semkit's own takes minutes: int8 selection)."""
    provider = LocalProvider(
        default_model_path(),
        "auto",
        backend="auto",
        artifacts_dir=shared_artifacts,
        calibration_texts=SAMPLE,
    )
    provider.profile()
    return provider


def test_auto_picks_the_fastest_path_that_keeps_fidelity(calibrated):
    profile = {row["path"]: row for row in calibrated.profile()}
    assert set(profile) == {"sentence-transformers", "torch", "torch-bf16", "onnx", "onnx-int8"}
    assert profile["torch"]["min_cosine"] == 1.0 and profile["onnx"]["min_cosine"] > 0.99999
    assert profile["sentence-transformers"]["usable"]  # always a candidate
    usable = [r for r in profile.values() if r["usable"]]
    assert calibrated.min_fidelity == 0.9999  # the default: vectors equal to ST's
    assert all(r["min_cosine"] >= 0.9999 and r["texts_per_s"] > 0 for r in usable)
    assert all(r["reason"] for r in profile.values() if not r["usable"])
    assert not profile["onnx-int8"]["usable"]  # ~0.996: only when asked for
    assert "min_fidelity" in profile["onnx-int8"]["reason"]
    st_loaded = profile["sentence-transformers"]["loaded_texts_per_s"]
    steady = [r for r in usable if r["loaded_texts_per_s"] >= st_loaded]  # not behind ST loaded
    fastest = max(r["texts_per_s"] for r in steady)
    quickest = min(usable, key=lambda r: r["latency_ms"])["latency_ms"]
    assert profile[calibrated.variant_for(SMALL_BATCH + 1)]["texts_per_s"] == fastest
    assert profile[calibrated.variant_for(1)]["latency_ms"] == quickest
    if not native_bf16():
        assert "no native bf16" in profile["torch-bf16"]["reason"]
    fast = LocalProvider(
        default_model_path(),
        "fast",
        backend="auto",
        min_fidelity=0.995,
        artifacts_dir=calibrated._artifacts_dir,
        calibration_texts=SAMPLE,
    )
    fast_usable = [r for r in fast.profile() if r["usable"]]
    assert "onnx-int8" in {r["path"] for r in fast_usable}  # a lower floor admits int8
    # speeds are recorded once per environment, for every path that runs, whatever the floor
    # (a calibration taken under load may be taken again by the next provider: compare records)
    recorded = fast.artifacts.measurements()["speeds"]["paths"]
    assert recorded == calibrated.artifacts.measurements()["speeds"]["paths"]
    assert set(recorded) == {r["path"] for r in fast.profile() if r["texts_per_s"]}


def test_the_report_says_what_was_chosen_and_why(calibrated):
    report = calibrated.calibration_report()
    assert report["environment"]["cpu"] == calibration.cpu_model()
    assert report["environment"]["libraries"]["sentence-transformers"] != "absent"
    assert report["chosen"] == {
        "bulk": calibrated.variant_for(100),
        "bulk_shared": calibrated.variant_for(100, shared=True),
        "queries": calibrated.variant_for(1),
    }
    assert report["why"]["bulk"].startswith(report["chosen"]["bulk"] + ": ")
    assert "x sentence-transformers" in report["why"]["bulk"]
    assert report["load"]["timings"] >= 3 * len([r for r in report["paths"] if r["texts_per_s"]])
    recorded = calibrated.calibration_report(measure=False)
    assert recorded["chosen"] == report["chosen"] and recorded["paths"] == report["paths"]
    json.dumps(report, allow_nan=False)  # plain JSON for `semkit models --json`


def test_auto_works_without_onnxruntime(calibrated, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if the [onnx] extra were absent
    provider = LocalProvider(
        default_model_path(),
        "no-ort",
        backend="auto",
        artifacts_dir=tmp_path,
        calibration_texts=SAMPLE[:4],
    )
    profile = {r["path"]: r for r in provider.profile()}
    assert not profile["onnx"]["usable"] and "onnxruntime" in profile["onnx"]["reason"]
    assert provider.variant_for(100) in ("sentence-transformers", "torch", "torch-bf16")
    out = provider.embed(TEXTS, prompt="", dims=None, batch_size=8)
    assert out.shape == (len(TEXTS), 384)
    assert not (tmp_path / provider.fingerprint / "model-fp32.onnx").exists()


def test_fidelity_is_measured_once_and_recorded(calibrated):
    calibrated.fidelity("onnx-int8")
    manifest = json.loads(calibrated.artifacts.manifest_path.read_text())
    assert manifest["fingerprint"] == calibrated.fingerprint
    [entry] = manifest["environments"].values()
    assert entry["environment"] == calibrated.artifacts.environment
    measured = entry["measurements"]
    assert measured["min_cosine:onnx-int8"] >= FIDELITY_FLOOR
    assert set(manifest["files"]) >= {"model-fp32.onnx", "model-int8.onnx"}
    selection = measured["int8:selection"]
    assert selection["quantized"] and selection["min_cosine"] >= FIDELITY_FLOOR
    fresh = LocalProvider(
        default_model_path(),
        "again",
        artifacts_dir=calibrated._artifacts_dir,
        calibration_texts=SAMPLE,
    )
    assert fresh.fidelity("onnx-int8") == measured["min_cosine:onnx-int8"]
    assert fresh.calibration_report(measure=False)["chosen"] == {
        "bulk": calibrated.variant_for(100),
        "bulk_shared": calibrated.variant_for(100, shared=True),
        "queries": calibrated.variant_for(1),
    }
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


def test_lossy_vectors_are_cached_apart_and_exact_ones_serve_everyone(calibrated, tmp_path):
    def provider(backend):
        return LocalProvider(
            default_model_path(),
            "x",
            backend=backend,
            calibration_texts=SAMPLE,
            artifacts_dir=calibrated._artifacts_dir,
        )

    cache = tmp_path / "c"
    small = Embedder(provider("onnx-int8"), cache=cache)
    small.encode(["a single query"])  # the int8 path: its own cache entries
    exact = Embedder(provider("onnx"), cache=cache)
    exact.encode(["a single query"])
    assert exact.last_stats.embedded == 1  # int8 vectors never stand in for exact ones
    exact.encode([f"text {i}" for i in range(SMALL_BATCH + 1)])
    again = Embedder(provider("onnx-int8"), cache=cache)
    again.encode(["text 3"])  # the int8 path is served by the exact entry
    assert again.last_stats.cached == 1 and again.last_stats.embedded == 0


def test_unknown_backend_and_telemetry_off():
    with pytest.raises(ConfigError, match="unknown backend"):
        LocalProvider(default_model_path(), backend="gpu")
    import semkit.embedding.onnx  # noqa: F401

    assert os.environ.get("ORT_DISABLE_TELEMETRY") == "1"
