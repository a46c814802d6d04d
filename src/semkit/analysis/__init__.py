"""Uses of embeddings beyond search: clustering, duplicates, outliers, classification, maps."""

from semkit.analysis.analogy import AnalogyMatch, corpus_analogy
from semkit.analysis.classify import (
    Classifier,
    EmbeddingSpace,
    ZeroShot,
    evaluate_predictions,
    train_classifier,
    zero_shot,
)
from semkit.analysis.cluster import Cluster, Clustering, cluster, write_clusters
from semkit.analysis.context import Context, build_context
from semkit.analysis.corpus import Corpus, from_collection, from_file, from_texts
from semkit.analysis.duplicates import DuplicatePair, Duplicates, find_duplicates
from semkit.analysis.outliers import Outlier, OutlierScores, outlier_scores
from semkit.analysis.plot import draw_map
from semkit.analysis.project import Projection, project

__all__ = [
    "AnalogyMatch",
    "Classifier",
    "Cluster",
    "Clustering",
    "Context",
    "Corpus",
    "DuplicatePair",
    "Duplicates",
    "EmbeddingSpace",
    "Outlier",
    "OutlierScores",
    "Projection",
    "ZeroShot",
    "build_context",
    "cluster",
    "corpus_analogy",
    "draw_map",
    "evaluate_predictions",
    "find_duplicates",
    "from_collection",
    "from_file",
    "from_texts",
    "outlier_scores",
    "project",
    "train_classifier",
    "write_clusters",
    "zero_shot",
]
