"""One small real fine-tuning run, shared by the tests that inspect its output."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parents[1] / "data"


@pytest.fixture(scope="session")
def fast() -> dict:
    """Few steps, a learning rate high enough that 3 steps visibly move the weights."""
    return {"batch_size": 4, "lr": 1e-4, "checkpoint_steps": None, "backend": "torch"}


@pytest.fixture(scope="session")
def torch_provider():
    """The default model on the fp32 torch path only: no one-time measuring of other paths."""
    from semkit.embedding.local import LocalProvider
    from semkit.embedding.registry import DEFAULT_MODEL_ID, default_model_path

    provider = LocalProvider(default_model_path(), DEFAULT_MODEL_ID, backend="torch")
    provider.model  # noqa: B018 - load once
    return provider


@pytest.fixture
def base_embedder(torch_provider, tmp_path):
    from semkit import Embedder

    return Embedder(torch_provider, cache=tmp_path / "cache")


@pytest.fixture(scope="session")
def tuned(tmp_path_factory: pytest.TempPathFactory, fast):
    """MNRL on the pairs fixture for 3 steps, scored before and after on beir_tiny."""
    from semkit.train import finetune

    root = tmp_path_factory.mktemp("tuned")
    with pytest.MonkeyPatch.context() as mp:  # session scope: isolate the user dirs here too
        mp.setenv("SEMKIT_CACHE_DIR", str(root / "cache"))
        mp.setenv("SEMKIT_CONFIG", str(root / "config.toml"))
        return finetune(
            DATA / "train_pairs.jsonl",
            root / "model",
            max_steps=3,
            eval_beir=DATA / "beir_tiny",
            **fast,
        )
