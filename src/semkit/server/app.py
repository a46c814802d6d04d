"""``create_app(settings)``: the FastAPI application behind ``semkit serve``.

The app is assembled from small routers (operations, OpenAI-compatible embeddings,
collections) around one ``ServerState``; other parts (a web UI, more routes, static files)
extend it the same way: ``app.include_router(...)`` or ``app.mount(...)`` on the returned
app, with ``request.app.state.semkit`` for the models and the database.

Start-up loads the served model in the background (``/ready`` says when); shutdown
(SIGTERM under uvicorn) lets requests in flight finish, runs what is queued, then saves
and closes the database.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from semkit import __version__
from semkit.server import (
    collection_routes,
    errors,
    map_routes,
    openai_routes,
    ops_routes,
    webui,
)
from semkit.server.limits import BodyLimit
from semkit.server.metrics import RequestMetrics
from semkit.server.settings import ServerSettings
from semkit.server.state import ServerState

DESCRIPTION = """Local, offline embeddings and semantic search.

* `/v1/embeddings`, `/v1/models`: OpenAI-compatible (point any OpenAI client at `/v1`).
* `/v1/collections/...`: create, add, upsert, get, delete, search, more-like-this and RAG
  context over semkit collections.
* `/v1/collections/{name}/map`, `.../map/place`: 2-D maps of collections (the web UI's).
* `/`: a web UI to search and explore collections (`/ui/`: its assets).
* `/health`, `/ready`, `/metrics` (Prometheus).

Errors have OpenAI's shape: `{"error": {"message", "type", "param", "code"}}`.
"""


def create_app(settings: ServerSettings | None = None) -> FastAPI:
    state = ServerState(settings or ServerSettings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        threading.Thread(target=state.warm_up, name="semkit-warm-up", daemon=True).start()
        try:
            yield
        finally:
            await run_in_threadpool(state.close)

    app = FastAPI(
        title="semkit",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.semkit = state
    errors.install(app)
    app.include_router(ops_routes.router)
    app.include_router(openai_routes.router)
    app.include_router(collection_routes.router)
    app.include_router(map_routes.router)
    webui.install(app)
    # outermost first: every request is counted, then its size is checked
    app.add_middleware(BodyLimit, max_bytes=state.settings.max_body_bytes)
    app.add_middleware(RequestMetrics, metrics=state.metrics)
    return app
