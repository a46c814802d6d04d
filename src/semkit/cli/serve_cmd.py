"""`semkit serve`: run the HTTP server (OpenAI-compatible embeddings, collections API)."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from semkit.cli.collections import DbOpt
from semkit.cli.common import BackendOpt

_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def serve(
    db: DbOpt = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="Model served at /v1/embeddings: 'default' (all-MiniLM-L6-v2), a local "
            "directory or a cached Hugging Face name (default: $SEMKIT_MODEL).",
        ),
    ] = None,
    host: Annotated[str, typer.Option(help="Address to bind; loopback by default.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    api_key: Annotated[
        list[str] | None,
        typer.Option(
            "--api-key",
            envvar="SEMKIT_API_KEYS",
            help="A read-write API key (repeat for more; $SEMKIT_API_KEYS: space-separated). "
            "With no key the server is open.",
        ),
    ] = None,
    read_only_key: Annotated[
        list[str] | None,
        typer.Option(
            "--read-only-key",
            envvar="SEMKIT_READ_ONLY_KEYS",
            help="A key that may embed, search and read but not write "
            "($SEMKIT_READ_ONLY_KEYS: space-separated).",
        ),
    ] = None,
    model_name: Annotated[
        list[str] | None,
        typer.Option(
            "--model-name",
            help="Another name the served model answers to in requests' 'model' field, "
            "e.g. text-embedding-3-small (repeatable).",
        ),
    ] = None,
    truncate: Annotated[
        bool,
        typer.Option(
            "--truncate/--no-truncate",
            help="Cut /v1/embeddings inputs over the model's limit when a request does not "
            "say (its 'truncate' field); by default they are refused with 400.",
        ),
    ] = False,
    max_queue: Annotated[
        int, typer.Option(min=1, help="Texts in progress at once; more get 429 + Retry-After.")
    ] = 4096,
    max_batch_tokens: Annotated[
        int, typer.Option(min=16, help="Padded tokens per model call (texts x longest).")
    ] = 2048,
    max_batch_texts: Annotated[int, typer.Option(min=1, help="Texts per model call.")] = 128,
    max_body_mb: Annotated[float, typer.Option(min=0.001, help="Largest request body, MiB.")] = 16,
    max_inputs: Annotated[
        int, typer.Option(min=1, help="Inputs per /v1/embeddings request.")
    ] = 2048,
    max_documents: Annotated[
        int, typer.Option(min=1, help="Documents per add/upsert request (one batch).")
    ] = 256,
    cache: Annotated[
        bool, typer.Option("--cache/--no-cache", help="Use the persistent embedding cache.")
    ] = True,
    backend: BackendOpt = None,
    graceful_timeout: Annotated[
        float,
        typer.Option(help="Seconds SIGTERM waits for requests in flight before closing."),
    ] = 30,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve embeddings (OpenAI-compatible /v1/embeddings) and the collections API over HTTP.

    Point any OpenAI client at http://HOST:PORT/v1. The API is described at /openapi.json
    and /docs. The server runs offline: it downloads nothing and calls no one.
    """
    # before anything imports huggingface_hub or transformers: nothing leaves the machine
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_DISABLE_TELEMETRY"):
        os.environ.setdefault(var, "1")
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    from semkit import config
    from semkit.server import ServerSettings, create_app  # names semkit[server] if missing

    settings = ServerSettings(
        db=str(config.value("db", db)),
        model=str(config.value("model", model)),
        model_names=tuple(model_name or ()),
        api_keys=tuple(api_key or ()),
        read_only_keys=tuple(read_only_key or ()),
        truncate=truncate,
        max_queue=max_queue,
        max_batch_tokens=max_batch_tokens,
        max_batch_texts=max_batch_texts,
        max_body_bytes=int(max_body_mb * 2**20),
        max_inputs=max_inputs,
        max_documents=max_documents,
        cache=cache,
        backend=backend,
    )
    app = create_app(settings)
    if host not in _LOOPBACK and not app.state.semkit.keys.enabled:
        sys.stderr.write(
            f"semkit: warning: serving on {host} without API keys: anyone who can reach it "
            f"can read and write (use --api-key)\n"
        )
    base = f"http://{'[' + host + ']' if ':' in host else host}:{port}"
    sys.stderr.write(
        f"semkit: serving {app.state.semkit.models.names[0]} and the collections of "
        f"{settings.db} at {base} (OpenAI base URL {base}/v1, API docs {base}/docs)\n"
    )
    import uvicorn

    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=log_level,
        timeout_graceful_shutdown=graceful_timeout,  # type: ignore[arg-type]  # a float works
        access_log=log_level == "debug",
    )
