"""What a collection records about itself: a typed, frozen ``CollectionConfig``.

The record is what makes vectors comparable: the model's fingerprint, the vector
dimension (and Matryoshka ``dims``), the metric and normalisation, how documents are
cut into chunks, and which vector index searches them. It is stored as JSON with the
collection (the same JSON on every backend and as written by semkit 0.1), read back
with ``CollectionConfig.from_dict`` and changed only through ``replace``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from semkit.errors import InputError
from semkit.index.hnsw import DEFAULT_EF_CONSTRUCTION, DEFAULT_EF_SEARCH, DEFAULT_M
from semkit.similarity import METRICS

CONFIG_VERSION = 1
INDEX_KINDS = ("auto", "exact", "hnsw")
VECTOR_TYPES = ("vector", "halfvec")  # how PostgreSQL stores chunk vectors
_CHUNKING_KEYS = ("max_tokens", "overlap", "truncate")
_HNSW_KEYS = ("m", "ef_construction", "ef_search")


@dataclass(frozen=True, slots=True)
class Chunking:
    """How long documents become chunks: at ``max_tokens`` (default: the model's limit)
    with ``overlap`` tokens shared by neighbours, or cut once (``truncate``, MTEB's policy)."""

    max_tokens: int | None = None
    overlap: int = 32
    truncate: bool = False

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Chunking:
        data = dict(data or {})
        unknown = set(data) - set(_CHUNKING_KEYS)
        if unknown:
            raise InputError(
                f"unknown chunking option(s) {sorted(unknown)}; use {', '.join(_CHUNKING_KEYS)}"
            )
        return cls(**data)

    def as_dict(self) -> dict[str, Any]:
        return {"max_tokens": self.max_tokens, "overlap": self.overlap, "truncate": self.truncate}


@dataclass(frozen=True, slots=True)
class HnswSettings:
    """HNSW graph settings (FAISS on SQLite, pgvector on PostgreSQL): ``m`` links per node,
    ``ef_construction`` beam while building, ``ef_search`` beam while searching."""

    m: int = DEFAULT_M
    ef_construction: int = DEFAULT_EF_CONSTRUCTION
    ef_search: int = DEFAULT_EF_SEARCH

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> HnswSettings:
        data = dict(data or {})
        unknown = set(data) - set(_HNSW_KEYS)
        if unknown:
            raise InputError(
                f"unknown hnsw setting(s) {sorted(unknown)}; use {', '.join(_HNSW_KEYS)}"
            )
        for key, value in data.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(f"hnsw {key} must be a positive integer, got {value!r}")
        return cls(**data)

    def as_dict(self) -> dict[str, int]:
        return {"m": self.m, "ef_construction": self.ef_construction, "ef_search": self.ef_search}


@dataclass(frozen=True, slots=True)
class CollectionConfig:
    """A collection's record. ``model`` is None for a collection of the caller's own vectors;
    ``dim`` is the stored vector size, ``dims`` the Matryoshka truncation asked for."""

    metric: str
    normalize: bool
    dim: int
    model: str | None = None
    model_id: str | None = None
    fingerprint: str | None = None
    dims: int | None = None
    max_tokens: int | None = None
    prompts: tuple[tuple[str, str], ...] | None = None
    chunking: Chunking = field(default_factory=Chunking)
    index: str = "auto"
    hnsw: HnswSettings = field(default_factory=HnswSettings)
    vector_type: str | None = None  # PostgreSQL only: "vector" or "halfvec"
    format: int = CONFIG_VERSION

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise InputError(f"unknown metric {self.metric!r}; use one of {list(METRICS)}")
        if self.index not in INDEX_KINDS:
            raise InputError(f"unknown index {self.index!r}; use one of {list(INDEX_KINDS)}")
        if self.vector_type is not None and self.vector_type not in VECTOR_TYPES:
            raise InputError(
                f"unknown vector type {self.vector_type!r}; use one of {list(VECTOR_TYPES)}"
            )

    @property
    def has_model(self) -> bool:
        return self.model is not None

    @property
    def prompt_map(self) -> dict[str, str]:
        return dict(self.prompts or ())

    @property
    def space(self) -> str:
        """How vector indexes compare: inner product, or L2 for the euclidean metric."""
        return "l2" if self.metric == "euclidean" else "ip"

    def replace(self, **changes: Any) -> CollectionConfig:
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CollectionConfig:
        index = data.get("index") or {}
        prompts = data.get("prompts")
        return cls(
            metric=str(data["metric"]),
            normalize=bool(data["normalize"]),
            dim=int(data["dim"]),
            model=data.get("model"),
            model_id=data.get("model_id"),
            fingerprint=data.get("fingerprint"),
            dims=data.get("dims"),
            max_tokens=data.get("max_tokens"),
            prompts=None if prompts is None else tuple(sorted(prompts.items())),
            chunking=Chunking.from_dict(data.get("chunking")),
            index=str(index.get("kind", "auto")),
            hnsw=HnswSettings.from_dict(index.get("hnsw")),
            vector_type=index.get("vector_type"),
            format=int(data.get("format", CONFIG_VERSION)),
        )

    def as_dict(self) -> dict[str, Any]:
        """The JSON record, shaped as semkit has always written it."""
        index: dict[str, Any] = {"kind": self.index, "hnsw": self.hnsw.as_dict()}
        if self.vector_type is not None:
            index["vector_type"] = self.vector_type
        out: dict[str, Any] = {
            "format": self.format,
            "metric": self.metric,
            "normalize": self.normalize,
            "chunking": self.chunking.as_dict(),
            "index": index,
            "model": self.model,
            "model_id": self.model_id,
            "fingerprint": self.fingerprint,
            "dim": self.dim,
            "dims": self.dims,
        }
        if self.model is not None:
            out["max_tokens"] = self.max_tokens
            out["prompts"] = self.prompt_map
        return out
