"""The ASGI app: FastAPI routes over a Scorer (model + encoder) and a Storage.

create_app builds it; `pluralist serve` runs it on uvicorn. OpenAPI schema at
/openapi.json, docs at /docs. Every request gets one log line (method, path, status,
milliseconds) and never a key or a text. Bodies over the limit get 413, malformed or
mistyped ones 422 naming the field; no request gets a traceback.
"""

from __future__ import annotations

import logging
import time

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.middleware.cors import CORSMiddleware

from ..errors import PluralistError
from .page import add_page_routes
from .routes import add_feedback_routes, add_score_routes
from .schemas import MAX_BODY_BYTES, Health
from .scoring import Scorer
from .storage import IdempotencyConflict, Storage

log = logging.getLogger("pluralist.serve")


class _TooLarge(HTTPException):
    def __init__(self, limit: int):
        super().__init__(413, f"request body over {limit} bytes")


class BodyLimit:
    """413 for a body over `limit` bytes, whether Content-Length says so or the stream
    runs past it (a chunked body has no Content-Length)."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers", ())).get(b"content-length", b"0")
        if not length.isdigit() or int(length) > self.limit:
            status = 413 if length.isdigit() else 400
            response = JSONResponse({"detail": f"request body over {self.limit} bytes"
                                     if status == 413 else "malformed Content-Length"}, status)
            return await response(scope, receive, send)
        seen = 0

        async def counted():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise _TooLarge(self.limit)
            return message

        await self.app(scope, counted, send)


class RequestLog:
    """One line per request: method, path (no query string), status, milliseconds."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started, status = time.perf_counter(), [500]

        async def noted(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, noted)
        finally:
            log.info("%s %s %d %.1fms", scope["method"], scope["path"], status[0],
                     1000 * (time.perf_counter() - started))


def _validation_error(request: Request, err: RequestValidationError) -> JSONResponse:
    # the fields named, the values not echoed (they may be a person's texts)
    detail = [{"field": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", ""),
               "type": e.get("type", "")} for e in err.errors()]
    return JSONResponse({"detail": detail}, 422)


def _user_error(request: Request, err: PluralistError) -> JSONResponse:
    status = 409 if isinstance(err, IdempotencyConflict) else 422
    return JSONResponse({"detail": " ".join(str(err).splitlines())}, status)


def _unexpected(request: Request, err: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return JSONResponse({"detail": "internal error (logged by the server)"}, 500)


def create_app(scorer: Scorer, storage: Storage, *, api_key: str | None, read_only: bool = False,
               cors_origins: tuple[str, ...] = (), max_body_bytes: int = MAX_BODY_BYTES) -> FastAPI:
    """The service. `api_key` None is allowed only with `read_only`; CORS stays closed
    unless `cors_origins` names origins a browser page may call from."""
    if api_key is None and not read_only:
        raise ValueError("a writable server needs an API key")
    app = FastAPI(title="pluralist", version="1", summary="Personalised rewards and feedback")
    app.state.scorer, app.state.storage = scorer, storage
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(PluralistError, _user_error)
    app.add_exception_handler(Exception, _unexpected)
    add_score_routes(app, scorer, storage)
    add_feedback_routes(app, scorer, storage, api_key=api_key, read_only=read_only)
    app.state.page = add_page_routes(app, scorer, storage, api_key=api_key, read_only=read_only)

    @app.get("/healthz", response_model=Health)
    def healthz():
        return Health(status="ok", model=scorer.model_id, encoder=scorer.encoder_id,
                      read_only=read_only, encoder_calls=scorer.batcher.calls,
                      texts_encoded=scorer.batcher.encoded)

    if cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(cors_origins),
                           allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["Authorization", "Content-Type", "Idempotency-Key"])
    app.add_middleware(BodyLimit, limit=max_body_bytes)
    app.add_middleware(RequestLog)
    return app
