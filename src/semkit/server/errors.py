"""Every error the server sends has OpenAI's shape, so OpenAI clients read them as usual::

    {"error": {"message": "...", "type": "invalid_request_error", "param": null, "code": null}}

The status comes from semkit's exception tree: a named thing that does not exist is 404,
any other mistake in the request 400, a busy server 429 (full queue) or 503 (the database
is locked by another process, or the server is stopping), both with Retry-After. Anything
else is a 500 whose message says only that it is the server's fault (the log has the rest).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from semkit.errors import (
    ConfigError,
    InputError,
    LockedError,
    ModelError,
    NotFoundError,
    SemkitError,
)
from semkit.server.batcher import QueueFull, ShuttingDown

log = logging.getLogger("semkit.server")


class ErrorBody(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody


def _responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    what = {
        400: "The request is invalid; the message says what to change",
        401: "No API key, or an unknown one",
        403: "A read-only API key on a route that writes",
        404: "The collection, document or model does not exist",
        413: "The request is larger than the server accepts",
        429: "The queue is full; retry after Retry-After seconds",
        503: "The database is locked by another writer, or the server is stopping",
    }
    return {s: {"model": ErrorResponse, "description": what[s]} for s in statuses}


# What routes declare in the OpenAPI schema (FastAPI's own 422 is replaced by 400).
READ_ERRORS = _responses(400, 401, 404, 413, 429, 503)
WRITE_ERRORS = _responses(400, 401, 403, 404, 413, 429, 503)


class RequestTooLarge(HTTPException):
    def __init__(self, detail: str) -> None:
        super().__init__(413, detail)


def error_response(
    status: int,
    message: str,
    type_: str,
    *,
    code: str | None = None,
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)


def _from_semkit(exc: SemkitError) -> JSONResponse:
    message = str(exc)
    if isinstance(exc, QueueFull):
        return error_response(
            429,
            message,
            "rate_limit_error",
            code="rate_limit_exceeded",
            headers={"Retry-After": str(exc.retry_after)},
        )
    if isinstance(exc, LockedError):
        return error_response(
            503, message, "server_busy", code="database_locked", headers={"Retry-After": "1"}
        )
    if isinstance(exc, ShuttingDown):
        return error_response(503, message, "server_busy", code="shutting_down")
    if isinstance(exc, NotFoundError):
        return error_response(404, message, "invalid_request_error", code="not_found")
    if isinstance(exc, InputError | ConfigError | ModelError):
        return error_response(400, message, "invalid_request_error")
    log.error("semkit error on the server's side: %s", message)
    return error_response(500, message, "server_error")


def _validation_message(exc: RequestValidationError) -> tuple[str, str | None]:
    errors = exc.errors()
    if not errors:
        return "the request is invalid", None
    first = errors[0]
    loc = [str(p) for p in first.get("loc", ()) if p != "body"]
    param = ".".join(loc) or None
    message = str(first.get("msg", "invalid value"))
    if first.get("type") == "json_invalid":
        return "the request body is not valid JSON", None
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    return (f"{param}: {message}{more}" if param else f"{message}{more}"), param


def install(app: FastAPI) -> None:
    """Route every error through one shape, and describe it so in the OpenAPI schema."""
    _describe_in_schema(app)

    @app.exception_handler(SemkitError)
    async def semkit_error(request: Request, exc: SemkitError) -> JSONResponse:
        if isinstance(exc, QueueFull):
            request.app.state.semkit.metrics.rejected.inc()
        return _from_semkit(exc)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        message, param = _validation_message(exc)
        return error_response(400, message, "invalid_request_error", param=param)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        kinds = {
            401: ("authentication_error", "invalid_api_key"),
            403: ("permission_error", "insufficient_permissions"),
            404: ("invalid_request_error", "not_found"),
            405: ("invalid_request_error", "method_not_allowed"),
            413: ("invalid_request_error", "request_too_large"),
        }
        type_, code = kinds.get(exc.status_code, ("invalid_request_error", None))
        if exc.status_code >= 500:
            type_ = "server_error"
        return error_response(
            exc.status_code,
            str(exc.detail),
            type_,
            code=code,
            headers=dict(exc.headers or {}) or None,
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error in %s %s", request.method, request.url.path)
        return error_response(
            500, "internal server error; the server log has the details", "server_error"
        )


def _describe_in_schema(app: FastAPI) -> None:
    """FastAPI documents invalid requests as 422 with its own body; this server answers 400
    with the error shape above (declared by each route), so its 422 entries go."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            for path in schema.get("paths", {}).values():
                for operation in path.values():
                    operation.get("responses", {}).pop("422", None)
            for name in ("HTTPValidationError", "ValidationError"):
                schema.get("components", {}).get("schemas", {}).pop(name, None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
