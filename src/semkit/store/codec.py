"""How values are stored: vectors as little-endian float32 blobs, metadata as JSON.

No pickle: everything semkit stores can be read by any SQLite client.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

import numpy as np

from semkit.errors import InputError

F32 = np.dtype("<f4")


def vector_to_blob(vector: np.ndarray) -> bytes:
    return np.ascontiguousarray(vector, dtype=F32).tobytes()


def blobs_to_matrix(blobs: list[bytes], dim: int) -> np.ndarray:
    if not blobs:
        return np.zeros((0, dim), dtype=np.float32)
    flat = np.frombuffer(b"".join(blobs), dtype=F32)
    if flat.size != len(blobs) * dim:
        raise ValueError(f"stored vectors do not have dimension {dim}")
    return flat.reshape(len(blobs), dim).astype(np.float32)


def _check_json_value(value: Any, where: str) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError(f"{where}: metadata values must be finite numbers, got {value}")
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise InputError(f"{where}: metadata keys must be strings, got {k!r}")
            _check_json_value(v, where)
    elif isinstance(value, list | tuple):
        for v in value:
            _check_json_value(v, where)
    elif not (value is None or isinstance(value, str | int | float | bool)):
        raise InputError(
            f"{where}: metadata value {value!r} of type {type(value).__name__} is "
            f"not JSON (use str, int, float, bool, None, lists and dicts)"
        )


def metadata_to_json(metadata: Any, where: str) -> str:
    if metadata is None:
        return "{}"
    if not isinstance(metadata, dict):
        raise InputError(f"{where}: metadata must be a dict, got {type(metadata).__name__}")
    _check_json_value(metadata, where)
    return json.dumps(metadata, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def json_to_metadata(text: str | None) -> dict[str, Any]:
    return json.loads(text) if text and text != "{}" else {}


def content_hash(text: str | None, metadata_json: str) -> bytes:
    """Identifies a document's content, so an unchanged upsert writes and embeds nothing."""
    h = hashlib.sha256()
    for part in (text or "", metadata_json):
        data = part.encode("utf-8")
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.digest()
