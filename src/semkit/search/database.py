"""``semkit.open(path)``: a database directory holding any number of collections.

Layout: ``<path>/semkit.db`` (SQLite, WAL: documents, vectors, lexical index, the
collection records) and ``<path>/indexes/`` (HNSW files, derived and rebuildable).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from semkit.embedding.cache import EmbeddingCache
from semkit.embedding.embedder import Embedder
from semkit.errors import InputError, ModelError, NotFoundError, StoreError
from semkit.index.hnsw import DEFAULT_EF_CONSTRUCTION, DEFAULT_EF_SEARCH, DEFAULT_M
from semkit.index.sync import INDEX_KINDS
from semkit.search.collection import Collection, WriteReport
from semkit.similarity import METRICS
from semkit.store.sqlite import CollectionRecord, Store

DB_FILE = "semkit.db"
CONFIG_VERSION = 1
_NAME = re.compile(r"^[\w][\w.\-]{0,127}$", re.UNICODE)
_UNSET: Any = object()


def open_database(
    path: str | Path,
    *,
    timeout: float = 30.0,
    cache: bool | str | Path | EmbeddingCache = True,
    backend: str | None = None,
) -> Database:
    """Open (or create) the database directory at ``path``.

    ``backend`` chooses the local inference path of the collections' models (default:
    the ``backend`` setting, "auto")."""
    return Database(path, timeout=timeout, cache=cache, backend=backend)


class Database:
    def __init__(
        self,
        path: str | Path,
        *,
        timeout: float = 30.0,
        cache: bool | str | Path | EmbeddingCache = True,
        backend: str | None = None,
    ) -> None:
        self.path = Path(path).expanduser()
        self._backend = backend
        if self.path.exists() and not self.path.is_dir():
            raise StoreError(f"{self.path} is a file; a semkit database is a directory")
        self.path.mkdir(parents=True, exist_ok=True)
        self.index_dir = self.path / "indexes"
        self.index_dir.mkdir(exist_ok=True)
        self.store = Store(self.path / DB_FILE, timeout=timeout)
        self._cache = cache
        self._open: dict[str, Collection] = {}

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Database({str(self.path)!r})"

    # --- collections ----------------------------------------------------------------------
    def collections(self) -> list[str]:
        return [r.name for r in self.store.collections()]

    def collection(
        self,
        name: str,
        model: Any = _UNSET,
        dims: Any = _UNSET,
        metric: Any = _UNSET,
        *,
        index: str | None = None,
        chunking: dict[str, Any] | None = None,
        embedder: Embedder | None = None,
        create: bool = True,
    ) -> Collection:
        """Open the collection ``name``, creating it if needed.

        New collections: ``model`` ("default" unless given; ``None`` for a vector-only
        collection, which needs ``dims``), ``dims`` (Matryoshka truncation, or the
        vector size without a model), ``metric`` ("cosine", "dot", "euclidean"),
        ``index`` ("auto", "exact", "hnsw"), ``chunking`` ({"max_tokens", "overlap",
        "truncate"}). Existing collections keep what they recorded; asking for a
        different model, dims or metric is an error (``reindex`` changes the model).
        """
        if not isinstance(name, str) or not _NAME.match(name):
            raise InputError(
                f"invalid collection name {name!r}: use up to 128 letters, digits, "
                f"'_', '-' or '.', starting with a letter or digit"
            )
        record = self.store.collection(name)
        if record is None:
            if not create:
                raise NotFoundError(
                    f"no collection {name!r} in {self.path}; collections: "
                    f"{', '.join(self.collections()) or 'none'}"
                )
            record = self._create(name, model, dims, metric, index, chunking, embedder)
        else:
            self._check_request(record, model, dims, metric)
        if index is not None and index != record.config["index"]["kind"]:
            self._set_index_kind(record, index)
            record = self.store.collection(name) or record
        cached = self._open.get(name)
        if cached is not None and cached.record.id == record.id and embedder is None:
            return cached
        coll = Collection(self, record, self._embedder_for(record, embedder))
        self._open[name] = coll
        return coll

    def _create(
        self,
        name: str,
        model: Any,
        dims: Any,
        metric: Any,
        index: str | None,
        chunking: dict[str, Any] | None,
        embedder: Embedder | None,
    ) -> CollectionRecord:
        metric = "cosine" if metric is _UNSET else metric
        if metric not in METRICS:
            raise InputError(f"unknown metric {metric!r}; use one of {list(METRICS)}")
        kind = index or "auto"
        if kind not in INDEX_KINDS:
            raise InputError(f"unknown index {kind!r}; use one of {list(INDEX_KINDS)}")
        dims = None if dims is _UNSET else dims
        model = "default" if model is _UNSET and embedder is None else model
        chunk_cfg = {"max_tokens": None, "overlap": 32, "truncate": False, **(chunking or {})}
        unknown = set(chunk_cfg) - {"max_tokens", "overlap", "truncate"}
        if unknown:
            raise InputError(
                f"unknown chunking option(s) {sorted(unknown)}; use max_tokens, overlap, truncate"
            )
        config: dict[str, Any] = {
            "format": CONFIG_VERSION,
            "metric": metric,
            "normalize": metric == "cosine",
            "chunking": chunk_cfg,
            "index": {
                "kind": kind,
                "hnsw": {
                    "m": DEFAULT_M,
                    "ef_construction": DEFAULT_EF_CONSTRUCTION,
                    "ef_search": DEFAULT_EF_SEARCH,
                },
            },
        }
        if embedder is None and model is None:
            if not isinstance(dims, int) or dims < 1:
                raise InputError("a collection without a model needs dims=<vector size>")
            config.update(
                {"model": None, "model_id": None, "fingerprint": None, "dim": dims, "dims": None}
            )
        else:
            emb = embedder or self._new_embedder(model, dims, config["normalize"])
            config.update(self._model_record(emb, None if embedder else model))
        return self.store.create_collection(name, config)

    def _new_embedder(self, model: Any, dims: int | None, normalize: bool) -> Embedder:
        options = {"backend": self._backend} if self._backend else {}
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
        return {
            "model": model_spec,
            "model_id": info["model_id"],
            "fingerprint": info["fingerprint"],
            "dim": info["dim"],
            "dims": info["dims"],
            "max_tokens": info["max_tokens"],
            "prompts": info["prompts"],
        }

    def _check_request(self, record: CollectionRecord, model: Any, dims: Any, metric: Any) -> None:
        cfg = record.config
        if metric is not _UNSET and metric != cfg["metric"]:
            raise InputError(
                f"collection {record.name!r} uses metric {cfg['metric']!r}, not {metric!r}"
            )
        if dims is not _UNSET and dims != (cfg["dims"] if cfg["model"] else cfg["dim"]):
            raise InputError(
                f"collection {record.name!r} has dims={cfg['dims'] or cfg['dim']}, not {dims}"
            )
        if model is _UNSET:
            return
        if (model is None) != (cfg["model"] is None):
            raise ModelError(
                f"collection {record.name!r} "
                + (
                    "has no model (it holds your own vectors)"
                    if cfg["model"] is None
                    else f"embeds with {cfg['model_id']}"
                )
            )
        if model is not None:
            fingerprint = self._new_embedder(model, cfg["dims"], cfg["normalize"]).fingerprint
            if fingerprint != cfg["fingerprint"]:
                raise ModelError(
                    f"collection {record.name!r} was built with {cfg['model_id']} "
                    f"(fingerprint {cfg['fingerprint']}), not {model} ({fingerprint}); vectors "
                    f"of different models cannot be mixed. Open it without model=, or re-embed "
                    f"it with `semkit reindex {record.name} --model {model}`"
                )

    def _embedder_for(self, record: CollectionRecord, given: Embedder | None) -> Embedder | None:
        cfg = record.config
        if cfg["model"] is None:
            if given is not None:
                raise ModelError(
                    f"collection {record.name!r} has no model; it cannot take an embedder"
                )
            return None
        emb = given or self._new_embedder(cfg["model"], cfg["dims"], cfg["normalize"])
        if (
            emb.fingerprint != cfg["fingerprint"]
            or emb.dims != cfg["dims"]
            or (emb.normalize_embeddings != cfg["normalize"])
        ):
            raise ModelError(
                f"collection {record.name!r} was built with {cfg['model_id']} (fingerprint "
                f"{cfg['fingerprint']}, dims={cfg['dims']}, normalize={cfg['normalize']}); "
                f"the model now gives fingerprint {emb.fingerprint}, dims={emb.dims}. Re-embed "
                f"it on purpose with `semkit reindex {record.name} --model ...`"
            )
        return emb

    def _set_index_kind(self, record: CollectionRecord, kind: str) -> None:
        if kind not in INDEX_KINDS:
            raise InputError(f"unknown index {kind!r}; use one of {list(INDEX_KINDS)}")
        config = dict(record.config)
        config["index"] = {**config["index"], "kind": kind}
        self.store.set_config(record.id, config)
        self._open.pop(record.name, None)

    def drop(self, name: str) -> None:
        record = self.store.collection(name)
        if record is None:
            raise NotFoundError(f"no collection {name!r} in {self.path}")
        coll = self._open.pop(name, None)
        self.store.drop_collection(record.id)
        (self.index_dir / f"collection-{record.id}.hnsw").unlink(missing_ok=True)
        if coll is not None:
            coll.vectors.drop_file()

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
        if isinstance(model, Embedder):
            new = self.collection(
                staging, embedder=model, metric=coll.metric, chunking=coll.config["chunking"]
            )
        else:
            new = self.collection(
                staging,
                model=model,
                dims=dims,
                metric=coll.metric,
                chunking=coll.config["chunking"],
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
        old_id, new_id = coll.record.id, new.record.id
        with self.store.write() as db:
            db.execute("DELETE FROM collections WHERE id = ?", (old_id,))
            db.execute("DELETE FROM chunks WHERE collection_id = ?", (old_id,))
            db.execute("DELETE FROM documents WHERE collection_id = ?", (old_id,))
            db.execute(f"DROP TABLE IF EXISTS fts_{int(old_id)}")
            db.execute(
                "UPDATE collections SET name = ?, version = version + 1 WHERE id = ?",
                (coll.name, new_id),
            )
        (self.index_dir / f"collection-{old_id}.hnsw").unlink(missing_ok=True)
        self._open.pop(coll.name, None)
        self._open.pop(staging, None)
        return WriteReport(
            [i for r in reports for i in r.ids],
            sum(r.written for r in reports),
            sum(r.unchanged for r in reports),
            0,
            sum(r.embedded for r in reports),
        )

    # --- whole database -------------------------------------------------------------------
    def verify(self) -> dict[str, list[str]]:
        """Problems per collection (and "database" for the file itself); empty lists: clean."""
        report = {"database": self.store.quick_check()}
        for name in self.collections():
            report[name] = self.collection(name).verify()
        return report

    def compact(self) -> None:
        """Reclaim disk after deletes: rebuild HNSW files without tombstones, VACUUM."""
        for name in self.collections():
            coll = self.collection(name)
            if coll.vectors.path.exists() or coll.vectors.kind == "hnsw":
                coll.rebuild_index()
        self.store.compact()

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.path.rglob("*") if p.is_file())

    def close(self) -> None:
        for coll in self._open.values():
            coll.flush()
        self._open.clear()
        self.store.close()
