"""FastAPI dependencies that authenticate every API request and check the caller's role."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from gateway.context import gateway_of
from gateway.domain import access
from gateway.domain.access import Principal
from gateway.identity import (
    CSRF_HEADER,
    SESSION_COOKIE,
    Forbidden,
    TooLarge,
    Unauthenticated,
)

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _credential(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get("x-api-key") or None


async def authenticate(request: Request) -> Principal:
    """The caller: an API key or access token (Bearer), or a browser session with CSRF token."""
    gateway = gateway_of(request)
    credential = _credential(request)
    if credential is not None:
        # A key verified moments ago needs no database read, so no trip to a worker thread.
        identity = gateway.identities.cached_client(credential)
        if identity is None:
            identity = await run_in_threadpool(gateway.identities.client, credential)
        if identity.require_signature or "x-clearway-signature" in request.headers:
            body = await capped_body(request, gateway.settings.max_body_bytes)
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            await run_in_threadpool(
                gateway.identities.check_signature,
                identity,
                timestamp=request.headers.get("x-clearway-timestamp"),
                nonce=request.headers.get("x-clearway-nonce"),
                signature=request.headers.get("x-clearway-signature"),
                method=request.method,
                target=target,
                body=body,
            )
        principal = identity.principal
    elif (cookie := request.cookies.get(SESSION_COOKIE)) is not None:
        principal, _user, csrf = await run_in_threadpool(gateway.identities.session_user, cookie)
        if request.method not in _SAFE_METHODS and request.headers.get(CSRF_HEADER) != csrf:
            raise Forbidden(f"a signed-in browser must send its {CSRF_HEADER} header")
    else:
        raise Unauthenticated("send an API key or access token: Authorization: Bearer <key>")
    settings = gateway.settings
    gateway.identities.throttle(
        principal.owner, rate=settings.rate_per_s, burst=settings.rate_burst
    )
    request.state.principal = principal
    return principal


async def capped_body(request: Request, limit: int) -> bytes:
    """The body of a request the gateway reads itself (to check its signature, to pass it on),
    refused as soon as it passes the cap; it is kept for the route, which passes it on."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"the body is larger than {limit} bytes")
        chunks.append(chunk)
    body = b"".join(chunks)
    request._body = body
    return body


Caller = Annotated[Principal, Depends(authenticate)]


async def officer(principal: Caller) -> Principal:
    if not access.may_decide(principal):
        raise Forbidden("this is for customs officers")
    return principal


async def supervisor(principal: Caller) -> Principal:
    if not principal.is_officer or access.OfficerRole.SUPERVISOR.value not in principal.roles:
        raise Forbidden("this is for customs supervisors")
    return principal


async def admin(principal: Caller) -> Principal:
    if not access.may_administer(principal):
        raise Forbidden("this is for administrators")
    return principal


async def filer(principal: Caller) -> Principal:
    if not access.may_file(principal):
        raise Forbidden("filing is for enterprises registered with their customs codes")
    return principal


async def tenant_member(principal: Caller) -> Principal:
    if principal.kind is not access.Kind.TENANT:
        raise Forbidden("this is for enterprises")
    return principal


Officer = Annotated[Principal, Depends(officer)]
Supervisor = Annotated[Principal, Depends(supervisor)]
Admin = Annotated[Principal, Depends(admin)]
Filer = Annotated[Principal, Depends(filer)]
TenantMember = Annotated[Principal, Depends(tenant_member)]
