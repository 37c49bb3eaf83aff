"""Calls from the gateway to the service APIs behind it."""

from __future__ import annotations

import httpx
from fastapi import Request, Response

from clearway.http import CORRELATION_HEADER, Problem, current_correlation_id

_FORWARDED_REQUEST_HEADERS = ("content-type", "accept")
_FORWARDED_RESPONSE_HEADERS = ("content-type", "location")


class UpstreamUnavailable(Exception):
    """A service behind the gateway did not answer."""

    def __init__(self, service: str, reason: str) -> None:
        super().__init__(f"{service} did not answer: {reason}")
        self.service = service


def unavailable_problem(exc: UpstreamUnavailable) -> Problem:
    return Problem(
        503, "Service unavailable", type="/problems/upstream-unavailable", detail=str(exc)
    )


async def forward(
    client: httpx.AsyncClient, service: str, request: Request, path: str, *, prefix: str = "/api"
) -> Response:
    """Pass a request through to a service and its answer back, with the correlation id."""
    headers = {k: v for k, v in request.headers.items() if k.lower() in _FORWARDED_REQUEST_HEADERS}
    headers[CORRELATION_HEADER] = current_correlation_id()
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
