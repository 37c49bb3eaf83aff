"""The administrators' page: enterprises, people who sign in, and the audit log."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from gateway import tenancy
from gateway.context import gateway_of
from gateway.domain.access import Kind, TenantRole
from gateway.web.session import check_form_csrf, redirect, render, signed_in

router = APIRouter(prefix="/admin", include_in_schema=False)


@router.get("")
async def admin_home(request: Request) -> Response:
    user = await signed_in(request, Kind.ADMIN)
    engine = gateway_of(request).engine
    tenants = await run_in_threadpool(tenancy.list_tenants, engine)
    audit = await run_in_threadpool(tenancy.audit_log, engine, 50)
    return render(
        request,
        "admin.html",
        {
            "tenants": tenants,
            "audit": audit,
            "roles": [r.value for r in TenantRole],
            "notice": request.query_params.get("notice"),
            "error": request.query_params.get("error"),
        },
        user=user,
    )


@router.post("/tenants")
async def create_tenant(request: Request) -> Response:
    user = await signed_in(request, Kind.ADMIN)
    form = await check_form_csrf(request, user)
    codes = [c.strip() for c in str(form.get("codes", "")).replace(",", " ").split() if c.strip()]
    roles = (await request.form()).getlist("roles")
    try:
        await run_in_threadpool(
            lambda: tenancy.create_tenant(
                gateway_of(request).engine,
                user.principal,
                name=str(form.get("name", "")).strip(),
                codes=codes,
                roles=[str(r) for r in roles],
            )
        )
    except (tenancy.Invalid, tenancy.Conflict) as exc:
        return redirect(f"/admin?error={quote(str(exc))}")
    return redirect("/admin?notice=tenant")


@router.post("/users")
async def add_user(request: Request) -> Response:
    user = await signed_in(request, Kind.ADMIN)
    form = await check_form_csrf(request, user)
    kind = str(form.get("kind", "tenant"))
    try:
        await run_in_threadpool(
            lambda: tenancy.add_user(
                gateway_of(request).engine,
                user.principal,
                login=str(form.get("login", "")).strip(),
                display_name=str(form.get("displayName", "")).strip() or str(form.get("login")),
                password=str(form.get("password", "")),
                kind=kind,
                tenant_id=str(form.get("tenantId")) if kind == "tenant" else None,
                officer_role=str(form.get("officerRole")) if kind == "officer" else None,
                language=str(form.get("language", "zh_CN")),
            )
        )
    except (tenancy.Invalid, tenancy.Conflict) as exc:
        return redirect(f"/admin?error={quote(str(exc))}")
    return redirect("/admin?notice=user")
