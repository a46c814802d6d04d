"""Fine-tuning: adapt an embedding model to your own pairs or triplets, and measure the gain.

- ``data``: training examples from pairs/triplets files or a BEIR split; overlap checks
  against held-out data.
- ``negatives``: hard-negative mining through a semkit collection.
- ``run``: ``finetune(...)``, built on sentence-transformers' trainer and losses.
- ``checkpoints``: checkpoints without pickle (safetensors + JSON), imported lazily.
- ``card``: the model card of a fine-tuned model.

Importing this package loads no torch; ``finetune`` does when it trains.
"""

from semkit.train.card import render_model_card, write_model_card
from semkit.train.data import (
    Example,
    Overlap,
    TrainingData,
    find_overlap,
    load_beir_pairs,
    load_pairs,
    load_training_data,
)
from semkit.train.negatives import MiningReport, mine_hard_negatives
from semkit.train.run import LOSSES, FinetuneResult, finetune

__all__ = [
    "LOSSES",
    "Example",
    "FinetuneResult",
    "MiningReport",
    "Overlap",
    "TrainingData",
    "find_overlap",
    "finetune",
    "load_beir_pairs",
    "load_pairs",
    "load_training_data",
    "mine_hard_negatives",
    "render_model_card",
    "write_model_card",
]
