"""The sellers' pages: their declarations and receipts, filing forms with pre-flight checks,
API keys and the hosted signing identity. Bulk upload is in `upload_pages`."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from gateway import filing, tenancy
from gateway.context import gateway_of
from gateway.domain import filing as forms
from gateway.domain.access import Kind
from gateway.upstream import call
from gateway.web.documents import side_by_side
from gateway.web.field_labels import LABELS
from gateway.web.session import check_form_csrf, redirect, render, signed_in
from schemas.envelope import utc_now

router = APIRouter(prefix="/seller", include_in_schema=False)

_ROLE_OF_KIND = {"CEB311": "order", "CEB411": "payment", "CEB511": "waybill", "CEB621": "inventory"}


@router.get("")
async def home(request: Request) -> Response:
    user = await signed_in(request, Kind.TENANT)
    chosen = {k: request.query_params.get(k, "").strip() for k in ("status", "orderNo")}
    customs = gateway_of(request).customs
    params = {"status": chosen["status"] if chosen["status"].lstrip("-").isdigit() else None}
    params["orderNo"] = chosen["orderNo"] or None
    answer = await call(customs, "GET", "/v1/declarations", user.principal, params=params)
    receipts = await call(customs, "GET", "/v1/receipts", user.principal, params={"limit": 1000})
    latest = list(reversed(receipts.json()["receipts"]))[:30] if receipts.status_code == 200 else []
    return render(
        request,
        "seller_home.html",
        {
            "rows": answer.json()["declarations"] if answer.status_code == 200 else [],
            "chosen": chosen,
            "receipts": latest,
            "bad_status": bool(chosen["status"]) and params["status"] is None,
        },
        user=user,
    )


@router.get("/declarations/{declaration_id}")
async def declaration(declaration_id: str, request: Request) -> Response:
    user = await signed_in(request, Kind.TENANT)
    answer = await call(
        gateway_of(request).customs,
        "GET",
        f"/v1/declarations/{declaration_id}",
        user.principal,
    )
    if answer.status_code != 200:
        return render(
            request, "not_found.html", {"what": declaration_id}, user=user, status_code=404
        )
    view = answer.json()
    return render(
        request,
        "seller_declaration.html",
        {"d": view, "fields": side_by_side(view), "fixes": _fixes(view)},
        user=user,
    )


def _fixes(view: dict[str, Any]) -> list[dict[str, str]]:
    """What to correct, one line per document field a match difference points at."""
    found: list[dict[str, str]] = []
    for mismatch in view.get("mismatches") or []:
        for side in ("left", "right"):
            place = str(mismatch.get(side, ""))
            kind, _, path = place.partition(" ")
            role = _ROLE_OF_KIND.get(kind)
            if role and "/" in path:
                found.append(
                    {
                        "role": role,
                        "field": path.rsplit("/", 1)[-1],
                        "value": str(mismatch.get(f"{side}_value", "")),
                        "rule": str(mismatch.get("rule", "")),
                        "message": str(mismatch.get("message", "")),
                    }
                )
                break
    return found


def _form_values(kind: str, request: Request) -> dict[str, str]:
    values = {f.name: f.example for f in forms.FORMS[kind]}
    for name in ("orderNo",):
        if request.query_params.get(name):
            values[name] = request.query_params[name]
    return values


@router.get("/file")
async def file_form(request: Request) -> Response:
    user = await signed_in(request, Kind.TENANT)
    kind = request.query_params.get("kind", "order")
    if kind not in forms.KINDS:
        kind = "order"
    return _file_page(request, user, kind, _form_values(kind, request))


def _file_page(
    request: Request,
    user: Any,
    kind: str,
    values: dict[str, str],
    *,
    check: dict[str, Any] | None = None,
    submitted: dict[str, Any] | None = None,
    errors: list[dict[str, Any]] | None = None,
    status_code: int = 200,
) -> Response:
    by_field: dict[str, list[dict[str, Any]]] = defaultdict(list)
    general: list[dict[str, Any]] = []
    for error in (errors or []) + ((check or {}).get("formatErrors") or []):
        name = forms.field_of_pointer(str(error.get("path", "")))
        (by_field[name] if name else general).append(error)
    for warning in (check or {}).get("ruleWarnings") or []:
        name = forms.field_of_pointer(str(warning.get("path", "")))
        (by_field[name] if name else general).append({**warning, "warning": True})
    line_fields = {f.element for f in forms.FORMS[kind] if f.on_line}
    for mismatch in (check or {}).get("mismatches") or []:
        here = mismatch.get("fieldHere")
        if here:
            name = f"line.{here}" if here in line_fields and here not in values else here
            by_field[name].append({**mismatch, "mismatch": True})
        else:
            general.append({**mismatch, "mismatch": True})
    return render(
        request,
        "seller_file.html",
        {
            "kind": kind,
            "kinds": forms.KINDS,
            "fields": forms.FORMS[kind],
            "labels": LABELS,
            "values": values,
            "by_field": by_field,
            "general": general,
            "check": check,
            "submitted": submitted,
            "signing": filing.identity_json(
                filing.active_identity(gateway_of(request), user.principal.tenant_id)
            ),
        },
        user=user,
        status_code=status_code,
    )


@router.post("/file")
async def file_submit(request: Request) -> Response:
    user = await signed_in(request, Kind.TENANT)
    form = await check_form_csrf(request, user)
    kind = str(form.get("kind", ""))
    if kind not in forms.KINDS:
        return redirect("/seller/file")
    values = {f.name: str(form.get(f.name, "")) for f in forms.FORMS[kind]}
    gateway = gateway_of(request)
    stamped = filing.stamped(kind, values, now=utc_now())
    document = forms.document(kind, stamped)
    if forms.sender_code(kind, document["head"], user.principal.codes) is None:
        error = _not_yours(kind)
        return _file_page(request, user, kind, values, errors=[error], status_code=422)
    if form.get("action") == "check":
        answer = await filing.preflight(gateway, user.principal, kind, document)
        if answer.status_code != 200:
            errors = filing.problem_errors(answer)
            return _file_page(request, user, kind, values, errors=errors, status_code=422)
        return _file_page(request, user, kind, values, check=answer.json())
    try:
        answer = await filing.submit(gateway, user.principal, kind, [document])
    except filing.SigningUnavailable as exc:
        error = {"path": "", "rule": "hosted-signing", "message": str(exc)}
        return _file_page(request, user, kind, values, errors=[error], status_code=422)
    if answer.status_code != 202:
        errors = filing.problem_errors(answer)
        return _file_page(request, user, kind, values, errors=errors, status_code=422)
    return _file_page(request, user, kind, values, submitted=answer.json())


def _not_yours(kind: str) -> dict[str, str]:
    names = " / ".join(forms.SENDER_FIELDS[kind])
    return {
        "path": f"/documents/0/head/{forms.SENDER_FIELDS[kind][0]}",
        "rule": "own-code",
        "message": f"{names} must be one of your enterprise codes to file this document",
    }


@router.get("/keys")
async def keys(request: Request) -> Response:
    user = await signed_in(request, Kind.TENANT)
    return await _keys_page(request, user)


async def _keys_page(
    request: Request, user: Any, *, issued: dict[str, Any] | None = None, error: str | None = None
) -> Response:
    gateway = gateway_of(request)
    listed = await run_in_threadpool(
        tenancy.list_keys, gateway.engine, user.principal, user.principal.tenant_id
    )
    identity = filing.identity_json(filing.active_identity(gateway, user.principal.tenant_id))
    return render(
        request,
        "seller_keys.html",
        {"keys": listed, "issued": issued, "identity": identity, "error": error},
        user=user,
    )


@router.post("/keys")
async def issue_key(request: Request) -> Response:
    user = await signed_in(request, Kind.TENANT)
    form = await check_form_csrf(request, user)
    name = str(form.get("name", "")).strip()
    if not name or len(name) > 200:
        return await _keys_page(request, user, error="name: 1 to 200 characters")
    gateway = gateway_of(request)
    issued, shown = await run_in_threadpool(
        lambda: tenancy.issue_key(
            gateway.engine,
            gateway.box,
            user.principal,
            tenant_id=user.principal.tenant_id,
            name=name,
        )
    )
    return await _keys_page(
        request, user, issued={**shown, "key": issued.key, "signingSecret": issued.signing_secret}
    )


@router.post("/keys/{client_id}/rotate")
async def rotate_key(client_id: str, request: Request) -> Response:
    user = await signed_in(request, Kind.TENANT)
    await check_form_csrf(request, user)
    gateway = gateway_of(request)
    try:
        issued = await run_in_threadpool(
            tenancy.rotate_key, gateway.engine, user.principal, client_id
        )
    except (tenancy.NotFound, tenancy.Conflict) as exc:
        return await _keys_page(request, user, error=str(exc))
    return await _keys_page(
        request, user, issued={"clientId": client_id, "key": issued.key, "signingSecret": None}
    )


@router.post("/keys/{client_id}/revoke")
async def revoke_key(client_id: str, request: Request) -> Response:
    user = await signed_in(request, Kind.TENANT)
    await check_form_csrf(request, user)
    try:
        await run_in_threadpool(
            tenancy.revoke_key, gateway_of(request).engine, user.principal, client_id
        )
    except tenancy.NotFound as exc:
        return await _keys_page(request, user, error=str(exc))
    return redirect("/seller/keys")


@router.post("/signing-identity")
async def create_signing_identity(request: Request) -> Response:
    user = await signed_in(request, Kind.TENANT)
    await check_form_csrf(request, user)
    try:
        await filing.create_identity(gateway_of(request), user.principal)
    except (tenancy.Invalid, tenancy.Conflict) as exc:
        return await _keys_page(request, user, error=str(exc))
    return redirect("/seller/keys")
