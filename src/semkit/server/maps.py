"""Collection maps for the web UI, built once per collection version and kept.

Builds run on background threads: one for PCA maps (a second or two), one for UMAP and
t-SNE (UMAP keeps a core busy for a while; two such builds at once would only slow each
other), so a PCA map never waits behind a UMAP one. ``method="auto"`` never makes a client wait for UMAP:
it answers with the PCA map (a second or two) while the UMAP map is built, and says so
(``pending``); the client asks again later. Without umap-learn, auto means PCA.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

from semkit.analysis.collection_map import MAX_POINTS, CollectionMap, build_map

if TYPE_CHECKING:
    from semkit.server.database import DatabaseService

log = logging.getLogger("semkit.server")

KEEP = 8  # maps kept in memory (a 10k-point map holds ~16 MB of vectors)
Key = tuple[str, str, str, int]  # collection, version, method, clusters


def umap_available() -> bool:
    return importlib.util.find_spec("umap") is not None


class MapService:
    def __init__(self, database: DatabaseService, *, max_points: int = MAX_POINTS) -> None:
        self.database = database
        self.max_points = max_points
        self._builders = {
            "pca": ThreadPoolExecutor(1, thread_name_prefix="semkit-map-pca"),
            "slow": ThreadPoolExecutor(1, thread_name_prefix="semkit-map"),
        }
        self._lock = threading.Lock()
        self._maps: OrderedDict[Key, Future[CollectionMap]] = OrderedDict()

    def get(self, name: str, method: str, clusters: int) -> tuple[CollectionMap, str | None]:
        """The map of collection ``name`` as it is now, and the method still being built
        (``auto`` only). Blocks the calling thread while its map is built."""
        coll = self.database.collection(name)
        version = coll.version()
        if method == "auto":
            if not umap_available():
                return self._future((name, version, "pca", clusters)).result(), None
            pca_future = self._future((name, version, "pca", clusters))
            better = self._future((name, version, "umap", clusters), retry=False)
            if better.done() and better.exception() is None:
                return better.result(), None
            pca = pca_future.result()
            return pca, None if better.done() else "umap"
        return self._future((name, version, method, clusters)).result(), None

    def _future(self, key: Key, retry: bool = True) -> Future[CollectionMap]:
        """The build of ``key``: started now, running, or done (a failed one is started
        again if ``retry``)."""
        with self._lock:
            future = self._maps.get(key)
            failed = future is not None and future.done() and future.exception() is not None
            if future is None or (failed and retry):
                builder = self._builders["pca" if key[2] == "pca" else "slow"]
                future = builder.submit(self._build, key)
                self._maps[key] = future
            self._maps.move_to_end(key)
            while len(self._maps) > KEEP:
                self._maps.popitem(last=False)
            return future

    def _build(self, key: Key) -> CollectionMap:
        name, _, method, clusters = key
        coll = self.database.collection(name)
        return build_map(coll, method, max_points=self.max_points, clusters=clusters)

    def close(self) -> None:
        for builder in self._builders.values():
            builder.shutdown(wait=False, cancel_futures=True)
