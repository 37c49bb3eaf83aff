"""What every service's HTTP edge shares: correlation ids and RFC 9457 problem answers."""

from __future__ import annotations

import contextvars
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from clearway import idempotency

log = logging.getLogger(__name__)

CORRELATION_HEADER = "X-Correlation-ID"
PROBLEM_JSON = "application/problem+json"
_CORRELATION_KEY = CORRELATION_HEADER.lower().encode("latin-1")
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

correlation_id_var: contextvars.ContextVar[str] = contextvars.ContextVar(
    "correlation_id", default="-"
)


@dataclass(frozen=True)
class Problem:
    """An RFC 9457 problem: what went wrong, with field errors naming the element and the rule."""

    status: int
    title: str
    type: str = "about:blank"
    detail: str | None = None
    errors: Sequence[Mapping[str, Any]] = field(default_factory=tuple)
    extra: Mapping[str, Any] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)

    def response(self) -> JSONResponse:
        body: dict[str, Any] = {"type": self.type, "title": self.title, "status": self.status}
        if self.detail:
            body["detail"] = self.detail
        if self.errors:
            body["errors"] = list(self.errors)
        body.update(self.extra)
        body["correlation_id"] = correlation_id_var.get()
        return JSONResponse(
            body, status_code=self.status, media_type=PROBLEM_JSON, headers=dict(self.headers)
        )


ProblemMapper = Callable[[Any], Problem]


class _Correlation:
    """Every answer carries the request's correlation id (the caller's, or a new one), which
    the request's code reads from `correlation_id_var`; an unhandled error is logged with it and
    answered 500 without internals. Plain ASGI: no task and no body streaming in between."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = ""
        for name, raw in scope["headers"]:
            if name == _CORRELATION_KEY:
                incoming = raw.decode("latin-1")
                break
        value = incoming if _VALID_ID.match(incoming) else str(uuid.uuid4())
        token = correlation_id_var.set(value)
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                MutableHeaders(scope=message)[CORRELATION_HEADER] = value
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled error (correlation id %s)", value)
            if started:
                raise
            problem = Problem(
                500, "Internal error", detail="The error was logged with this correlation id."
            )
            await problem.response()(scope, receive, send_with_id)
        finally:
            correlation_id_var.reset(token)


def install(app: FastAPI, problems: Mapping[type[Exception], ProblemMapper]) -> None:
    """Add correlation ids and map the service's errors (one table) to problem+json answers."""

    app.add_middleware(_Correlation)

    for exc_type, mapper in {**_COMMON_PROBLEMS, **problems}.items():
        app.add_exception_handler(exc_type, _handler(mapper))

    async def validation(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {
                "path": "/".join(str(part) for part in err.get("loc", ())),
                "rule": err.get("type", "invalid"),
                "message": err.get("msg", ""),
            }
            for err in exc.errors()
        ]
        return Problem(
            422, "Request is invalid", type="/problems/request-invalid", errors=errors
        ).response()

    async def http_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        return Problem(exc.status_code, str(exc.detail)).response()

    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(StarletteHTTPException, http_error)


def _idempotency_problem(exc: Exception) -> Problem:
    status, title = {
        idempotency.KeyInUse: (409, "Request already in progress"),
        idempotency.KeyReused: (422, "Idempotency key reused"),
        idempotency.KeyInvalid: (422, "Idempotency key invalid"),
    }[type(exc)]
    rule = (
        "in-progress" if status == 409 else "same-request" if "different" in str(exc) else "format"
    )
    return Problem(
        status,
        title,
        type=f"/problems/idempotency-{rule}",
        detail=str(exc),
        errors=[{"path": idempotency.HEADER, "rule": rule, "message": str(exc)}],
    )


# Errors every service answers the same way.
_COMMON_PROBLEMS: dict[type[Exception], ProblemMapper] = {
    idempotency.KeyInUse: _idempotency_problem,
    idempotency.KeyReused: _idempotency_problem,
    idempotency.KeyInvalid: _idempotency_problem,
}


def _handler(mapper: ProblemMapper) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def handle(_request: Request, exc: Exception) -> Response:
        return mapper(exc).response()

    return handle


def current_correlation_id() -> str:
    """The correlation id of the request being served."""
    return correlation_id_var.get()
