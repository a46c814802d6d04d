"""The baseline of bench/serve.py: the obvious way to put a model behind HTTP.

A FastAPI app whose OpenAI-style /v1/embeddings calls sentence-transformers' ``encode``
on each request as it comes, one request at a time (the handler runs on the event loop),
with no batching across requests.

    python bench/naive_server.py MODEL_DIR PORT
"""

from __future__ import annotations

import base64
import json
import sys

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import Response
from sentence_transformers import SentenceTransformer


def make_app(model_dir: str) -> FastAPI:
    model = SentenceTransformer(model_dir, device="cpu", local_files_only=True)
    app = FastAPI()

    @app.post("/v1/embeddings")
    async def embeddings(request: Request) -> Response:
        body = await request.json()
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        vectors = model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
        if body.get("encoding_format") == "base64":
            rows = [base64.b64encode(v.astype("<f4").tobytes()).decode() for v in vectors]
        else:
            rows = vectors.tolist()
        data = [{"object": "embedding", "index": i, "embedding": r} for i, r in enumerate(rows)]
        return Response(json.dumps({"object": "list", "data": data}), media_type="application/json")

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


if __name__ == "__main__":
    uvicorn.run(make_app(sys.argv[1]), host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
