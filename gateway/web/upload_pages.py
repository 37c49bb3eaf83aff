"""Bulk upload pages: templates, the upload form, a progress bar and the per-row report."""

from __future__ import annotations

from functools import partial

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from gateway import tenancy, uploads
from gateway.context import gateway_of
from gateway.domain import filing as forms
from gateway.domain.access import Kind
from gateway.web.session import check_form_csrf, redirect, render, signed_in

router = APIRouter(prefix="/seller/upload", include_in_schema=False)

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("")
async def upload_form(request: Request) -> Response:
    user = await signed_in(request, Kind.TENANT)
    return render(
        request,
        "seller_upload.html",
        {"columns": forms.SHEET_COLUMNS, "error": None, "kinds": forms.KINDS},
        user=user,
    )


@router.get("/template.csv")
async def template_csv(request: Request) -> Response:
    await signed_in(request, Kind.TENANT)
    return Response(
        uploads.template_csv(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="clearway-documents.csv"'},
    )


@router.get("/template.xlsx")
async def template_xlsx(request: Request) -> Response:
    await signed_in(request, Kind.TENANT)
    data = await run_in_threadpool(uploads.template_xlsx)
    return Response(
        data,
        media_type=_XLSX,
        headers={"Content-Disposition": 'attachment; filename="clearway-documents.xlsx"'},
    )


@router.post("")
async def upload(request: Request) -> Response:
    user = await signed_in(request, Kind.TENANT)
    form = await check_form_csrf(request, user)
    sheet = form.get("file")
    gateway = gateway_of(request)
    try:
        if not isinstance(sheet, UploadFile) or not sheet.filename:
            raise tenancy.Invalid("file", "required", "choose a .csv or .xlsx file to upload")
        try:
            data = await sheet.read(MAX_UPLOAD_BYTES + 1)
        finally:
            await sheet.close()
        if len(data) > MAX_UPLOAD_BYTES:
            raise tenancy.Invalid("file", "max-size", "a file of at most 10 MB")
        rows = await run_in_threadpool(uploads.read_sheet, sheet.filename, data)
        job_id = await run_in_threadpool(
            partial(uploads.create_job, gateway, user.principal, sheet.filename, rows)
        )
    except tenancy.Invalid as exc:
        return render(
            request,
            "seller_upload.html",
            {
                "columns": forms.SHEET_COLUMNS,
                "kinds": forms.KINDS,
                "error": f"{exc.field} ({exc.rule}): {exc}",
            },
            user=user,
            status_code=422,
        )
    uploads.start(gateway, job_id)
    return redirect(f"/seller/upload/{job_id}")


@router.get("/{job_id}")
async def job_page(job_id: str, request: Request) -> Response:
    user = await signed_in(request, Kind.TENANT)
    try:
        job = await run_in_threadpool(uploads.status, gateway_of(request), user.principal, job_id)
    except tenancy.NotFound:
        return render(request, "not_found.html", {"what": job_id}, user=user, status_code=404)
    return render(request, "seller_upload_job.html", {"job": job}, user=user)


@router.get("/{job_id}/status")
async def job_status(job_id: str, request: Request) -> Response:
    user = await signed_in(request, Kind.TENANT)
    try:
        job = await run_in_threadpool(uploads.status, gateway_of(request), user.principal, job_id)
    except tenancy.NotFound as exc:
        return JSONResponse({"detail": str(exc)}, status_code=404)
    return JSONResponse(job)
