"""Core errors translated to HTTP responses, in one place (routes raise, these map)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Route

from movierecs.exceptions import (
    BatchTooLargeError,
    BodyTooLargeError,
    InvalidEventsError,
    UnknownGenreError,
    UnknownItemError,
)


async def unknown_genre(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, UnknownGenreError)
    return JSONResponse({"detail": str(exc), "valid_genres": exc.valid}, status_code=422)


async def unknown_item(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, UnknownItemError)
    return JSONResponse({"detail": str(exc), "unknown_item_ids": exc.item_ids}, status_code=422)


async def invalid_events(request: Request, exc: Exception) -> JSONResponse:
    """422 in FastAPI's own validation shape: ``{"detail": [{"type", "loc", "msg", "input"}]}``."""
    assert isinstance(exc, InvalidEventsError)
    return await request_validation_exception_handler(request, RequestValidationError(exc.errors))


async def batch_too_large(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BatchTooLargeError)
    return JSONResponse({"detail": str(exc)}, status_code=413)


async def body_too_large(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BodyTooLargeError)
    return JSONResponse({"detail": str(exc)}, status_code=413)


async def http_error(request: Request, exc: Exception) -> Response:
    """FastAPI's handler, except that a 405 lists in ``Allow`` every method of the resource: the
    routes are separate per method, and the one that matched the path knows only its own."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 405:
        scope = request.scope
        methods = sorted(
            {
                m
                for r in request.app.router.routes
                if isinstance(r, Route) and r.matches(scope)[0] is not Match.NONE
                for m in (r.methods or ())
            }
        )
        if methods:
            exc.headers = {**(exc.headers or {}), "Allow": ", ".join(methods)}
    return await http_exception_handler(request, exc)


def install(app: FastAPI) -> None:
    """Register every handler on ``app``."""
    app.add_exception_handler(UnknownGenreError, unknown_genre)
    app.add_exception_handler(UnknownItemError, unknown_item)
    app.add_exception_handler(InvalidEventsError, invalid_events)
    app.add_exception_handler(BatchTooLargeError, batch_too_large)
    app.add_exception_handler(BodyTooLargeError, body_too_large)
    app.add_exception_handler(StarletteHTTPException, http_error)
