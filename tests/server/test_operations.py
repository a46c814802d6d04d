"""Keys, size limits, the bounded queue, health and metrics, on real servers."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from live import live_server

from semkit.errors import ConfigError
from semkit.server import ServerSettings
from semkit.server.auth import Access, Keys

WRITER, READER = "write-key-123", "read-key-456"
EMBED = {"model": "default", "input": ["hello"]}


@pytest.fixture(scope="module")
def guarded(tmp_path_factory, default_provider):
    settings = ServerSettings(
        db=tmp_path_factory.mktemp("guarded") / "db",
        api_keys=(WRITER,),
        read_only_keys=(READER,),
        max_body_bytes=50_000,
        max_inputs=16,
    )
    with live_server(settings) as live:
        yield live


def test_keys_read_only_and_read_write(guarded):
    with guarded.client() as anonymous:
        answer = anonymous.post("/v1/embeddings", json=EMBED)
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"] == "Bearer"
        assert answer.json()["error"]["code"] == "invalid_api_key"
        assert anonymous.get("/metrics").status_code == 401
        assert anonymous.get("/health").status_code == 200  # probes need no key
        assert anonymous.get("/ready").status_code == 200
    with guarded.client("wrong-key-000") as wrong:
        assert wrong.post("/v1/embeddings", json=EMBED).status_code == 401
    with guarded.client(READER) as reader:
        assert reader.post("/v1/embeddings", json=EMBED).status_code == 200
        assert reader.get("/v1/collections").status_code == 200
        refused = reader.post("/v1/collections", json={"name": "c"})
        assert refused.status_code == 403
        assert refused.json()["error"]["type"] == "permission_error"
    with guarded.client(WRITER) as writer:
        assert writer.post("/v1/collections", json={"name": "c"}).status_code == 201
        assert writer.get("/metrics").status_code == 200


def test_key_rules():
    keys = Keys([WRITER], [READER])
    assert keys.access(WRITER) is Access.WRITE and keys.access(READER) is Access.READ
    assert keys.access(None) is Access.NONE and keys.access(WRITER + "x") is Access.NONE
    assert Keys().access(None) is Access.WRITE  # no keys: open
    with pytest.raises(ConfigError):
        Keys(["short"])


def test_size_limits(guarded):
    with guarded.client(WRITER) as c:
        big = c.post("/v1/embeddings", json={"model": "default", "input": ["x" * 60_000]})
        assert big.status_code == 413 and big.json()["error"]["code"] == "request_too_large"

        def chunks():
            yield b'{"model": "default", "input": ["'
            for _ in range(100):
                yield b"y" * 1000
            yield b'"]}'

        streamed = c.post(
            "/v1/embeddings", content=chunks(), headers={"content-type": "application/json"}
        )
        assert streamed.status_code == 413
        many = c.post("/v1/embeddings", json={"model": "default", "input": ["a"] * 17})
        assert many.status_code == 400 and "at most 16" in many.json()["error"]["message"]
        assert c.post("/v1/embeddings", json=EMBED).status_code == 200  # still serving


def _admitted(url: str) -> float:
    for line in httpx.get(f"{url}/metrics").text.splitlines():
        if line.startswith("semkit_admitted_texts "):
            return float(line.split()[1])
    return 0.0


def test_full_queue_answers_429_with_retry_after(tmp_path, default_provider):
    with live_server(ServerSettings(db=tmp_path / "db", max_queue=32)) as live:
        slow = {"model": "default", "input": [f"{i} " + "word " * 250 for i in range(32)]}
        result: dict[str, int] = {}

        def fill() -> None:
            with live.client() as c:
                result["status"] = c.post("/v1/embeddings", json=slow).status_code

        thread = threading.Thread(target=fill)
        thread.start()
        deadline = time.monotonic() + 30
        while _admitted(live.url) < 32 and time.monotonic() < deadline:
            time.sleep(0.005)
        with live.client() as c:
            refused = c.post("/v1/embeddings", json=EMBED)
        thread.join()
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        assert refused.json()["error"]["code"] == "rate_limit_exceeded"
        assert result["status"] == 200  # the admitted work finished
        with live.client() as c:
            assert c.post("/v1/embeddings", json=EMBED).status_code == 200  # room again
            too_big = c.post("/v1/embeddings", json={"model": "default", "input": ["a"] * 33})
            assert too_big.status_code == 400  # could never fit: not a 429
            metrics = c.get("/metrics").text
        assert "semkit_rejected_requests_total 1.0" in metrics


def test_health_ready_and_metrics(http):
    assert http.get("/health").json() == {"status": "ok"}
    assert http.get("/ready").json()["status"] == "ready"
    http.post("/v1/embeddings", json={"model": "default", "input": ["one", "two", "three"]})
    metrics = http.get("/metrics").text
    for name in (
        'semkit_requests_total{method="POST",route="/v1/embeddings",status="200"}',
        'semkit_request_duration_seconds_bucket{le="0.5",route="/v1/embeddings"}',
        "semkit_queue_texts",
        "semkit_batch_texts_bucket",
        "semkit_batch_padded_tokens_bucket",
        "semkit_batch_seconds_sum",
        "semkit_cache_hits_total",
        "semkit_truncated_texts_total",
        "semkit_embedded_texts_total",
    ):
        assert name in metrics, name
    unknown = http.get("/no/such/route")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
    assert 'route="unmatched"' in http.get("/metrics").text


def test_openapi_schema_is_published(http):
    schema = http.get("/openapi.json").json()
    assert {
        "/v1/embeddings",
        "/v1/models",
        "/v1/collections",
        "/v1/collections/{name}/search",
        "/health",
        "/ready",
        "/metrics",
    } <= set(schema["paths"])
    responses = schema["paths"]["/v1/embeddings"]["post"]["responses"]
    assert "400" in responses and "422" not in responses
