"""Vector indexes: exact (the ground truth) and HNSW, behind one contract.

Indexes are derived state: the store holds every vector, and an index can always
be rebuilt from it. ``IndexedVectors`` keeps one collection's index in step with
the store and persists it in a checked file.
"""

from semkit.index.base import VectorIndex
from semkit.index.exact import ExactIndex
from semkit.index.hnsw import HnswIndex

__all__ = ["ExactIndex", "HnswIndex", "VectorIndex"]
