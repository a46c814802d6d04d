"""What one running server holds: its settings, models, database, queue bound and metrics.

Routes reach it as ``request.app.state.semkit`` (``state_of(request)``).
"""

from __future__ import annotations

import logging
import threading

from starlette.requests import Request

from semkit.embedding import EmbeddingCache
from semkit.server.auth import Keys
from semkit.server.batcher import Admission
from semkit.server.database import DatabaseService
from semkit.server.maps import MapService
from semkit.server.metrics import ServerMetrics
from semkit.server.models import BatchSettings, Models
from semkit.server.settings import ServerSettings
from semkit.server.token_ids import TokenDecoder

log = logging.getLogger("semkit.server")


class ServerState:
    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self.keys = Keys(settings.api_keys, settings.read_only_keys)
        self.metrics = ServerMetrics()
        self.admission = Admission(settings.max_queue)
        self.token_decoder = TokenDecoder()
        self.ready = threading.Event()
        self.cache = EmbeddingCache() if settings.cache else None

        def observe(texts: int, tokens: int, seconds: float) -> None:
            self.metrics.batch(texts, tokens, seconds)
            self.admission.observe(texts, seconds)

        self.models = Models(
            settings.model,
            aliases=settings.model_names,
            cache=self.cache,
            backend=settings.backend,
            batching=BatchSettings(settings.max_batch_tokens, settings.max_batch_texts),
            observer=observe,
        )
        try:
            self.database = DatabaseService(
                settings.db,
                self.models,
                read_threads=settings.read_threads,
                timeout=settings.lock_timeout,
            )
        except BaseException:
            self.models.close()
            raise
        self.maps = MapService(self.database)
        self.metrics.watch(self.models.queued, lambda: self.admission.pending)

    def warm_up(self) -> None:
        """Load the served model (in the background at start-up); /ready answers 200 after."""
        try:
            self.models.warm_up()
        except Exception:
            log.exception("the served model failed to load; /ready stays 503")
            return
        self.ready.set()

    def close(self) -> None:
        """Finish queued and running work, then release the database, models and cache."""
        self.maps.close()
        self.database.close()
        self.models.close()
        if self.cache is not None:
            self.cache.close()


def state_of(request: Request) -> ServerState:
    state: ServerState = request.app.state.semkit
    return state
