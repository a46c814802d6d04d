"""Training checkpoints without pickle: safetensors for tensors, JSON for everything else.

The transformers ``Trainer`` writes each checkpoint's optimizer, scheduler, RNG and
scaler states and its training arguments with ``torch.save`` (pickles). semkit's
trainer (``PickleFreeTrainer``, a ``SentenceTransformerTrainer`` that overrides only
those save/load hooks) writes instead:

    checkpoint-N/model.safetensors, *.json        the model (sentence-transformers layout)
    checkpoint-N/optimizer.safetensors            optimizer tensors (AdamW moments, steps)
    checkpoint-N/optimizer.json                   param groups and non-tensor state
    checkpoint-N/scheduler.json                   LR scheduler state
    checkpoint-N/rng_state.json                   Python, NumPy and torch CPU generators
    checkpoint-N/training_args.json               the arguments, for reading
    checkpoint-N/trainer_state.json               the Trainer's own (JSON), written last

so loading a checkpoint executes nothing. ``trainer_state.json`` is written last, so a
checkpoint without it (a run killed while saving) is incomplete and never resumed from.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from sentence_transformers import SentenceTransformerTrainer

from semkit.atomic import write_text
from semkit.errors import StoreError

OPTIMIZER_TENSORS = "optimizer.safetensors"
OPTIMIZER_JSON = "optimizer.json"
SCHEDULER_JSON = "scheduler.json"
SCALER_JSON = "scaler.json"
RNG_JSON = "rng_state.json"
ARGS_JSON = "training_args.json"
STATE_JSON = "trainer_state.json"
FORMAT = 1
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
# Suffixes of files that torch.save / pickle write (semkit never writes one).
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")


def _write_json(path: Path, data: Any) -> None:
    try:
        text = json.dumps(data, indent=1) + "\n"
    except TypeError as exc:
        raise StoreError(f"cannot write {path.name} as JSON: {exc}") from exc
    write_text(path, text)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StoreError(f"cannot read checkpoint file {path}: {exc}") from exc


# --- optimizer --------------------------------------------------------------------------------
def save_optimizer(optimizer: torch.optim.Optimizer, directory: Path) -> None:
    state = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    other: dict[str, dict[str, Any]] = {}
    for param_id, values in state["state"].items():
        for name, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{param_id}.{name}"] = value.detach().cpu().contiguous()
            else:
                other.setdefault(str(param_id), {})[name] = value
    save_file(tensors, str(directory / OPTIMIZER_TENSORS), metadata={"format": str(FORMAT)})
    _write_json(
        directory / OPTIMIZER_JSON,
        {"format": FORMAT, "param_groups": state["param_groups"], "state": other},
    )


def load_optimizer(optimizer: torch.optim.Optimizer, directory: Path) -> None:
    meta = _read_json(directory / OPTIMIZER_JSON)
    state: dict[int, dict[str, Any]] = {}
    for key, tensor in load_file(str(directory / OPTIMIZER_TENSORS)).items():
        param_id, name = key.split(".", 1)
        state.setdefault(int(param_id), {})[name] = tensor
    for param_id, values in meta["state"].items():
        state.setdefault(int(param_id), {}).update(values)
    groups = meta["param_groups"]
    for group in groups:
        if isinstance(group.get("betas"), list):
            group["betas"] = tuple(group["betas"])
    optimizer.load_state_dict({"state": state, "param_groups": groups})


# --- RNG ----------------------------------------------------------------------------------------
def save_rng(directory: Path) -> None:
    version, internal, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    _write_json(
        directory / RNG_JSON,
        {
            "format": FORMAT,
            "python": [version, list(internal), gauss],
            "numpy": [kind, np.asarray(keys).tolist(), int(pos), int(has_gauss), float(cached)],
            "torch_cpu": torch.random.get_rng_state().tolist(),
        },
    )


def load_rng(directory: Path) -> None:
    data = _read_json(directory / RNG_JSON)
    version, internal, gauss = data["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached = data["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.random.set_rng_state(torch.tensor(data["torch_cpu"], dtype=torch.uint8))


# --- finding checkpoints ----------------------------------------------------------------------
def is_complete(directory: Path) -> bool:
    return all(
        (directory / name).is_file()
        for name in (STATE_JSON, OPTIMIZER_TENSORS, OPTIMIZER_JSON, SCHEDULER_JSON, RNG_JSON)
    )


def checkpoints(directory: Path) -> list[tuple[int, Path]]:
    """``(step, path)`` of every complete checkpoint under ``directory``, oldest first."""
    if not directory.is_dir():
        return []
    found = []
    for p in directory.iterdir():
        m = _CHECKPOINT.match(p.name)
        if m and p.is_dir() and is_complete(p):
            found.append((int(m.group(1)), p))
    return sorted(found)


def last_checkpoint(directory: Path) -> Path | None:
    found = checkpoints(directory)
    return found[-1][1] if found else None


def pickle_files(directory: Path) -> list[Path]:
    """Files under ``directory`` that are (or are named like) pickles."""
    out = []
    for p in sorted(directory.rglob("*")):
        if not p.is_file():
            continue
        if p.suffix.lower() in PICKLE_SUFFIXES:
            out.append(p)
            continue
        with p.open("rb") as f:
            head = f.read(2)
        if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
            out.append(p)  # a pickle's protocol header
    return out


class PickleFreeTrainer(SentenceTransformerTrainer):
    """``SentenceTransformerTrainer`` whose checkpoints hold no pickle (see the module doc).

    The training loop, the losses, the batch samplers and resuming are the library's; only
    the hooks that serialise state are replaced. The library's own model card callback is
    left out: semkit writes the card (``semkit.train.card``).
    """

    def add_model_card_callback(self, default_args_dict: dict[str, Any]) -> None:
        return None

    def _save(self, output_dir: str | None = None, state_dict: Any = None) -> None:
        target = Path(str(output_dir or self.args.output_dir))
        target.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(str(target), create_model_card=False, safe_serialization=True)
        _write_json(target / ARGS_JSON, json.loads(self.args.to_json_string()))

    def _save_optimizer_and_scheduler(self, output_dir: str) -> None:
        directory = Path(output_dir)
        assert self.optimizer is not None and self.lr_scheduler is not None
        save_optimizer(self.optimizer, directory)
        _write_json(directory / SCHEDULER_JSON, self.lr_scheduler.state_dict())

    def _save_scaler(self, output_dir: str) -> None:
        scaler = getattr(self.accelerator, "scaler", None)
        if scaler is not None:
            _write_json(Path(output_dir) / SCALER_JSON, scaler.state_dict())

    def _save_rng_state(self, output_dir: str) -> None:  # training runs on CPU (use_cpu)
        Path(output_dir).mkdir(parents=True, exist_ok=True)
        save_rng(Path(output_dir))

    def _load_optimizer_and_scheduler(self, checkpoint: str | None) -> None:
        if checkpoint is None:
            return
        directory = Path(checkpoint)
        assert self.optimizer is not None and self.lr_scheduler is not None
        load_optimizer(self.optimizer, directory)
        self.lr_scheduler.load_state_dict(_read_json(directory / SCHEDULER_JSON))

    def _load_scaler(self, checkpoint: str | None) -> None:
        scaler = getattr(self.accelerator, "scaler", None)
        if checkpoint is not None and scaler is not None:
            scaler.load_state_dict(_read_json(Path(checkpoint) / SCALER_JSON))

    def _load_rng_state(self, checkpoint: str | None) -> None:
        if checkpoint is not None:
            load_rng(Path(checkpoint))


__all__ = [
    "PICKLE_SUFFIXES",
    "PickleFreeTrainer",
    "checkpoints",
    "is_complete",
    "last_checkpoint",
    "load_optimizer",
    "load_rng",
    "pickle_files",
    "save_optimizer",
    "save_rng",
]
