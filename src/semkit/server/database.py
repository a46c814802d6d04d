"""The server's database: collections opened once and wired to the shared models.

Reads (info, get, search, more-like-this, context) run on a thread pool, several at once.
Writes (create, add, upsert, delete, drop) run one at a time, in arrival order, on a single
writer thread, so the server never races itself for the database's write lock; the
library makes each write a committed transaction. ``semkit.open`` hides where the data
lives, so the server does not care which storage backend a database uses.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import semkit
from semkit.search import Collection
from semkit.server.models import Models

T = TypeVar("T")
_UNSET: Any = object()


class DatabaseService:
    def __init__(
        self, path: str | Path, models: Models, *, read_threads: int = 16, timeout: float = 30.0
    ) -> None:
        self.models = models
        self.db = semkit.open(path, timeout=timeout, cache=models.cache or False)
        self._reader = ThreadPoolExecutor(read_threads, thread_name_prefix="semkit-read")
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="semkit-write")
        self._open: dict[str, Collection] = {}
        self._lock = threading.RLock()

    # --- where work runs ------------------------------------------------------------------
    async def read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._reader, functools.partial(fn, *args, **kwargs))

    async def write(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._writer, functools.partial(fn, *args, **kwargs))

    # --- collections ----------------------------------------------------------------------
    def names(self) -> list[str]:
        return self.db.collections()

    def collection(self, name: str) -> Collection:
        """The open collection ``name`` (``NotFoundError`` if there is none), embedding with
        the server's shared model."""
        with self._lock:
            coll = self._open.get(name)
            if coll is None:
                coll = self._open[name] = self._wire(self.db.collection(name, create=False))
            return coll

    def _wire(self, coll: Collection) -> Collection:
        info = coll.info()
        if info["model"] is None:  # vectors without a model
            return coll
        provider = self.models.provider(info["model"])
        embedder = self.models.embedder(provider, info["dims"], info["normalize"])
        return self.db.collection(coll.name, embedder=embedder)

    def create(
        self,
        name: str,
        *,
        model: Any = _UNSET,
        dims: Any = _UNSET,
        metric: Any = _UNSET,
        index: str | None = None,
        chunking: dict[str, Any] | None = None,
    ) -> tuple[Collection, bool]:
        """Open or create ``name`` as the Python API does; True if it was created."""
        options = {
            k: v
            for k, v in {"model": model, "dims": dims, "metric": metric}.items()
            if v is not _UNSET
        }
        if options.get("model") is not None and "model" in options:
            self.models.check_spec(str(options["model"]))
        with self._lock:
            existed = name in self.db.collections()
            self._open.pop(name, None)
            self.db.collection(name, index=index, chunking=chunking, **options)
            return self.collection(name), not existed

    def drop(self, name: str) -> None:
        with self._lock:
            self._open.pop(name, None)
            self.db.drop(name)

    def close(self) -> None:
        """Finish the work in hand, then close the database (saving index files)."""
        self._writer.shutdown(wait=True)
        self._reader.shutdown(wait=True)
        with self._lock:
            self._open.clear()
            self.db.close()
