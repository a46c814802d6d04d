"""Collections: documents, metadata and vectors, searched densely, lexically or both."""

from semkit.search.collection import Collection, WriteReport
from semkit.search.database import Database, open_database

__all__ = ["Collection", "Database", "WriteReport", "open_database"]
