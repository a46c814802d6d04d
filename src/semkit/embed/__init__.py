"""Embedding layer: providers behind one ``Embedder`` with a persistent cache."""

from semkit.embed.base import Provider
from semkit.embed.cache import EmbeddingCache
from semkit.embed.embedder import Embedder, EncodeStats, TruncationWarning
from semkit.embed.registry import DEFAULT_MODEL_ID, available_models, resolve

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
