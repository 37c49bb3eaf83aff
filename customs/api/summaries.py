"""Routes for export summary declarations (CEB701) and their results (CEB792)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from customs import export, export_views, visibility
from customs.api.messages import response_format
from customs.api.scope import CallerScope
from customs.domain.access import Scope

router = APIRouter()


def _summary_json(view: export_views.SummaryView) -> dict[str, Any]:
    result = view.result or {}
    return {
        "reference": view.reference,
        "messageType": export.APPLICATION,
        **view.application,
        "status": view.status,
        "returnStatus": view.return_status,
        "sumNo": result.get("sumNo"),
        "declSeqNo": result.get("declSeqNo"),
        "entryId": result.get("entryId"),
        "decState": result.get("decState"),
        "opDate": result.get("opDate"),
        "inventories": list(view.inventories),
        "notOnRecord": list(view.not_on_record),
        "lineCount": view.line_count,
        "summaryFlag": view.application.get("summaryFlag"),
        "declarations": list(view.declarations),
        "receipt": f"/v1/receipts/{view.reference}",
        "result": f"/v1/summaries/{view.reference}/result" if view.result else None,
    }


async def _visible(request: Request, scope: Scope, reference: str) -> None:
    customs = request.app.state.customs
    if not await run_in_threadpool(visibility.document_visible, customs, scope, reference):
        raise export.SummaryNotFound(f"no summary application {reference}")


@router.get("/summaries/{reference}")
async def get_summary(reference: str, request: Request, scope: CallerScope) -> dict[str, Any]:
    """An export summary application (CEB701, by its receipt reference): its status and, once
    concluded, the customs declaration number (entryId) the export tax refund needs."""
    await _visible(request, scope, reference)
    view = await run_in_threadpool(export_views.summary_view, request.app.state.customs, reference)
    return _summary_json(view)


@router.get(
    "/summaries/{reference}/result",
    responses={200: {"content": {"application/json": {}, "application/xml": {}}}},
)
async def get_summary_result(reference: str, request: Request, scope: CallerScope) -> Response:
    """The summary result: JSON, or the official CEB792 XML (?format=xml); 404 until issued."""
    await _visible(request, scope, reference)
    result = await run_in_threadpool(
        export_views.summary_result, request.app.state.customs, reference
    )
    if response_format(request) != "json":
        return Response(result.as_xml(), media_type="application/xml")
    return JSONResponse(result.as_json())
