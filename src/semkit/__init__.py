"""semkit: local-first text embeddings and semantic search.

The public API is what this module exports; everything else is an implementation
detail. ``__all__`` is pinned by a test so it changes only on purpose.
"""

from semkit import similarity
from semkit.documents import DocumentsReport, add_documents
from semkit.embedding import (
    DEFAULT_MODEL_ID,
    Embedder,
    EmbeddingCache,
    EncodeStats,
    Provider,
    TruncationWarning,
    available_models,
)
from semkit.errors import (
    ConfigError,
    InputError,
    LockedError,
    MissingExtraError,
    ModelError,
    NotFoundError,
    ProviderError,
    RateLimitError,
    SemkitError,
    StoreError,
)
from semkit.search import Collection, Database, WriteReport
from semkit.search import open_database as open
from semkit.shortcuts import analogy, chunk, embed
from semkit.similarity import cosine, dot, euclidean, top_k
from semkit.text.extract import ExtractedDocument, extract, pages_of
from semkit.types import Chunk, Document, Hit

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_MODEL_ID",
    "Chunk",
    "Collection",
    "ConfigError",
    "Database",
    "Document",
    "DocumentsReport",
    "Embedder",
    "EmbeddingCache",
    "EncodeStats",
    "ExtractedDocument",
    "Hit",
    "InputError",
    "LockedError",
    "MissingExtraError",
    "ModelError",
    "NotFoundError",
    "Provider",
    "ProviderError",
    "RateLimitError",
    "SemkitError",
    "StoreError",
    "TruncationWarning",
    "WriteReport",
    "__version__",
    "add_documents",
    "analogy",
    "available_models",
    "chunk",
    "cosine",
    "dot",
    "embed",
    "euclidean",
    "extract",
    "open",
    "pages_of",
    "similarity",
    "top_k",
]
