"""What a server is started with. The CLI (`semkit serve --help`) and the README describe
the same fields; defaults are the safe ones (loopback, no long input cut silently)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ServerSettings:
    #: The database directory holding the collections.
    db: str | Path = "semkit-db"
    #: The model answering /v1/embeddings (collections use the model they were built with).
    model: str = "default"
    #: More names the served model answers to in the ``model`` field (e.g. an OpenAI name).
    model_names: tuple[str, ...] = ()
    #: Read-write API keys; with none (and no read-only keys) the server is open.
    api_keys: tuple[str, ...] = ()
    #: Read-only API keys: embed, search and read, never write.
    read_only_keys: tuple[str, ...] = ()
    #: Cut /v1/embeddings inputs over the model's limit when a request does not say
    #: (its ``truncate`` field); otherwise they are refused with 400.
    truncate: bool = False
    #: Texts admitted at once (queued or being embedded); more get 429 with Retry-After.
    max_queue: int = 4096
    #: Padded tokens (texts x longest text) per model call.
    max_batch_tokens: int = 2048
    #: Texts per model call.
    max_batch_texts: int = 128
    #: Largest request body, in bytes.
    max_body_bytes: int = 16 * 2**20
    #: Inputs per /v1/embeddings request (OpenAI's limit).
    max_inputs: int = 2048
    #: Documents per add/upsert request: each request is one committed batch, all or nothing.
    max_documents: int = 256
    #: Results per search or get request.
    max_results: int = 1000
    #: Use the persistent embedding cache (``SEMKIT_CACHE_DIR``).
    cache: bool = True
    #: Local inference path (``SEMKIT_BACKEND``); None: the setting, "auto" by default.
    backend: str | None = None
    #: Threads that serve reads (searches, gets, contexts) at once; writes use one thread.
    read_threads: int = 16
    #: Seconds a write waits for another process's write lock before answering 503.
    lock_timeout: float = 30.0
