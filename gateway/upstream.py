"""Calls from the gateway to the service APIs behind it."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import Request, Response

from clearway.http import CORRELATION_HEADER, Problem, current_correlation_id
from gateway.domain.access import Principal, scope_header

# How long the gateway keeps an idle connection to a service for reuse: well under how long the
# service keeps it open (clearway.serve.KEEP_ALIVE_S), so that it never reuses one the service
# is closing at that moment (a read error: the request is lost and the caller gets a 503).
IDLE_S = 10.0

_FORWARDED_REQUEST_HEADERS = ("content-type", "accept", "idempotency-key")
_FORWARDED_RESPONSE_HEADERS = ("content-type", "location", "idempotent-replayed")


class UpstreamUnavailable(Exception):
    """A service behind the gateway did not answer."""

    def __init__(self, service: str, reason: str) -> None:
        super().__init__(f"{service} did not answer: {reason}")
        self.service = service


def unavailable_problem(exc: UpstreamUnavailable) -> Problem:
    return Problem(
        503, "Service unavailable", type="/problems/upstream-unavailable", detail=str(exc)
    )


def principal_headers(principal: Principal) -> dict[str, str]:
    """What the services behind the gateway learn of the caller: what it may see, who it is."""
    return {
        "X-Clearway-Scope": scope_header(principal),
        "X-Clearway-Actor": principal.name,
        "X-Clearway-Principal": principal.owner,
    }


async def forward(
    client: httpx.AsyncClient,
    service: str,
    request: Request,
    path: str,
    principal: Principal,
    *,
    prefix: str = "/api",
) -> Response:
    """Pass a request through to a service and its answer back, with the correlation id and
    the caller's scope (the service shows only what the caller may see)."""
    headers = {k: v for k, v in request.headers.items() if k.lower() in _FORWARDED_REQUEST_HEADERS}
    headers[CORRELATION_HEADER] = current_correlation_id()
    headers.update(principal_headers(principal))
    try:
        upstream = await client.request(
            request.method,
            path,
            params=request.query_params,
            content=request.stream() if request.method in ("POST", "PUT", "PATCH") else None,
            headers=headers,
        )
    except httpx.HTTPError as exc:
        raise UpstreamUnavailable(service, type(exc).__name__) from exc
    response_headers = {
        k: v for k, v in upstream.headers.items() if k.lower() in _FORWARDED_RESPONSE_HEADERS
    }
    if "location" in response_headers:
        response_headers["location"] = prefix + response_headers["location"]
    return Response(upstream.content, status_code=upstream.status_code, headers=response_headers)


async def call(
    client: httpx.AsyncClient,
    service: str,
    method: str,
    path: str,
    principal: Principal,
    *,
    params: dict[str, Any] | None = None,
    json: Any = None,
    content: bytes | None = None,
    content_type: str | None = None,
) -> httpx.Response:
    """Call a service on behalf of a signed-in user (the pages use this), with their scope."""
    headers = {CORRELATION_HEADER: current_correlation_id(), **principal_headers(principal)}
    if content_type:
        headers["Content-Type"] = content_type
    try:
        return await client.request(
            method,
            path,
            params={k: v for k, v in (params or {}).items() if v not in (None, "")},
            json=json,
            content=content,
            headers=headers,
        )
    except httpx.HTTPError as exc:
        raise UpstreamUnavailable(service, type(exc).__name__) from exc
