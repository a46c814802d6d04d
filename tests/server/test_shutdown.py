"""`semkit serve` as a real process: SIGTERM lets requests in flight finish, then exits."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import httpx
from live import free_port, wait_ready

import semkit


def test_sigterm_drains_requests_in_flight_and_loses_nothing(tmp_path, default_provider):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    db = tmp_path / "db"
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "semkit.cli.main",
            "serve",
            "--db",
            str(db),
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env={**os.environ, "SEMKIT_CACHE_DIR": str(tmp_path / "cache")},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_ready(url)
        with httpx.Client(base_url=url, timeout=120) as c:
            assert c.post("/v1/collections", json={"name": "notes"}).status_code == 201
        docs = [
            {"id": f"n{i}", "text": f"note {i}: " + "a long sentence about things " * 10}
            for i in range(256)
        ]
        answers: dict[str, httpx.Response] = {}

        def add() -> None:
            with httpx.Client(base_url=url, timeout=120) as c:
                answers["add"] = c.post("/v1/collections/notes/add", json={"documents": docs})

        writer = threading.Thread(target=add)
        writer.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # the add is in progress: its texts are admitted
            metrics = httpx.get(f"{url}/metrics").text
            if "semkit_admitted_texts 256.0" in metrics:
                break
            time.sleep(0.01)
        process.send_signal(signal.SIGTERM)
        writer.join(120)
        assert answers["add"].status_code == 200, answers["add"].text
        assert answers["add"].json()["written"] == 256
        # uvicorn drains, then re-raises the signal it caught: the conventional exit status
        assert process.wait(60) in (0, -signal.SIGTERM)
        try:
            httpx.get(f"{url}/health", timeout=2)
            raise AssertionError("the server still answers after SIGTERM")
        except httpx.TransportError:
            pass
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()
    with semkit.open(db) as database:
        notes = database.collection("notes")
        assert notes.count() == 256
        assert database.verify() == {"database": [], "notes": []}
