"""The caller's scope and name, as the gateway sends them (see customs.domain.access).

The dependencies are `async def`: FastAPI runs a plain `def` dependency in the thread pool, a
hand-off (and a thread to wake) per dependency per request for reading a header."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from customs.api.problems import RequestInvalid
from customs.domain.access import (
    ACTOR_HEADER,
    PRINCIPAL_HEADER,
    SCOPE_HEADER,
    Scope,
    ScopeInvalid,
    parse_scope,
)


async def caller_scope(request: Request) -> Scope:
    """FastAPI dependency: what this request may see."""
    try:
        return parse_scope(request.headers.get(SCOPE_HEADER))
    except ScopeInvalid as exc:
        raise RequestInvalid(SCOPE_HEADER, "scope", str(exc)) from None


async def caller_owner(request: Request) -> str:
    """Whose idempotency keys this request uses (the gateway names the principal)."""
    return request.headers.get(PRINCIPAL_HEADER, "internal")


async def caller_actor(request: Request) -> str | None:
    """Who acts, as the gateway authenticated them (audit records use it over the body)."""
    return request.headers.get(ACTOR_HEADER)


CallerScope = Annotated[Scope, Depends(caller_scope)]
CallerOwner = Annotated[str, Depends(caller_owner)]
CallerActor = Annotated[str | None, Depends(caller_actor)]
