"""``finetune``: adapt an embedding model to pairs or triplets, and measure the gain.

The run, in order (every check before the first training step):

1. read the training data (``semkit.train.data``) and the held-out BEIR split, and
   refuse held-out queries that leak into the training data (``InputError``;
   ``drop_overlap=True`` leaves those examples out instead);
2. mine hard negatives with the base model through a semkit collection, if asked
   (``semkit.train.negatives``);
3. score the base model on the held-out split (``evaluate_beir``: the numbers
   ``semkit eval retrieval`` prints);
4. train with sentence-transformers' ``SentenceTransformerTrainer`` and one of its
   losses: ``mnrl`` (``MultipleNegativesRankingLoss``: in-batch and mined negatives),
   ``triplet`` (``TripletLoss``; needs negatives) or ``matryoshka`` (``MatryoshkaLoss``
   around MNRL, so prefixes of the vector stay useful), seeded, with checkpoints every
   ``checkpoint_steps`` in ``<out>/checkpoints`` that hold no pickle
   (``semkit.train.checkpoints``); ``resume=True`` continues from the last one;
5. save the model into ``out`` (safetensors + JSON, a normal sentence-transformers
   directory usable as ``model=out`` everywhere in semkit), score it the same way, and
   write its model card (``semkit.train.card``).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
import warnings
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from semkit import config
from semkit.embedding.embedder import TruncationWarning
from semkit.embedding.local import LocalProvider, is_model_dir
from semkit.embedding.registry import resolve
from semkit.errors import InputError, ModelError
from semkit.evaluate.collections import RetrievalResult, evaluate_beir
from semkit.evaluate.datasets import BeirDataset, document_text, load_beir
from semkit.extras import require, require_extra
from semkit.text.io import iter_jsonl, read_records
from semkit.train.data import (
    TrainingData,
    drop_overlap,
    find_overlap,
    load_training_data,
)
from semkit.train.negatives import mine_hard_negatives

LOSSES = {
    "mnrl": "MultipleNegativesRankingLoss",
    "triplet": "TripletLoss",
    "matryoshka": "MatryoshkaLoss",
}
CHECKPOINTS = "checkpoints"
RUN_FILE = "finetune.json"
RUN_FORMAT = 1
MAIN_METRICS = ("ndcg_at_10", "map_at_100", "recall_at_100", "mrr_at_10")


@dataclass
class FinetuneResult:
    """What a fine-tuning run produced and measured (``as_dict`` for JSON)."""

    model_dir: Path
    base_model: str
    base_model_id: str
    base_fingerprint: str
    fingerprint: str
    loss: str
    hyperparameters: dict[str, Any]
    data: dict[str, Any]
    steps: int
    epochs: float
    train_seconds: float
    dim: int = 0
    max_tokens: int = 0
    mining: dict[str, Any] | None = None
    dropped_overlap: int = 0
    resumed_from_step: int | None = None
    before: list[RetrievalResult] = field(default_factory=list)
    after: list[RetrievalResult] = field(default_factory=list)
    evaluation: dict[str, Any] | None = None
    log: list[dict[str, float]] = field(default_factory=list)

    @property
    def loss_class(self) -> str:
        return LOSSES[self.loss]

    def comparison(self, metrics: Sequence[str] = MAIN_METRICS) -> list[dict[str, Any]]:
        """One row per (documents, dims, metric): before, after and the change."""
        after = {_cell(r): r for r in self.after}
        rows = []
        for b in self.before:
            a = after.get(_cell(b))
            for m in metrics:
                if m not in b.scores:
                    continue
                value = a.scores[m] if a is not None else None
                rows.append(
                    {
                        "chunking": b.config["chunking"],
                        "dims": b.config["dims"],
                        "metric": m,
                        "before": b.scores[m],
                        "after": value,
                        "delta": None if value is None else value - b.scores[m],
                    }
                )
        return rows

    def as_dict(self) -> dict[str, Any]:
        return {
            "model_dir": str(self.model_dir),
            "base_model": self.base_model,
            "base_model_id": self.base_model_id,
            "base_fingerprint": self.base_fingerprint,
            "fingerprint": self.fingerprint,
            "loss": self.loss,
            "loss_class": self.loss_class,
            "dim": self.dim,
            "max_tokens": self.max_tokens,
            "hyperparameters": self.hyperparameters,
            "data": self.data,
            "mining": self.mining,
            "dropped_overlap": self.dropped_overlap,
            "steps": self.steps,
            "epochs": self.epochs,
            "train_seconds": self.train_seconds,
            "resumed_from_step": self.resumed_from_step,
            "evaluation": self.evaluation,
            "comparison": self.comparison(),
            "before": [r.as_dict() for r in self.before],
            "after": [r.as_dict() for r in self.after],
            "log": self.log,
        }


def _cell(r: RetrievalResult) -> tuple[Any, ...]:
    return (r.config["chunking"], r.config["dims"], r.config["mode"])


# --- checks -------------------------------------------------------------------------------------
def _base_provider(base: str | Path) -> LocalProvider:
    provider = resolve(base)
    if not isinstance(provider, LocalProvider):
        raise ModelError(
            f"fine-tuning needs a local sentence-transformers model directory; {base!r} is "
            f"{type(provider).__name__}"
        )
    return provider


def _check_dims(dims: Sequence[int], native: int) -> list[int]:
    out = sorted({int(d) for d in dims}, reverse=True)
    if not out or out[-1] < 1 or out[0] > native:
        raise InputError(
            f"matryoshka dims must be between 1 and the model's {native} dimensions, got {list(dims)}"
        )
    return out


def _prepare_out(out: Path, base_path: Path, resume: bool, overwrite: bool) -> Path:
    """The checkpoint directory, after refusing to clobber a model or an unfinished run."""
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file; give a directory for the model")
    if out.resolve() == base_path.resolve():
        raise InputError("--out is the base model's own directory; choose a new directory")
    ckpt = out / CHECKPOINTS
    if out.is_dir() and any(out.iterdir()) and not (is_model_dir(out) or ckpt.is_dir()):
        raise InputError(
            f"{out} is not empty and holds no model; give a new or empty directory for --out"
        )
    if resume:
        return ckpt
    if overwrite:
        shutil.rmtree(ckpt, ignore_errors=True)
        return ckpt
    if is_model_dir(out):
        raise InputError(
            f"{out} already holds a model; choose another --out, or pass --overwrite to replace it"
        )
    if ckpt.is_dir() and any(ckpt.iterdir()):
        raise InputError(
            f"{out} holds checkpoints of an unfinished run; pass --resume to continue it, or "
            f"--overwrite to start over"
        )
    return ckpt


def _check_resume(ckpt: Path, run: dict[str, Any]) -> Path:
    from semkit.train.checkpoints import last_checkpoint

    recorded_path = ckpt / RUN_FILE
    last = last_checkpoint(ckpt)
    if last is None or not recorded_path.is_file():
        raise InputError(
            f"nothing to resume: no complete checkpoint in {ckpt}; run without --resume"
        )
    recorded = json.loads(recorded_path.read_text(encoding="utf-8"))
    changed = [k for k in run if recorded.get(k) != run[k]]
    if changed:
        raise InputError(
            f"cannot resume {ckpt}: the run differs from the interrupted one in {changed}; "
            f"resume with the same data and options, or pass --overwrite to start over"
        )
    return last


def _corpus_for_mining(data: TrainingData, corpus: Any) -> Any:
    if corpus is None:
        return data.corpus
    if not isinstance(corpus, str | Path):
        return corpus
    p = Path(corpus)
    if (p / "corpus.jsonl").is_file():  # a BEIR folder
        return {
            str(row.get("_id")): document_text(row) for _, row in iter_jsonl(p / "corpus.jsonl")
        }
    return {
        (r.id if r.id is not None else f"doc-{i}"): r.text for i, r in enumerate(read_records(p))
    }


# --- training -------------------------------------------------------------------------------------
@contextmanager
def _library_chatter_off() -> Any:
    """Library progress bars and INFO logs off; semkit draws its own bar."""
    import logging

    from semkit.embedding.quiet import _disable_progress_bars

    names = ("transformers", "sentence_transformers", "accelerate", "datasets")
    levels = {n: logging.getLogger(n).level for n in names}
    for n in names:
        logging.getLogger(n).setLevel(logging.ERROR)
    restore = _disable_progress_bars()
    try:
        yield
    finally:
        restore()
        for n, level in levels.items():
            logging.getLogger(n).setLevel(level)


def _load_model(path: Path) -> Any:
    from semkit.embedding.quiet import quiet_libraries

    with quiet_libraries():
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(
            str(path), device="cpu", local_files_only=True, trust_remote_code=False
        )


def _make_loss(model: Any, hp: dict[str, Any]) -> Any:
    try:
        from sentence_transformers.sentence_transformer import losses
    except ImportError:  # sentence-transformers 5
        from sentence_transformers import losses  # type: ignore[no-redef,attr-defined]

    if hp["loss"] == "triplet":
        return losses.TripletLoss(model, triplet_margin=hp["triplet_margin"])
    mnrl = losses.MultipleNegativesRankingLoss(model, scale=hp["scale"])
    if hp["loss"] == "matryoshka":
        return losses.MatryoshkaLoss(model, mnrl, matryoshka_dims=list(hp["matryoshka_dims"]))
    return mnrl


def _progress_callback(show: bool) -> Any:
    from tqdm.auto import tqdm
    from transformers import TrainerCallback

    class Progress(TrainerCallback):
        bar: Any = None

        def on_train_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            self.bar = tqdm(
                total=state.max_steps,
                initial=state.global_step,
                desc="Fine-tuning",
                unit="step",
                disable=not show,
                file=sys.stderr,
                leave=False,
            )

        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            if self.bar is not None:
                self.bar.update(state.global_step - self.bar.n)

        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kw: Any) -> None:
            if self.bar is not None and logs and "loss" in logs:
                self.bar.set_postfix(loss=f"{float(logs['loss']):.4f}")

        def on_train_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            if self.bar is not None:
                self.bar.close()

    return Progress()


def _train(
    model: Any,
    data: TrainingData,
    ckpt: Path,
    hp: dict[str, Any],
    prompts: dict[str, str],
    resume_from: Path | None,
    callbacks: Sequence[Any],
    show: bool,
) -> tuple[Any, float]:
    require("datasets", "train", "fine-tuning")
    from datasets import Dataset, DatasetDict
    from sentence_transformers import SentenceTransformerTrainingArguments
    from transformers import PrinterCallback

    try:
        from sentence_transformers.base.sampler import BatchSamplers
    except ImportError:  # sentence-transformers 5
        from sentence_transformers.training_args import (  # type: ignore[no-redef,import-not-found]
            BatchSamplers,
        )

    from semkit.train.checkpoints import PickleFreeTrainer

    triplets = hp["loss"] == "triplet"
    tables = data.tables(triplets=triplets)
    if not tables:
        raise InputError("no training example has a negative; TripletLoss needs one per row")
    datasets = {name: Dataset.from_dict(cols) for name, cols in tables.items()}
    dataset: Any = next(iter(datasets.values())) if len(datasets) == 1 else DatasetDict(datasets)
    columns = dict.fromkeys(c for d in datasets.values() for c in d.column_names)
    column_prompts = {
        col: prompts.get("query" if col == "anchor" else "document", "") for col in columns
    }
    save = hp["checkpoint_steps"]
    args = SentenceTransformerTrainingArguments(
        output_dir=str(ckpt),
        num_train_epochs=hp["epochs"],
        max_steps=hp["max_steps"] or -1,
        per_device_train_batch_size=hp["batch_size"],
        learning_rate=hp["lr"],
        warmup_steps=hp["warmup_ratio"],
        lr_scheduler_type="linear",
        weight_decay=hp["weight_decay"],
        seed=hp["seed"],
        data_seed=hp["seed"],
        save_strategy="steps" if save else "no",
        save_steps=save or 500,
        save_total_limit=2,
        logging_strategy="steps",
        logging_steps=1,
        report_to="none",
        disable_tqdm=True,
        use_cpu=True,  # semkit is CPU-first; checkpoints keep CPU generator states
        dataloader_num_workers=0,
        dataloader_pin_memory=False,
        batch_sampler=BatchSamplers.BATCH_SAMPLER if triplets else BatchSamplers.NO_DUPLICATES,
        prompts={c: p for c, p in column_prompts.items() if p} or None,
    )
    loss = _make_loss(model, hp)
    trainer = PickleFreeTrainer(
        model=model,
        args=args,
        train_dataset=dataset,
        loss=loss,
        callbacks=[_progress_callback(show), *callbacks],
    )
    trainer.remove_callback(PrinterCallback)  # it prints every log line on stdout
    t0 = time.perf_counter()
    trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    return trainer, time.perf_counter() - t0


def _publish(model: Any, out: Path) -> None:
    """Save the model into a staging folder, then move it into ``out`` (config files last)."""
    staging = out / ".saving"
    shutil.rmtree(staging, ignore_errors=True)
    model.save_pretrained(str(staging), create_model_card=False, safe_serialization=True)
    entries = sorted(staging.iterdir(), key=lambda p: p.name in ("config.json", "modules.json"))
    for entry in entries:
        target = out / entry.name
        if target.is_dir():
            shutil.rmtree(target)
        os.replace(entry, target)
    staging.rmdir()


# --- evaluation -------------------------------------------------------------------------------------
def _evaluate(
    model: str,
    path: Path,
    split: str,
    dims: Sequence[int | None],
    truncate: Sequence[bool],
    backend: str,
) -> list[RetrievalResult]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TruncationWarning)  # cut or chunked on purpose
        return evaluate_beir(
            path,
            split,
            model=model,
            modes=("dense",),
            dims=dims,
            truncate=truncate,
            index="exact",
            backend=backend,
        )


# --- the run ------------------------------------------------------------------------------------------
def finetune(
    train: str | Path | TrainingData,
    out: str | Path,
    *,
    base: str | Path | None = None,
    loss: str = "mnrl",
    epochs: float = 1.0,
    batch_size: int = 16,
    lr: float = 2e-5,
    scale: float = 20.0,
    matryoshka_dims: Sequence[int] = (384, 256, 128, 64),
    triplet_margin: float = 5.0,
    warmup_ratio: float = 0.1,
    weight_decay: float = 0.01,
    max_steps: int | None = None,
    seed: int = 0,
    split: str = "train",
    columns: Mapping[str, str] | None = None,
    mine_negatives: bool = False,
    corpus: Any = None,
    negatives_per_anchor: int = 1,
    skip_top: int = 0,
    margin: float | None = 0.05,
    eval_beir: str | Path | None = None,
    eval_split: str = "test",
    eval_truncate: Sequence[bool] = (False,),
    eval_dims: Sequence[int | None] | None = None,
    drop_overlapping: bool = False,
    checkpoint_steps: int | None = 100,
    resume: bool = False,
    overwrite: bool = False,
    keep_checkpoints: bool = False,
    backend: str = "torch",
    show_progress_bar: bool | None = None,
    callbacks: Sequence[Any] = (),
) -> FinetuneResult:
    """Fine-tune ``base`` (None: the ``model`` setting) on ``train`` into the model
    directory ``out``.

    ``train``: a pairs/triplets file, a BEIR folder (queries and ``qrels/<split>.tsv``),
    or ``TrainingData``. ``loss``: "mnrl", "triplet" or "matryoshka". ``scale``: MNRL's
    scale (1/temperature). ``mine_negatives``: add ``negatives_per_anchor`` hard
    negatives mined from ``corpus`` (a BEIR folder's corpus by default, else the
    training positives; a path, mapping, list of texts or a ``Collection``) with the
    base model, passing over the first ``skip_top`` ranks and candidates within
    ``margin`` of the positive's score. ``eval_beir``: a BEIR folder scored before and
    after on ``eval_split`` (``eval_truncate``: (False,) chunks documents as semkit does
    by default, (True,) cuts them as MTEB does, (True, False) both; ``eval_dims``:
    Matryoshka sizes, by default the model's own or, for "matryoshka", ``matryoshka_dims``).
    ``callbacks``: extra ``transformers.TrainerCallback`` objects.

    Raises ``InputError`` before training when the held-out queries overlap the training
    data (``drop_overlapping=True`` leaves the overlapping examples out instead).
    """
    _check_options(loss, epochs, batch_size, lr)
    require_extra("train", "fine-tuning")  # before any work
    out = Path(out).expanduser()
    base = config.value("model", base)
    provider = _base_provider(base)
    data = train if isinstance(train, TrainingData) else load_training_data(train, split, columns)
    held_out = None if eval_beir is None else load_beir(eval_beir, eval_split)
    data, dropped = _without_held_out(data, held_out, eval_beir, eval_split, drop_overlapping)
    dims = _check_dims(matryoshka_dims, provider.dim) if loss == "matryoshka" else [provider.dim]
    if loss == "triplet" and not data.negatives_per_example and not mine_negatives:
        raise InputError(
            "--loss triplet needs a negative per anchor: give the file a negative column, "
            "or pass --mine-negatives"
        )
    ckpt = _prepare_out(out, provider.path, resume, overwrite)

    mining = None
    if mine_negatives:
        data, report = mine_hard_negatives(
            data,
            _corpus_for_mining(data, corpus),
            model=str(base),
            negatives_per_anchor=negatives_per_anchor,
            skip_top=skip_top,
            margin=margin,
            backend=backend,
        )
        mining = report.as_dict()

    hp: dict[str, Any] = {
        "loss": loss,
        "epochs": epochs,
        "max_steps": max_steps,
        "batch_size": batch_size,
        "lr": lr,
        "warmup_ratio": warmup_ratio,
        "weight_decay": weight_decay,
        "seed": seed,
        "checkpoint_steps": checkpoint_steps,
        **({"triplet_margin": triplet_margin} if loss == "triplet" else {"scale": scale}),
        **({"matryoshka_dims": dims} if loss == "matryoshka" else {}),
    }
    run = {
        "format": RUN_FORMAT,
        "base_fingerprint": provider.fingerprint,
        "data": data.digest(),
        "hyperparameters": {k: v for k, v in hp.items() if k != "checkpoint_steps"},
    }
    resume_from = _check_resume(ckpt, run) if resume else None

    def score(model: str) -> list[RetrievalResult]:
        if held_out is None or eval_beir is None:
            return []
        sizes = [None if d == provider.dim else d for d in (eval_dims or dims)]
        return _evaluate(model, Path(eval_beir), eval_split, sizes, eval_truncate, backend)

    before = score(str(base))
    ckpt.mkdir(parents=True, exist_ok=True)
    if resume_from is None:
        (ckpt / RUN_FILE).write_text(json.dumps(run, indent=1) + "\n", encoding="utf-8")
    show = sys.stderr.isatty() if show_progress_bar is None else show_progress_bar
    with _library_chatter_off():
        trainer, seconds = _train(
            _load_model(provider.path),
            data,
            ckpt,
            hp,
            provider.prompts,
            resume_from,
            callbacks,
            show,
        )
        _publish(trainer.model, out)
    if not keep_checkpoints:
        shutil.rmtree(ckpt, ignore_errors=True)

    tuned = _base_provider(out)
    result = FinetuneResult(
        model_dir=out,
        base_model=str(base),
        base_model_id=provider.model_id,
        base_fingerprint=provider.fingerprint,
        fingerprint=tuned.fingerprint,
        loss=loss,
        hyperparameters={k: v for k, v in hp.items() if k != "loss"},
        data=data.summary(),
        steps=int(trainer.state.global_step),
        epochs=float(trainer.state.epoch or 0.0),
        train_seconds=round(seconds, 1),
        dim=tuned.dim,
        max_tokens=tuned.max_tokens,
        mining=mining,
        dropped_overlap=dropped,
        resumed_from_step=_step_of(resume_from),
        before=before,
        evaluation=None
        if held_out is None
        else {"dataset": str(eval_beir), "split": eval_split, "queries": len(held_out.queries)},
        log=_loss_log(trainer.state.log_history),
    )
    from semkit.train.card import write_model_card

    write_model_card(out, result.as_dict())  # complete but for the scores after
    if held_out is not None:
        result.after = score(str(out))
        write_model_card(out, result.as_dict())
    return result


def _check_options(loss: str, epochs: float, batch_size: int, lr: float) -> None:
    if loss not in LOSSES:
        raise InputError(f"unknown loss {loss!r}; use one of {list(LOSSES)}")
    for name, value in (("epochs", epochs), ("batch_size", batch_size), ("lr", lr)):
        if not value or value <= 0:
            raise InputError(f"{name} must be positive, got {value!r}")
    if batch_size < 2 and loss != "triplet":
        raise InputError("in-batch negatives need batch_size >= 2")


def _without_held_out(
    data: TrainingData,
    held_out: BeirDataset | None,
    path: str | Path | None,
    split: str,
    drop: bool,
) -> tuple[TrainingData, int]:
    """``data``, refused (or, with ``drop``, trimmed) where it overlaps the held-out split."""
    if held_out is None or path is None:
        return data, 0
    overlap = find_overlap(data, held_out, path)
    if not overlap:
        return data, 0
    if not drop:
        raise InputError(
            f"{overlap.describe(f'{Path(path).name} {split}')}; training on held-out "
            f"queries inflates the scores after fine-tuning. Evaluate on another split, "
            f"remove them, or pass --drop-overlap to leave them out"
        )
    kept = drop_overlap(data, overlap)
    return kept, len(data) - len(kept)


def _loss_log(history: list[dict[str, Any]]) -> list[dict[str, float]]:
    keys = ("step", "epoch", "loss", "learning_rate")
    return [{k: float(v) for k, v in e.items() if k in keys} for e in history if "loss" in e]


def _step_of(checkpoint: Path | None) -> int | None:
    if checkpoint is None:
        return None
    return int(checkpoint.name.rsplit("-", 1)[1])


__all__ = ["LOSSES", "FinetuneResult", "finetune"]
