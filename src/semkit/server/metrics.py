"""Prometheus metrics (``GET /metrics``), one registry per app so several apps can live in
one process (tests). Request counts and latency come from a middleware; the rest from the
batcher (batch sizes, queue depth) and the routes (cache hits, truncations)."""

from __future__ import annotations

import time
from collections.abc import Callable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
_TOKEN_BUCKETS = (16, 64, 256, 512, 1024, 2048, 4096, 8192)


class ServerMetrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.requests = Counter(
            "semkit_requests",
            "HTTP requests by route, method and status",
            ["route", "method", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "semkit_request_duration_seconds",
            "Time to answer a request, by route",
            ["route"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.queue = Gauge("semkit_queue_texts", "Texts waiting for the model", registry=r)
        self.admitted = Gauge(
            "semkit_admitted_texts",
            "Texts of requests in progress (the bounded queue)",
            registry=r,
        )
        self.rejected = Counter(
            "semkit_rejected_requests",
            "Requests refused with 429 because the queue was full",
            registry=r,
        )
        self.batch_texts = Histogram(
            "semkit_batch_texts", "Texts per model call", buckets=_SIZE_BUCKETS, registry=r
        )
        self.batch_tokens = Histogram(
            "semkit_batch_padded_tokens",
            "Padded tokens per model call",
            buckets=_TOKEN_BUCKETS,
            registry=r,
        )
        self.batch_seconds = Histogram(
            "semkit_batch_seconds",
            "Time of one model call (the model is busy for their sum)",
            registry=r,
        )
        self.embedded = Counter(
            "semkit_embedded_texts", "Texts the model embedded (cache misses)", registry=r
        )
        self.cache_hits = Counter(
            "semkit_cache_hits", "Texts answered from the embedding cache", registry=r
        )
        self.truncated = Counter(
            "semkit_truncated_texts",
            "Inputs cut at the model's token limit (truncate=true)",
            registry=r,
        )

    def watch(self, queued: Callable[[], int], admitted: Callable[[], int]) -> None:
        self.queue.set_function(queued)
        self.admitted.set_function(admitted)

    def batch(self, texts: int, tokens: int, seconds: float) -> None:
        self.batch_texts.observe(texts)
        self.batch_tokens.observe(tokens)
        self.batch_seconds.observe(seconds)
        self.embedded.inc(texts)

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class RequestMetrics:
    """Counts every request by its route template (not its path: no unbounded labels)."""

    def __init__(self, app: ASGIApp, metrics: ServerMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observed)
        finally:
            route = scope.get("route")
            name = getattr(route, "path", None) or "unmatched"
            self.metrics.requests.labels(name, scope["method"], str(status)).inc()
            self.metrics.latency.labels(name).observe(time.perf_counter() - start)
