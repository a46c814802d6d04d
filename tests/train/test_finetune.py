"""Fine-tuning end to end with the real model: MNRL, triplet, Matryoshka, checks, resume."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from safetensors.torch import load_file
from transformers import TrainerCallback

import semkit
from semkit.embedding.local import LocalProvider, directory_fingerprint, is_model_dir
from semkit.errors import InputError
from semkit.train import finetune, load_beir_pairs
from semkit.train.checkpoints import pickle_files

DATA = Path(__file__).parents[1] / "data"
PAIRS, TRIPLETS, TINY = DATA / "train_pairs.jsonl", DATA / "train_triplets.csv", DATA / "beir_tiny"
MODEL_FILES = {".safetensors", ".json", ".md", ".txt"}


def _check_model_dir(path: Path, base_fingerprint: str) -> LocalProvider:
    """A plain sentence-transformers directory: safetensors + JSON, no pickle, its own identity."""
    assert is_model_dir(path) and (path / "model.safetensors").is_file()
    assert pickle_files(path) == []
    assert {p.suffix for p in path.rglob("*") if p.is_file()} <= MODEL_FILES
    assert not (path / "checkpoints").exists() and not (path / ".saving").exists()
    provider = LocalProvider(path, backend="torch")
    assert provider.fingerprint == directory_fingerprint(path) != base_fingerprint
    assert provider.max_tokens == 256 and provider.dim == 384  # the base model's limits
    return provider


def _same_weights(a: Path, b: Path) -> bool:
    wa, wb = load_file(str(a / "model.safetensors")), load_file(str(b / "model.safetensors"))
    return wa.keys() == wb.keys() and all(bool((wa[k] == wb[k]).all()) for k in wa)


def test_mnrl_gives_a_new_loadable_model(tuned, base_embedder, sentences):
    provider = _check_model_dir(tuned.model_dir, base_embedder.fingerprint)
    assert tuned.fingerprint == provider.fingerprint
    assert tuned.base_fingerprint == base_embedder.fingerprint
    assert tuned.steps == 3 and tuned.loss_class == "MultipleNegativesRankingLoss"
    tuned_vecs = semkit.Embedder(provider, cache=False).encode(sentences)
    base_vecs = base_embedder.encode(sentences)
    assert tuned_vecs.shape == base_vecs.shape == (len(sentences), 384)
    cos = (tuned_vecs * base_vecs).sum(1)
    assert cos.max() < 0.9999 and cos.min() > 0.5  # moved, but still the same kind of model
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(tuned.model_dir), device="cpu", trust_remote_code=False)
    np.testing.assert_allclose(model.encode(sentences[:2]), tuned_vecs[:2], atol=1e-5)


def test_scores_before_and_after_and_the_model_card(tuned):
    [before], [after] = tuned.before, tuned.after
    assert before.config["fingerprint"] == tuned.base_fingerprint
    assert after.config["fingerprint"] == tuned.fingerprint
    rows = {r["metric"]: r for r in tuned.comparison()}
    assert set(rows) == {"ndcg_at_10", "map_at_100", "recall_at_100", "mrr_at_10"}
    ndcg = rows["ndcg_at_10"]
    assert (
        ndcg["before"] == before.scores["ndcg_at_10"]
        and ndcg["after"] == after.scores["ndcg_at_10"]
    )
    card = (tuned.model_dir / "README.md").read_text()
    assert "base_model: sentence-transformers/all-MiniLM-L6-v2" in card
    assert "MultipleNegativesRankingLoss" in card and "train_pairs.jsonl" in card
    assert "16 examples over 15 anchors" in card
    assert f"| chunk | 384 | nDCG@10 | {ndcg['before']:.4f} | {ndcg['after']:.4f} |" in card
    assert "| lr | 0.0001 |" in card and "| batch_size | 4 |" in card and "| scale | 20 |" in card
    assert tuned.fingerprint in card and tuned.base_fingerprint in card


def test_triplet_loss_on_a_triplets_file(tmp_path, fast, base_embedder):
    result = finetune(TRIPLETS, tmp_path / "m", loss="triplet", max_steps=2, **fast)
    _check_model_dir(result.model_dir, base_embedder.fingerprint)
    assert result.loss_class == "TripletLoss" and result.steps == 2
    assert result.data["negatives_per_example"] == 1 and result.before == []
    assert result.hyperparameters["triplet_margin"] == 5.0 and "scale" not in result.hyperparameters


def test_matryoshka_with_mined_negatives_scores_every_size(tmp_path, fast, base_embedder):
    result = finetune(
        PAIRS,
        tmp_path / "m",
        loss="matryoshka",
        matryoshka_dims=(64, 128, 256, 384),
        mine_negatives=True,
        margin=None,
        eval_beir=TINY,
        max_steps=2,
        **fast,
    )
    _check_model_dir(result.model_dir, base_embedder.fingerprint)
    assert result.loss_class == "MatryoshkaLoss"
    assert result.hyperparameters["matryoshka_dims"] == [384, 256, 128, 64]
    assert result.mining is not None and result.mining["kept_anchors"] == 15
    assert result.data["negatives_per_example"] == 1
    ndcg = [r for r in result.comparison() if r["metric"] == "ndcg_at_10"]
    assert [r["dims"] for r in ndcg] == [384, 256, 128, 64]
    assert all(r["after"] is not None for r in ndcg)


def test_examples_with_and_without_mined_negatives_train_together(tmp_path, fast):
    """Anchors whose positive the base model ranks too low keep no negative, and still train."""
    data = load_beir_pairs(TINY, "test")
    result = finetune(data, tmp_path / "m", mine_negatives=True, margin=0.45, max_steps=2, **fast)
    assert result.mining is not None and result.mining["without_negatives"] == 1
    assert result.data["with_negatives"] == 2 and result.data["examples"] == 4
    assert result.steps == 2 and is_model_dir(result.model_dir)


def test_triplet_loss_without_negatives_is_refused(tmp_path):
    with pytest.raises(InputError, match="needs a negative per anchor"):
        finetune(PAIRS, tmp_path / "m", loss="triplet")


def test_held_out_queries_in_the_training_data_are_refused(tmp_path):
    leak = tmp_path / "leak.jsonl"
    leak.write_text(PAIRS.read_text() + '{"anchor": "Why did shares drop?", "positive": "x y"}\n')
    with pytest.raises(InputError, match=r"shares 1 query text\(s\) .*'Why did shares drop\?'"):
        finetune(leak, tmp_path / "m", eval_beir=TINY)
    with pytest.raises(InputError, match=r"1 query id\(s\) such as \['q1'\].*--drop-overlap"):
        finetune(TINY, tmp_path / "m", split="dev", eval_beir=TINY, eval_split="test")
    assert not is_model_dir(tmp_path / "m") and not (tmp_path / "m" / "checkpoints").exists()


def test_an_existing_model_is_not_overwritten(tuned):
    with pytest.raises(InputError, match=r"already holds a model.*--overwrite"):
        finetune(PAIRS, tuned.model_dir)


class StopAtCheckpoint(TrainerCallback):
    """Interrupts the run right after the checkpoint of ``step`` is written."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_save(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            raise KeyboardInterrupt


def test_an_interrupted_run_resumes_to_the_same_weights(tmp_path, fast, tuned):
    """Interrupted after its checkpoint at step 2 and resumed, the run of ``tuned`` (3 steps,
    same seed, no checkpoints) ends with the same weights, bit for bit."""
    options = {**fast, "max_steps": 3, "checkpoint_steps": 2, "eval_beir": TINY}
    with pytest.raises(KeyboardInterrupt):
        finetune(PAIRS, tmp_path / "cut", callbacks=[StopAtCheckpoint(2)], **options)
    ckpt = tmp_path / "cut" / "checkpoints"
    assert sorted(p.name for p in ckpt.iterdir()) == ["checkpoint-2", "finetune.json"]
    assert pickle_files(ckpt) == []
    assert {p.name for p in (ckpt / "checkpoint-2").iterdir()} >= {
        "model.safetensors",
        "optimizer.safetensors",
        "optimizer.json",
        "scheduler.json",
        "rng_state.json",
        "trainer_state.json",
        "training_args.json",
    }
    with pytest.raises(InputError, match=r"unfinished run.*--resume"):
        finetune(PAIRS, tmp_path / "cut", **options)
    with pytest.raises(InputError, match=r"differs .* in \['hyperparameters'\]"):
        finetune(PAIRS, tmp_path / "cut", resume=True, **{**options, "lr": 5e-5})
    resumed = finetune(PAIRS, tmp_path / "cut", resume=True, **options)
    assert resumed.resumed_from_step == 2 and resumed.steps == 3
    assert [e["loss"] for e in resumed.log] == [e["loss"] for e in tuned.log]
    assert _same_weights(tuned.model_dir, resumed.model_dir)
    assert resumed.fingerprint == tuned.fingerprint
    assert not ckpt.exists()  # removed after success


def test_nothing_to_resume_is_an_error(tmp_path):
    with pytest.raises(InputError, match="nothing to resume"):
        finetune(PAIRS, tmp_path / "m", resume=True)
