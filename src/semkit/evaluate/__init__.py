"""Measuring embeddings: datasets, MTEB-compatible metrics, runs and evaluators.

- ``datasets``: ``load_beir`` (retrieval) and ``load_sts`` (sentence pairs).
- ``metrics``: nDCG/MAP/Recall/P/MRR@k of a run, Pearson/Spearman; no pytrec_eval needed.
- ``search``: turning queries into a run (``dense_exact_run``; collections plug in later).
- ``evaluators``: ``evaluate_retrieval``, ``evaluate_sts`` and evaluator objects that
  declare ``primary_metric`` and ``greater_is_better``.
"""

from semkit.evaluate.datasets import (
    BeirDataset,
    StsPairs,
    document_text,
    load_beir,
    load_sts,
    read_qrels,
)
from semkit.evaluate.evaluators import (
    Evaluator,
    RetrievalEvaluator,
    STSEvaluator,
    evaluate_retrieval,
    evaluate_sts,
)
from semkit.evaluate.metrics import (
    K_VALUES,
    Qrels,
    Run,
    pearson,
    retrieval_scores,
    retrieval_scores_per_query,
    spearman,
)
from semkit.evaluate.search import SearchFunction, dense_exact_run

__all__ = [
    "K_VALUES",
    "BeirDataset",
    "Evaluator",
    "Qrels",
    "RetrievalEvaluator",
    "Run",
    "STSEvaluator",
    "SearchFunction",
    "StsPairs",
    "dense_exact_run",
    "document_text",
    "evaluate_retrieval",
    "evaluate_sts",
    "load_beir",
    "load_sts",
    "pearson",
    "read_qrels",
    "retrieval_scores",
    "retrieval_scores_per_query",
    "spearman",
]
