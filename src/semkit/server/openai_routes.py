"""OpenAI-compatible ``POST /v1/embeddings`` and ``GET /v1/models``.

Any OpenAI client works unchanged with ``base_url=http://host:port/v1``. Inputs: a string,
a list of strings, or token-id arrays (see ``token_ids``). ``dimensions`` returns the
Matryoshka prefix, re-normalised; ``encoding_format`` "float" or "base64" (little-endian
float32, what the official client asks for by default). Inputs over the model's limit are
refused with 400 unless the request (``truncate``) or the server says to cut them: never
silently. ``input_type`` ("query"/"document") picks the model's prompt, where it has one.
"""

from __future__ import annotations

import base64
import json
from typing import Literal

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from semkit.errors import InputError, TooLongError
from semkit.server.auth import READ
from semkit.server.batcher import BatchedProvider
from semkit.server.errors import READ_ERRORS
from semkit.server.state import ServerState, state_of

router = APIRouter(prefix="/v1", tags=["OpenAI-compatible"])


class EmbeddingRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input: str | list[str] | list[int] | list[list[int]] = Field(
        description="Text, texts, or arrays of cl100k_base token ids (at most max_inputs)"
    )
    model: str = Field(description="The served model, by any of its names (GET /v1/models)")
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(
        None, ge=1, description="Keep the first N dimensions (Matryoshka), re-normalised"
    )
    user: str | None = Field(None, description="Accepted for compatibility; not used")
    truncate: bool | None = Field(
        None,
        description="semkit: cut inputs over the model's limit (true) or refuse them (false); "
        "default: the server's --truncate setting",
    )
    input_type: Literal["query", "document"] | None = Field(
        None, description="semkit: which of the model's prompts to apply (default: document)"
    )


class EmbeddingData(BaseModel):
    object: Literal["embedding"] = "embedding"
    index: int
    embedding: list[float] | str


class Usage(BaseModel):
    prompt_tokens: int
    total_tokens: int


class EmbeddingResponse(BaseModel):
    object: Literal["list"] = "list"
    data: list[EmbeddingData]
    model: str
    usage: Usage


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = "semkit"
    aliases: list[str] = Field(default_factory=list, description="semkit: other accepted names")
    dimensions: int | None = Field(None, description="semkit: embedding size")
    max_tokens: int | None = Field(None, description="semkit: longest input in tokens")


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


def _texts(body: EmbeddingRequest, state: ServerState) -> list[str]:
    raw = body.input
    if isinstance(raw, str):
        return [raw]
    if not raw:
        raise InputError("input is empty: give a text, a list of texts or token-id arrays")
    if len(raw) > state.settings.max_inputs:
        raise InputError(
            f"{len(raw)} inputs in one request; this server takes at most "
            f"{state.settings.max_inputs}: split them into several requests"
        )
    if isinstance(raw[0], int):  # one token array
        return state.token_decoder.decode([raw])
    if isinstance(raw[0], list):
        return state.token_decoder.decode(raw)
    return raw


def _embed(
    state: ServerState,
    provider: BatchedProvider,
    texts: list[str],
    body: EmbeddingRequest,
) -> tuple[np.ndarray, int]:
    """Vectors and the tokens the model read (runs on a worker thread)."""
    truncate = state.settings.truncate if body.truncate is None else body.truncate
    embedder = state.models.embedder(provider, body.dimensions)
    try:
        vectors = embedder.encode(texts, body.input_type or "document", truncate=truncate)
    except TooLongError as exc:
        raise TooLongError(f'{exc}; or send "truncate": true to cut them at the limit') from exc
    stats = embedder.last_stats
    state.metrics.cache_hits.inc(stats.cached)
    state.metrics.truncated.inc(stats.truncated)
    limit = embedder.chunk_tokens
    tokens = sum(min(n, limit) for n in embedder.count_tokens(texts))
    return vectors, tokens


def _encode_rows(vectors: np.ndarray, encoding: str) -> list[str]:
    if encoding == "base64":
        little = vectors.astype("<f4", copy=False)
        return ['"' + base64.b64encode(row.tobytes()).decode("ascii") + '"' for row in little]
    return [json.dumps(row, separators=(",", ":")) for row in vectors.tolist()]


@router.post(
    "/embeddings",
    dependencies=[READ],
    response_model=EmbeddingResponse,
    responses=READ_ERRORS,
    summary="Create embeddings (OpenAI-compatible)",
)
async def create_embeddings(body: EmbeddingRequest, request: Request) -> Response:
    state = state_of(request)
    provider = state.models.for_request(body.model)
    texts = _texts(body, state)
    with state.admission.admit(len(texts)):
        vectors, tokens = await run_in_threadpool(_embed, state, provider, texts, body)
    # Written by hand: building 2,048 x 384 floats through pydantic would cost more than
    # embedding them.
    rows = _encode_rows(vectors, body.encoding_format)
    data = ",".join(
        f'{{"object":"embedding","index":{i},"embedding":{row}}}' for i, row in enumerate(rows)
    )
    usage = f'{{"prompt_tokens":{tokens},"total_tokens":{tokens}}}'
    payload = (
        f'{{"object":"list","data":[{data}],"model":{json.dumps(body.model)},"usage":{usage}}}'
    )
    return Response(payload, media_type="application/json")


def _card(state: ServerState) -> ModelCard:
    models = state.models
    return ModelCard(
        id=models.names[0],
        aliases=list(models.names[1:]),
        dimensions=models.served.dim,
        max_tokens=models.served.max_tokens,
    )


@router.get("/models", dependencies=[READ], response_model=ModelList, responses=READ_ERRORS)
async def list_models(request: Request) -> ModelList:
    return ModelList(data=[_card(state_of(request))])


@router.get(
    "/models/{model:path}", dependencies=[READ], response_model=ModelCard, responses=READ_ERRORS
)
async def get_model(model: str, request: Request) -> ModelCard:
    state = state_of(request)
    state.models.for_request(model)
    return _card(state)
