"""Optional dependencies: import one, or say which extra installs it.

The core (embed, store, search, evaluate) installs light. Analysis, fine-tuning, ONNX
Runtime, Parquet, documents, PostgreSQL, the server and Ray need libraries most users do not:
they are imported through :func:`require` (or checked at once with :func:`require_extra`)
when first used, and a missing one is a ``MissingExtraError`` naming the ``pip install``
to run.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from semkit.errors import MissingExtraError

# Each extra's libraries by import name (pyproject.toml lists their distributions).
EXTRAS: dict[str, tuple[str, ...]] = {
    "analysis": ("sklearn", "umap", "matplotlib", "plotly"),
    "train": ("datasets", "accelerate"),
    "onnx": ("onnxruntime", "onnx"),
    "parquet": ("pyarrow",),
    "documents": ("pypdfium2", "docx", "bs4", "lxml"),
    "postgres": ("psycopg", "pgvector"),
    "server": ("fastapi", "uvicorn", "prometheus_client", "tiktoken"),
    "ray": ("ray",),
}


def require(module: str, extra: str, purpose: str) -> ModuleType:
    """``importlib.import_module(module)``, or a ``MissingExtraError`` naming ``extra``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(
            f"{purpose} needs the Python package that provides '{module}', which is not "
            f"installed: pip install 'semkit[{extra}]'"
        ) from exc


def require_extra(extra: str, purpose: str) -> None:
    """Check every library of ``extra`` (before work starts, so nothing is done in vain)."""
    for module in EXTRAS[extra]:
        require(module, extra, purpose)


def installed(extra: str) -> bool:
    """Whether every library of ``extra`` can be imported (without importing it)."""
    return all(importlib.util.find_spec(m) is not None for m in EXTRAS[extra])
