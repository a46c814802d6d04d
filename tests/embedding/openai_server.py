"""A real OpenAI-compatible embeddings server on 127.0.0.1, for tests.

``FakeOpenAIServer`` runs a threaded ``http.server`` on a random port and answers
``POST /v1/embeddings`` as OpenAI does: ``input`` (a string or a list of strings),
optional ``dimensions`` and ``encoding_format``, answers
``{"object": "list", "data": [{"object": "embedding", "index": i, "embedding": [...]}],
"model": ..., "usage": {...}}``, errors as ``{"error": {"message": ...}}``. Vectors
are deterministic (``expected_vector``: seeded from a hash of the text, cut to
``dimensions``). Every request is recorded (``requests``), and a scripted queue is
played before normal answers: ``fail`` (a status, e.g. 429 with Retry-After),
``slow`` (answer late), ``malformed`` (a raw 200 body), ``corrupt`` (edit a good
answer). Options: ``shuffle`` (data out of index order), ``base64`` (base64 vectors),
``api_key`` (require this Bearer key).

Use it as a context manager, or as the ``openai_server`` fixture from a test module
with ``pytest_plugins = ["openai_server"]``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pytest

MODEL_DIMS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}
NO_DIMENSIONS = ("text-embedding-ada-",)  # models that refuse `dimensions`, as OpenAI's do
OTHER_MODEL_DIM = 64  # any other model name


def expected_vector(text: str, dim: int) -> np.ndarray:
    """The float32 vector the server returns for ``text`` with ``dim`` dimensions."""
    seed = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")
    return np.random.default_rng(seed).standard_normal(dim).astype(np.float32)


def native_dim(model: str) -> int:
    return MODEL_DIMS.get(model, OTHER_MODEL_DIM)


@dataclass
class Step:
    """One scripted answer, used instead of (or to change) the normal one."""

    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None  # JSON for ``status``; bytes are sent as they are
    delay: float = 0.0
    corrupt: Callable[[dict[str, Any]], None] | None = None


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: Any


class FakeOpenAIServer:
    def __init__(
        self, *, shuffle: bool = False, base64: bool = False, api_key: str | None = None
    ) -> None:
        self.shuffle = shuffle
        self.base64 = base64
        self.api_key = api_key
        self.requests: list[Recorded] = []
        self.errors: list[BaseException] = []  # unexpected handler failures
        self._script: deque[Step] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.fake = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # --- lifecycle -----------------------------------------------------------------------
    @property
    def root(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def url(self) -> str:
        """The base URL a client is configured with (OPENAI_BASE_URL)."""
        return self.root + "/v1"

    def start(self) -> FakeOpenAIServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes slow answers
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- script --------------------------------------------------------------------------
    def fail(
        self,
        status: int,
        *,
        message: str | None = None,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        body = {
            "error": {
                "message": message or f"scripted failure {status}",
                "type": "server_error" if status >= 500 else "invalid_request_error",
                "param": None,
                "code": None,
            }
        }
        for _ in range(times):
            self._script.append(Step(status=status, headers=dict(headers or {}), body=body))

    def slow(self, seconds: float) -> None:
        """Answer the next request normally, but only after ``seconds``."""
        self._script.append(Step(delay=seconds))

    def malformed(self, body: bytes = b'{"object": "list", "data": [') -> None:
        self._script.append(Step(status=200, body=body))

    def corrupt(self, edit: Callable[[dict[str, Any]], None]) -> None:
        """Compute the next answer normally, then let ``edit`` change it in place."""
        self._script.append(Step(corrupt=edit))

    # --- inspection ----------------------------------------------------------------------
    @staticmethod
    def vector(text: str, dim: int) -> np.ndarray:
        """What this server answers for ``text`` (see ``expected_vector``)."""
        return expected_vector(text, dim)

    @property
    def embedding_requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.body for r in self.requests if isinstance(r.body, dict)]

    @property
    def inputs_seen(self) -> list[str]:
        return [t for body in self.embedding_requests for t in _as_list(body.get("input"))]

    def _record(self, recorded: Recorded) -> Step | None:
        with self._lock:
            self.requests.append(recorded)
            return self._script.popleft() if self._script else None

    def _answer(self, body: Any) -> tuple[int, Any]:
        """The normal answer to an embeddings request: (status, JSON)."""
        if not isinstance(body, dict):
            return 400, _error("We could not parse the JSON body of your request.")
        model, inputs, dims = body.get("model"), _as_list(body.get("input")), body.get("dimensions")
        if not isinstance(model, str) or not model:
            return 400, _error("you must provide a model parameter")
        if not inputs or not all(isinstance(t, str) and t for t in inputs):
            return 400, _error("'$.input' is invalid. Please check the API reference.")
        if len(inputs) > 2048:
            return 400, _error("'$.input' must have at most 2048 items")
        if dims is not None and model.startswith(NO_DIMENSIONS):
            return 400, _error("This model does not support specifying dimensions.")
        dim = native_dim(model) if dims is None else int(dims)
        data = []
        for i, text in enumerate(inputs):
            vec = expected_vector(text, native_dim(model))[:dim]
            emb: Any = (
                base64.b64encode(vec.astype("<f4").tobytes()).decode()
                if self.base64
                else vec.tolist()
            )
            data.append({"object": "embedding", "index": i, "embedding": emb})
        if self.shuffle and len(data) > 1:  # a real reordering, never the identity
            order = list(range(len(data)))
            rng = random.Random(len(self.requests))
            while order == sorted(order):
                rng.shuffle(order)
            data = [data[i] for i in order]
        tokens = sum(len(t.split()) for t in inputs)
        return 200, {
            "object": "list",
            "data": data,
            "model": model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, str):
        return [value]
    return list(value) if isinstance(value, list) else []


def _error(message: str, kind: str = "invalid_request_error") -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    fake: FakeOpenAIServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        exc = sys.exception()
        if not isinstance(exc, ConnectionError | TimeoutError):  # a client that gave up
            self.fake.errors.append(exc)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 5  # idle keep-alive connections
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        fake = self.server.fake
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        headers = {k.lower(): v for k, v in self.headers.items()}
        step = fake._record(Recorded(self.path, headers, body))
        if step is not None and step.delay and fake._stopping.wait(step.delay):
            return
        if step is not None and step.status is not None:
            self._send(step.status, step.body, step.headers)
            return
        if self.path != "/v1/embeddings":
            self._send(404, _error(f"Invalid URL (POST {self.path})"))
            return
        if fake.api_key is not None and headers.get("authorization") != f"Bearer {fake.api_key}":
            self._send(401, _error("Incorrect API key provided.", "invalid_api_key"))
            return
        status, payload = fake._answer(body)
        if status == 200 and step is not None and step.corrupt is not None:
            step.corrupt(payload)
        self._send(status, payload)

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def openai_server() -> Iterator[FakeOpenAIServer]:
    """A running ``FakeOpenAIServer``; fails the test if a handler crashed."""
    with FakeOpenAIServer() as server:
        yield server
    assert not server.errors, f"fake OpenAI server handler errors: {server.errors!r}"
