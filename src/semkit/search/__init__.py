"""Collections: documents, metadata and vectors, searched densely, lexically or both."""

from semkit.search.collection import Collection, WriteReport
from semkit.search.config import Chunking, CollectionConfig, HnswSettings
from semkit.search.database import Database, open_database

__all__ = [
    "Chunking",
    "Collection",
    "CollectionConfig",
    "Database",
    "HnswSettings",
    "WriteReport",
    "open_database",
]
