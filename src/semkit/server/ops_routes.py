"""Operations: ``/health`` (the process answers), ``/ready`` (the served model is loaded),
``/metrics`` (Prometheus text; needs a key when keys are set)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from semkit.server.auth import READ
from semkit.server.state import state_of

router = APIRouter(tags=["Operations"])


@router.get("/health", summary="Liveness: the server process answers")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/ready",
    summary="Readiness: the served model is loaded (503 until then)",
    responses={503: {"description": "Still loading the model"}},
)
async def ready(request: Request) -> JSONResponse:
    state = state_of(request)
    if not state.ready.is_set():
        return JSONResponse({"status": "loading"}, status_code=503)
    return JSONResponse({"status": "ready", "model": state.models.names[0]})


@router.get(
    "/metrics",
    dependencies=[READ],
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}, 401: {"description": "API key needed"}},
)
async def metrics(request: Request) -> Response:
    body, content_type = state_of(request).metrics.render()
    return Response(body, media_type=content_type)
