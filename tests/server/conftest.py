"""Fixtures: a real server on 127.0.0.1 with the default model (see ``live``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from live import LiveServer, live_server

from semkit.server import ServerSettings


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, default_provider) -> Iterator[LiveServer]:
    """The default model and a fresh database, shared by the tests of a module."""
    path: Path = tmp_path_factory.mktemp("served")
    with live_server(ServerSettings(db=path / "db")) as live:
        yield live


@pytest.fixture
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client
