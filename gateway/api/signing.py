"""Hosted ("cloud") signing: the gateway holds an SM2 identity for an enterprise and signs the
inventories it files from the pages."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from gateway import filing
from gateway.auth import TenantMember
from gateway.context import gateway_of

router = APIRouter(prefix="/api/v1")


@router.get("/signing-identity", tags=["api keys"])
async def signing_identity(request: Request, caller: TenantMember) -> dict[str, Any]:
    """Your hosted signing identity (its certificate and the codes it is registered to)."""
    identity = filing.active_identity(gateway_of(request), caller.tenant_id)
    return {"identity": filing.identity_json(identity)}


@router.post("/signing-identity", status_code=201, tags=["api keys"])
async def create_signing_identity(request: Request, caller: TenantMember) -> dict[str, Any]:
    """Have the gateway make an SM2 key and certificate for you, registered with customs for
    each of your enterprise codes; the key never leaves the gateway (kept encrypted). A previous
    identity is retired. Audited."""
    return {"identity": await filing.create_identity(gateway_of(request), caller)}
