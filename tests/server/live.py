"""Real servers on 127.0.0.1: uvicorn in a thread (one process, fast to start) or
`semkit serve` in a subprocess (signals, shutdown)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn

from semkit.server import ServerSettings, create_app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    def __init__(self, url: str, app) -> None:
        self.url = url
        self.app = app
        self.state = app.state.semkit

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)


def wait_ready(url: str, timeout: float = 900) -> None:
    # the first server of a test run may measure the inference paths (once per machine)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not become ready")


@contextmanager
def live_server(settings: ServerSettings, cache: Path | None = None) -> Iterator[LiveServer]:
    """`create_app(settings)` served by uvicorn on a free port, in a thread; stopped after.

    The app's embedding cache lives in ``cache`` (default: beside the database
    directory), never the user's."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SEMKIT_CACHE_DIR", str(cache or Path(settings.db).parent / "cache"))
        app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url)
        yield LiveServer(url, app)
    finally:
        server.should_exit = True
        thread.join(60)
