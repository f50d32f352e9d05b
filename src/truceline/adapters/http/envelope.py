"""One JSON error envelope for every error, and the request size limit.

Every error, ours or the framework's, leaves as ``{"code", "message", "field", "details"}``
with the status from :data:`truceline.errors.ERROR_TABLE`: validation errors name the field
(``observations[3].time``, ``limit``), unknown routes are 404 ``not_found``, and anything a client
sends is answered with a 4xx, never a 500.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from truceline.errors import (
    AuthError,
    PayloadTooLargeError,
    RateLimitError,
    TrucelineError,
    mapping_for,
)

log = logging.getLogger("truceline.http")


class ErrorBody(BaseModel):
    """The error envelope (the same shape as ``TrucelineError.to_dict()``)."""

    code: str
    message: str
    field: str | None = None
    details: dict[str, Any] | None = None


_DESCRIPTIONS = {
    400: "Bad request (e.g. a signature that does not verify)",
    401: "No valid API key (missing where required, unknown, or revoked)",
    403: "The key's role may not do this",
    404: "Not found (or not visible to this key)",
    409: "Conflicts with what is stored",
    413: "Request body larger than max_request_bytes",
    415: "The body's Content-Type is not application/json",
    422: "Invalid input; `field` names where",
    429: "Rate limit exceeded for this key",
    503: "The store is not ready",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these statuses (401, 413, 422, 429 apply to every route)."""
    every = {401, 413, 422, 429, *statuses}
    return {s: {"model": ErrorBody, "description": _DESCRIPTIONS[s]} for s in sorted(every)}


def envelope(status: int, body: dict[str, Any], headers: dict[str, str] | None = None
             ) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=headers)


def _field(loc: Sequence[Any]) -> tuple[str, str]:
    """('observations[3].time', 'body') from pydantic's ('body', 'observations', 3, 'time')."""
    parts = list(loc)
    where = str(parts.pop(0)) if parts and parts[0] in ("body", "query", "path", "header") else ""
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else ("." if out else "") + str(p)
    return out or where or "(request)", where


async def _truceline_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TrucelineError)
    headers = {}
    if isinstance(exc, AuthError):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, RateLimitError):
        headers["Retry-After"] = str(exc.details.get("retry_after_s", 60))
    return envelope(mapping_for(exc).http_status, exc.to_dict(), headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
    field, where = _field(first.get("loc", ()))
    msg = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    return envelope(422, {"code": "invalid_input", "message": msg, "field": field,
                          "details": {"location": where, "errors": len(errors)}})


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if isinstance(exc.__cause__, PayloadTooLarge):
        return envelope(413, exc.__cause__.body)
    if exc.status_code == 400:  # the framework could not read the body as JSON
        return envelope(422, {"code": "invalid_input", "message": "the body is not valid JSON",
                              "field": "body"})
    headers = dict(exc.headers or {})
    if exc.status_code == 405:  # every method of the path, not only the first route's
        headers["Allow"] = ", ".join(sorted(_allowed(request)))
    codes = {404: "not_found", 405: "method_not_allowed"}
    message = {404: "no such route", 405: "method not allowed here"}.get(
        exc.status_code, str(exc.detail))
    return envelope(exc.status_code, {"code": codes.get(exc.status_code, "http_error"),
                                      "message": message, "field": None}, headers)


def _allowed(request: Request) -> set[str]:
    out: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches({**request.scope, "method": "GET"})
        if match is not Match.NONE:
            out |= set(getattr(route, "methods", None) or ())
    return out


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return envelope(500, {"code": "internal_error", "message": "unexpected server error",
                          "field": None})


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(TrucelineError, _truceline_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)


class PayloadTooLarge(PayloadTooLargeError):
    """The middleware's form of the tree's 413 error (its envelope comes from ``to_dict``)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"request body is larger than {limit} bytes", field="body",
                         max_bytes=limit)
        self.body = self.to_dict()


class BodyLimit:
    """ASGI middleware: refuse a body over ``max_bytes`` with 413, by its Content-Length when
    given, else while it streams in, before the route reads it all into memory."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _send_413(self, send: Send, exc: PayloadTooLarge) -> None:
        body = json.dumps(exc.body).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for k, v in scope.get("headers", []):
            if k == b"content-length":
                try:
                    n = int(v)
                except ValueError:
                    n = 0
                if n > self.max_bytes:
                    await self._send_413(send, PayloadTooLarge(self.max_bytes))
                    return
        seen = 0
        started = False

        async def limited() -> Message:
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.max_bytes:
                    raise PayloadTooLarge(self.max_bytes)
            return msg

        async def tracking_send(msg: Message) -> None:
            nonlocal started
            started = started or msg["type"] == "http.response.start"
            await send(msg)

        try:
            await self.app(scope, limited, tracking_send)
        except PayloadTooLarge as exc:
            if not started:
                await self._send_413(send, exc)
