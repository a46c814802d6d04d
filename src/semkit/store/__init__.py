"""The source of truth: documents, chunk vectors and collection records in SQLite."""

from semkit.store.sqlite import CollectionRecord, Store

__all__ = ["CollectionRecord", "Store"]
