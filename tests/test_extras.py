"""Extras: the table of what each installs agrees with pyproject.toml, a missing library
is an error naming its extra, and the `auto` backend does without ONNX Runtime."""

from __future__ import annotations

import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

import pytest

from semkit import Embedder
from semkit.embedding.local import LocalProvider
from semkit.embedding.registry import default_model_path
from semkit.errors import MissingExtraError
from semkit.extras import EXTRAS, installed, require, require_extra

PYPROJECT = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
OPTIONAL = PYPROJECT["project"]["optional-dependencies"]


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~\[;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_every_extra_is_in_pyproject_with_the_distributions_of_its_modules():
    providers = importlib.metadata.packages_distributions()
    for extra, modules in EXTRAS.items():
        listed = {_name(r) for r in OPTIONAL[extra]}
        for module in modules:
            dists = {d.lower().replace("_", "-") for d in providers[module]}
            assert dists & listed, f"{module} ({dists}) is not in [{extra}]: {listed}"
    everything = {r.removeprefix("semkit[").removesuffix("]") for r in OPTIONAL["all"]}
    assert everything == set(EXTRAS), "[all] must list every extra"
    assert "semkit[all]" in OPTIONAL["test"]


def test_the_core_dependencies_hold_no_extra_library():
    core = {_name(r) for r in PYPROJECT["project"]["dependencies"]}
    for extra in EXTRAS:
        assert not core & {_name(r) for r in OPTIONAL[extra]}, extra


@pytest.fixture
def without(monkeypatch):
    """``without("onnxruntime")``: import of that module fails, as if not installed."""

    def hide(*modules: str) -> None:
        for module in modules:
            monkeypatch.setitem(sys.modules, module, None)

    return hide


def test_a_missing_library_names_its_extra(without):
    without("umap")
    assert not installed("analysis") and installed("onnx")
    with pytest.raises(MissingExtraError, match=r"'umap'.*pip install 'semkit\[analysis\]'"):
        require_extra("analysis", "semkit map")
    with pytest.raises(MissingExtraError, match=r"^a UMAP map needs"):
        require("umap", "analysis", "a UMAP map")


def test_without_onnx_auto_passes_the_onnx_paths_over_and_onnx_names_the_extra(without, tmp_path):
    without("onnxruntime")
    auto = LocalProvider(default_model_path(), "core", backend="auto", artifacts_dir=tmp_path / "a")
    assert auto.backend == "auto"
    assert auto.fidelity("onnx") == 0.0 and auto.fidelity("onnx-int8") == 0.0
    assert not (tmp_path / "a").exists()  # nothing measured, nothing recorded for later
    onnx = LocalProvider(default_model_path(), "core", backend="onnx", artifacts_dir=tmp_path / "a")
    with pytest.raises(MissingExtraError, match=r"pip install 'semkit\[onnx\]'"):
        Embedder(onnx, cache=False).encode(["a text"])
