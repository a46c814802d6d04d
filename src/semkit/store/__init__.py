"""The source of truth: documents, chunk vectors and collection records in SQLite."""

from semkit.store.sqlite import CollectionRow, Store

__all__ = ["CollectionRow", "Store"]
