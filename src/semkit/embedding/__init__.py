"""Embedding layer: providers behind one ``Embedder`` with a persistent cache."""

from semkit.embedding.base import Provider
from semkit.embedding.cache import EmbeddingCache
from semkit.embedding.embedder import Embedder, EncodeStats, TruncationWarning
from semkit.embedding.registry import DEFAULT_MODEL_ID, available_models, resolve

__all__ = [
    "DEFAULT_MODEL_ID",
    "Embedder",
    "EmbeddingCache",
    "EncodeStats",
    "Provider",
    "TruncationWarning",
    "available_models",
    "resolve",
]
