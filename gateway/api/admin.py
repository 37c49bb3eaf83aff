"""Administration: tenants, users, API keys (admins for everyone, enterprises for their own)."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from gateway import tenancy
from gateway.auth import Admin, TenantMember
from gateway.context import gateway_of
from gateway.domain.access import Principal

router = APIRouter(prefix="/api/v1")

_CODE = r"^[0-9A-Za-z]{10}$|^[0-9A-Za-z]{18}$"


class TenantIn(BaseModel):
    """An enterprise to register: its name, customs codes and roles."""

    name: str = Field(min_length=1, max_length=200, examples=["杭州跨境优选电子商务有限公司"])
    codes: list[Annotated[str, Field(pattern=_CODE)]] = Field(
        min_length=1,
        max_length=20,
        description="Customs enterprise codes (10 characters) or unified social credit codes (18)",
        examples=[["3301960XYZ"]],
    )
    roles: list[str] = Field(
        min_length=1,
        examples=[["ecommerce_platform", "ecommerce_enterprise"]],
        description="ecommerce_platform, ecommerce_enterprise, payment_company, "
        "logistics_company, declaration_agent, supervision_site_operator",
    )


class UserIn(BaseModel):
    """A person who signs in to the pages."""

    login: str = Field(
        min_length=3, max_length=100, pattern=r"^[A-Za-z0-9._@-]+$", examples=["seller.zhao"]
    )
    displayName: str = Field(min_length=1, max_length=200, examples=["赵卖家"])
    password: str = Field(min_length=10, max_length=200, description="At least 10 characters")
    kind: str = Field(description="tenant, officer or admin")
    tenantId: str | None = None
    officerRole: str | None = Field(default=None, description="reviewer or supervisor")
    language: str = Field(default="zh_CN", pattern=r"^(zh_CN|en)$")


class KeyIn(BaseModel):
    """A new API client (its key is shown once)."""

    name: str = Field(min_length=1, max_length=200, examples=["order sync"])
    requireSignature: bool = Field(
        default=False, description="Refuse requests of this client that are not HMAC-signed"
    )


async def _once(request: Request, caller: Principal, status: int, make: Any) -> Response:
    """Run a gateway-side POST under its Idempotency-Key (kept in the gateway's database)."""

    async def produce() -> Any:
        return await run_in_threadpool(make)

    return await gateway_of(request).idempotency.json(
        request, owner=caller.owner, status_code=status, produce=produce
    )


def _issued(issued: tenancy.IssuedKey, shown: dict[str, Any]) -> dict[str, Any]:
    return {
        **shown,
        "key": issued.key,
        "signingSecret": issued.signing_secret,
        "note": "Keep the key and signing secret now: they are not shown again.",
    }


@router.post("/admin/tenants", status_code=201, tags=["administration"])
async def create_tenant(body: TenantIn, request: Request, caller: Admin) -> Response:
    """Register an enterprise with its customs codes and roles."""
    engine = gateway_of(request).engine
    make = partial(
        tenancy.create_tenant, engine, caller, name=body.name, codes=body.codes, roles=body.roles
    )
    return await _once(request, caller, 201, make)


@router.get("/admin/tenants", tags=["administration"])
async def list_tenants(request: Request, caller: Admin) -> dict[str, Any]:
    """Every registered enterprise."""
    found = await run_in_threadpool(tenancy.list_tenants, gateway_of(request).engine)
    return {"tenants": found}


@router.get("/admin/tenants/{tenant_id}", tags=["administration"])
async def get_tenant(tenant_id: str, request: Request, caller: Admin) -> dict[str, Any]:
    """One enterprise, its codes and roles."""
    return await run_in_threadpool(tenancy.get_tenant, gateway_of(request).engine, tenant_id)


@router.post("/admin/tenants/{tenant_id}/api-keys", status_code=201, tags=["administration"])
async def issue_tenant_key(
    tenant_id: str, body: KeyIn, request: Request, caller: Admin
) -> Response:
    """A new API key for an enterprise (shown once)."""
    gateway = gateway_of(request)

    def make() -> dict[str, Any]:
        issued, shown = tenancy.issue_key(
            gateway.engine,
            gateway.box,
            caller,
            tenant_id=tenant_id,
            name=body.name,
            require_signature=body.requireSignature,
        )
        return _issued(issued, shown)

    return await _once(request, caller, 201, make)


@router.get("/admin/tenants/{tenant_id}/api-keys", tags=["administration"])
async def list_tenant_keys(tenant_id: str, request: Request, caller: Admin) -> dict[str, Any]:
    """An enterprise's API clients (never their keys)."""
    found = await run_in_threadpool(
        tenancy.list_keys, gateway_of(request).engine, caller, tenant_id
    )
    return {"apiKeys": found}


@router.post("/admin/users", status_code=201, tags=["administration"])
async def add_user(body: UserIn, request: Request, caller: Admin) -> Response:
    """A person who signs in: a seller of an enterprise, a customs officer or an administrator."""
    make = partial(
        tenancy.add_user,
        gateway_of(request).engine,
        caller,
        login=body.login,
        display_name=body.displayName,
        password=body.password,
        kind=body.kind,
        tenant_id=body.tenantId,
        officer_role=body.officerRole,
        language=body.language,
    )
    return await _once(request, caller, 201, make)


@router.get("/admin/audit", tags=["administration"])
async def audit_log(request: Request, caller: Admin) -> dict[str, Any]:
    """The latest administrative actions: who, what, when."""
    return {"entries": await run_in_threadpool(tenancy.audit_log, gateway_of(request).engine)}


# -- an enterprise's own API keys ---------------------------------------------------------------


@router.get("/api-keys", tags=["api keys"])
async def my_keys(request: Request, caller: TenantMember) -> dict[str, Any]:
    """Your enterprise's API clients (never their keys)."""
    found = await run_in_threadpool(
        tenancy.list_keys, gateway_of(request).engine, caller, caller.tenant_id
    )
    return {"apiKeys": found}


@router.post("/api-keys", status_code=201, tags=["api keys"])
async def issue_my_key(body: KeyIn, request: Request, caller: TenantMember) -> Response:
    """A new API key for your enterprise (shown once)."""
    gateway = gateway_of(request)

    def make() -> dict[str, Any]:
        issued, shown = tenancy.issue_key(
            gateway.engine,
            gateway.box,
            caller,
            tenant_id=caller.tenant_id,
            name=body.name,
            require_signature=body.requireSignature,
        )
        return _issued(issued, shown)

    return await _once(request, caller, 201, make)


@router.post("/api-keys/{client_id}/rotate", tags=["api keys"])
async def rotate_key(client_id: str, request: Request, caller: TenantMember) -> Response:
    """A new key for one of your clients; the old key stops working within seconds."""
    engine = gateway_of(request).engine

    def make() -> dict[str, Any]:
        issued = tenancy.rotate_key(engine, caller, client_id)
        return {"clientId": issued.client_id, "key": issued.key}

    return await _once(request, caller, 200, make)


@router.delete("/api-keys/{client_id}", tags=["api keys"])
async def revoke_key(client_id: str, request: Request, caller: TenantMember) -> dict[str, Any]:
    """Revoke one of your API clients (its key and access tokens stop working)."""
    return await run_in_threadpool(
        tenancy.revoke_key, gateway_of(request).engine, caller, client_id
    )
