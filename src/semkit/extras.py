"""Optional dependencies: import one, or say which extra installs it.

Parts of semkit that need a library most users do not (document extraction, ...) import
it through :func:`require` when first used, so the core installs light and a missing
library is a ``MissingExtraError`` that names the ``pip install`` to run.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from semkit.errors import MissingExtraError


def require(module: str, extra: str, purpose: str) -> ModuleType:
    """``importlib.import_module(module)``, or a ``MissingExtraError`` naming ``extra``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(
            f"{purpose} needs the Python package that provides '{module}', which is not "
            f"installed: pip install 'semkit[{extra}]'"
        ) from exc
