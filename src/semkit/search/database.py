"""``semkit.open(location)``: a database holding any number of collections.

``location`` is a directory (SQLite + FAISS, ``semkit.search.backends.sqlite``) or a
``postgresql://`` URL (PostgreSQL + pgvector, ``semkit.search.backends.postgres``).
``Database`` keeps what is the same on every backend: names, model records and the
checks that refuse to mix vectors of different models, dims or metrics.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from semkit import config as settings
from semkit.embedding.cache import EmbeddingCache
from semkit.embedding.embedder import Embedder
from semkit.errors import InputError, ModelError, NotFoundError
from semkit.search.backends.base import Backend, CollectionRecord
from semkit.search.collection import Collection, WriteReport
from semkit.search.config import Chunking, CollectionConfig, HnswSettings

_NAME = re.compile(r"^[\w][\w.\-]{0,127}$", re.UNICODE)
_UNSET: Any = object()
URL_SCHEMES = ("postgresql://", "postgres://")


def is_url(location: str | Path) -> bool:
    return isinstance(location, str) and location.startswith(URL_SCHEMES)


def open_database(
    location: str | Path,
    *,
    create: bool = True,
    timeout: float = 30.0,
    cache: bool | str | Path | EmbeddingCache = True,
    backend: str | None = None,
) -> Database:
    """Open the database at ``location``: a directory, or a ``postgresql://`` URL.

    ``create=False`` refuses a directory that holds no semkit database (a mistyped
    path) with ``NotFoundError`` instead of creating one. ``backend`` chooses the local
    inference path of the collections' models (default: the ``backend`` setting, "auto").
    """
    return Database(location, create=create, timeout=timeout, cache=cache, backend=backend)


def _open_backend(location: str | Path, create: bool, timeout: float) -> Backend:
    if is_url(location):
        from semkit.search.backends.postgres import PostgresBackend

        return PostgresBackend(str(location), create=create, timeout=timeout)
    from semkit.search.backends.sqlite import SqliteBackend, is_database

    path = Path(location).expanduser()
    if not create and not is_database(path):
        raise NotFoundError(
            f"no semkit database at {path}; check the path (--db / $SEMKIT_DB), or "
            f"create one by adding documents (`semkit add COLLECTION FILE --db {path}`)"
        )
    return SqliteBackend(path, timeout=timeout)


class Database:
    def __init__(
        self,
        location: str | Path,
        *,
        create: bool = True,
        timeout: float = 30.0,
        cache: bool | str | Path | EmbeddingCache = True,
        backend: str | None = None,
    ) -> None:
        self.backend = _open_backend(location, create, timeout)
        self.location = self.backend.location
        self.path: Path | None = getattr(self.backend, "path", None)
        self._backend = backend
        self._cache = cache
        self._open: dict[str, Collection] = {}

    @property
    def backend_name(self) -> str:
        return self.backend.name

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Database({self.location!r})"

    # --- collections ----------------------------------------------------------------------
    def collections(self) -> list[str]:
        return [r.name for r in self.backend.records()]

    def collection(
        self,
        name: str,
        model: Any = _UNSET,
        dims: Any = _UNSET,
        metric: Any = _UNSET,
        *,
        index: str | None = None,
        chunking: dict[str, Any] | None = None,
        hnsw: dict[str, int] | None = None,
        vector_type: str | None = None,
        embedder: Embedder | None = None,
        create: bool = True,
    ) -> Collection:
        """Open the collection ``name``, creating it if needed.

        New collections: ``model`` (the ``model`` setting unless given; ``None`` for a vector-only
        collection, which needs ``dims``), ``dims`` (Matryoshka truncation, or the
        vector size without a model), ``metric`` ("cosine", "dot", "euclidean"),
        ``index`` ("auto", "exact", "hnsw"), ``chunking`` ({"max_tokens", "overlap",
        "truncate"}), ``hnsw`` ({"m", "ef_construction", "ef_search"}), ``vector_type``
        (PostgreSQL: "vector", float32, or "halfvec", float16 at half the size).
        Existing collections keep what they recorded; asking for a different model,
        dims or metric is an error (``reindex`` changes the model). ``index`` and
        ``hnsw`` may change an existing collection's index (it is rebuilt).
        """
        if not isinstance(name, str) or not _NAME.match(name):
            raise InputError(
                f"invalid collection name {name!r}: use up to 128 letters, digits, "
                f"'_', '-' or '.', starting with a letter or digit"
            )
        record = self.backend.record(name)
        if record is None:
            if not create:
                raise NotFoundError(
                    f"no collection {name!r} in {self.location}; collections: "
                    f"{', '.join(self.collections()) or 'none'}"
                )
            config = self._new_config(
                model, dims, metric, index, chunking, hnsw, vector_type, embedder
            )
            record = self.backend.create(name, config)
        else:
            self._check_request(record, model, dims, metric)
            changed = record.config.replace(
                index=index or record.config.index,
                hnsw=HnswSettings.from_dict({**record.config.hnsw.as_dict(), **(hnsw or {})}),
            )
            if changed != record.config:
                record = self.backend.set_config(record, changed)
                self._open.pop(name, None)
        cached = self._open.get(name)
        if cached is not None and cached.record.id == record.id and embedder is None:
            return cached
        coll = Collection(
            self, record, self.backend.open_store(record), self._embedder_for(record, embedder)
        )
        self._open[name] = coll
        return coll

    def _new_config(
        self,
        model: Any,
        dims: Any,
        metric: Any,
        index: str | None,
        chunking: dict[str, Any] | None,
        hnsw: dict[str, int] | None,
        vector_type: str | None,
        embedder: Embedder | None,
    ) -> CollectionConfig:
        metric = "cosine" if metric is _UNSET else metric
        dims = None if dims is _UNSET else dims
        if model is _UNSET and embedder is None:
            model = settings.get("model")
        common: dict[str, Any] = {
            "metric": metric,
            "normalize": metric == "cosine",
            "chunking": Chunking.from_dict(chunking),
            "index": index or "auto",
            "hnsw": HnswSettings.from_dict({**self.backend.default_hnsw, **(hnsw or {})}),
            "vector_type": vector_type or self.backend.vector_types[0],
        }
        CollectionConfig(dim=1, **common)  # check the options before loading a model
        if common["vector_type"] not in self.backend.vector_types:
            raise InputError(
                f"vector_type={vector_type!r} is not available on {self.backend.name} "
                f"(it stores {' or '.join(str(t or 'float32') for t in self.backend.vector_types)})"
            )
        if embedder is None and model is None:
            if isinstance(dims, bool) or not isinstance(dims, int) or dims < 1:
                raise InputError("a collection without a model needs dims=<vector size>")
            return CollectionConfig(dim=dims, **common)
        emb = embedder or self._new_embedder(model, dims, common["normalize"])
        return CollectionConfig(**self._model_record(emb, None if embedder else model), **common)

    def _new_embedder(self, model: Any, dims: int | None, normalize: bool) -> Embedder:
        options: dict[str, Any] = {"backend": self._backend} if self._backend else {}
        return Embedder(
            model, dims=dims, normalize_embeddings=normalize, cache=self._cache, **options
        )

    @staticmethod
    def _model_record(emb: Embedder, spec: Any) -> dict[str, Any]:
        info = emb.describe()
        model_spec = str(spec) if spec is not None else info["model_id"]
        path = Path(model_spec).expanduser()
        if path.exists():  # a directory: record where it is, wherever the user was
            model_spec = str(path.resolve())
        prompts = info["prompts"]
        return {
            "model": model_spec,
            "model_id": info["model_id"],
            "fingerprint": info["fingerprint"],
            "dim": info["dim"],
            "dims": info["dims"],
            "max_tokens": info["max_tokens"],
            "prompts": tuple(sorted(prompts.items())) if prompts is not None else None,
        }

    def _check_request(self, record: CollectionRecord, model: Any, dims: Any, metric: Any) -> None:
        cfg = record.config
        if metric is not _UNSET and metric != cfg.metric:
            raise InputError(
                f"collection {record.name!r} uses metric {cfg.metric!r}, not {metric!r}"
            )
        if dims is not _UNSET and dims != (cfg.dims if cfg.model else cfg.dim):
            raise InputError(
                f"collection {record.name!r} has dims={cfg.dims or cfg.dim}, not {dims}"
            )
        if model is _UNSET:
            return
        if (model is None) != (cfg.model is None):
            raise ModelError(
                f"collection {record.name!r} "
                + (
                    "has no model (it holds your own vectors)"
                    if cfg.model is None
                    else f"embeds with {cfg.model_id}"
                )
            )
        if model is not None:
            fingerprint = self._new_embedder(model, cfg.dims, cfg.normalize).fingerprint
            if fingerprint != cfg.fingerprint:
                raise ModelError(
                    f"collection {record.name!r} was built with {cfg.model_id} "
                    f"(fingerprint {cfg.fingerprint}), not {model} ({fingerprint}); vectors "
                    f"of different models cannot be mixed. Open it without model=, or re-embed "
                    f"it with `semkit reindex {record.name} --model {model}`"
                )

    def _embedder_for(self, record: CollectionRecord, given: Embedder | None) -> Embedder | None:
        cfg = record.config
        if cfg.model is None:
            if given is not None:
                raise ModelError(
                    f"collection {record.name!r} has no model; it cannot take an embedder"
                )
            return None
        emb = given or self._new_embedder(cfg.model, cfg.dims, cfg.normalize)
        if (
            emb.fingerprint != cfg.fingerprint
            or emb.dims != cfg.dims
            or (emb.normalize_embeddings != cfg.normalize)
        ):
            raise ModelError(
                f"collection {record.name!r} was built with {cfg.model_id} (fingerprint "
                f"{cfg.fingerprint}, dims={cfg.dims}, normalize={cfg.normalize}); "
                f"the model now gives fingerprint {emb.fingerprint}, dims={emb.dims}. Re-embed "
                f"it on purpose with `semkit reindex {record.name} --model ...`"
            )
        return emb

    def create_like(self, name: str, config: CollectionConfig) -> Collection:
        """A new, empty collection recording ``config`` (a copy's target): the model it
        names is not loaded until the collection embeds text."""
        if not _NAME.match(name):
            raise InputError(f"invalid collection name {name!r}")
        if self.backend.record(name) is not None:
            raise InputError(f"collection {name!r} already exists in {self.location}")
        types = self.backend.vector_types
        kept = config.vector_type if config.vector_type in types else types[0]
        self.backend.create(name, config.replace(vector_type=kept))
        return self.collection(name)

    def drop(self, name: str) -> None:
        record = self.backend.record(name)
        if record is None:
            raise NotFoundError(f"no collection {name!r} in {self.location}")
        self._open.pop(name, None)
        self.backend.drop(record)

    def reindex(
        self,
        coll: Collection,
        model: str | Embedder,
        *,
        dims: int | None = None,
        show_progress_bar: bool | None = None,
    ) -> WriteReport:
        """Re-embed ``coll`` into a fresh collection, then swap it in with one commit.

        Interrupted, it can be re-run: the staging collection keeps what was done.
        """
        staging = f"{coll.name}.reindex"
        chunking = coll.config.chunking.as_dict()
        if isinstance(model, Embedder):
            new = self.collection(staging, embedder=model, metric=coll.metric, chunking=chunking)
        else:
            new = self.collection(
                staging, model=model, dims=dims, metric=coll.metric, chunking=chunking
            )
        from semkit.text.io import Record

        total = coll.count()
        offset = 0
        reports = []
        while offset < total:
            docs = coll.get(limit=1000, offset=offset)
            reports.append(new.add_records(Record(d.text or "", d.id, d.metadata) for d in docs))
            offset += len(docs)
            if not docs:
                break
        new.flush()
        self.backend.swap(coll.record, new.record)
        self._open.pop(coll.name, None)
        self._open.pop(staging, None)
        report = WriteReport.total(reports)
        return WriteReport(report.ids, report.written, report.unchanged, 0, report.embedded)

    # --- whole database -------------------------------------------------------------------
    def verify(self) -> dict[str, list[str]]:
        """Problems per collection (and "database" for the database itself); empty: clean."""
        report = {"database": self.backend.verify()}
        for name in self.collections():
            report[name] = self.collection(name).verify()
        return report

    def compact(self) -> None:
        """Reclaim disk after deletes: rebuild HNSW indexes without tombstones, then the
        backend's own compaction (SQLite: VACUUM)."""
        for name in self.collections():
            coll = self.collection(name)
            if coll.info()["index_kind"] == "hnsw":
                coll.rebuild_index()
        self.backend.compact()

    def size_bytes(self) -> int:
        return self.backend.size_bytes()

    def close(self) -> None:
        for coll in self._open.values():
            coll.flush()
        self._open.clear()
        self.backend.close()
