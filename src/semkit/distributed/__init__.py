"""Embedding and ingest across many machines, on Ray (``pip install 'semkit[ray]'``).

``embed_file(input, out)`` writes the vectors of a .jsonl/.parquet corpus to Parquet;
``add_file(collection, input)`` adds it to a collection. Both run semkit's own
``Embedder`` in a Ray Data actor pool and give what the local path gives (see
``semkit.distributed.pipeline``). Ray is imported only when one of them runs.
"""

from __future__ import annotations

from typing import Any

__all__ = ["EmbedReport", "RayOptions", "add_file", "embed_file"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from semkit.distributed import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'semkit.distributed' has no attribute {name!r}")
