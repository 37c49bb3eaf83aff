"""Customs JSON/XML routes: thin, they parse, call a use case and shape the answer."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from clearway.http import Problem, current_correlation_id
from customs import service
from customs.ceb.parsing import MAX_BODY_BYTES
from customs.domain.errors import FieldError, MessageFormatError, MessageTooLarge
from customs.service import NotFound, ReceiptView

router = APIRouter(prefix="/v1")

_XML_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/xml": {"schema": {"type": "string", "format": "binary"}}},
    }
}


def _format_problem(exc: MessageFormatError) -> Problem:
    status = 413 if isinstance(exc, MessageTooLarge) else 400 if exc.code == "0001" else 422
    errors = [
        {
            k: v
            for k, v in (
                ("path", e.path),
                ("line", e.line),
                ("rule", e.rule),
                ("message", e.message),
                ("value", e.value),
            )
            if v is not None
        }
        for e in exc.errors[:50]
    ]
    return Problem(
        status=status,
        title=exc.title,
        type=f"/problems/ceb-format-{exc.code}",
        detail=str(exc),
        errors=errors,
        extra={"code": exc.code},
    )


def _not_found(exc: NotFound) -> Problem:
    return Problem(404, "Not found", type="/problems/not-found", detail=str(exc))


PROBLEMS: dict[type[Exception], Any] = {MessageFormatError: _format_problem, NotFound: _not_found}


async def _read_capped(request: Request) -> bytes:
    """The body, refused as soon as it passes the cap (nothing more is read or parsed)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise MessageTooLarge(
                code="0001",
                title="Message body too large",
                errors=(
                    FieldError(
                        path="/",
                        rule="max-body-size",
                        message=f"at most {MAX_BODY_BYTES} bytes are accepted",
                    ),
                ),
            )
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/messages", status_code=202, openapi_extra=_XML_BODY)
async def submit_message(request: Request) -> JSONResponse:
    """Submit one CEB message (up to 100 documents); 202 with a receipt reference per document."""
    body = await _read_capped(request)
    accepted = await run_in_threadpool(
        service.submit_message,
        request.app.state.customs,
        body,
        correlation_id=current_correlation_id(),
    )
    return JSONResponse(
        status_code=202,
        headers={"Location": f"/v1/submissions/{accepted.submission_id}"},
        content={
            "submissionId": accepted.submission_id,
            "messageType": accepted.message_type,
            "documents": [
                {
                    "reference": d.reference,
                    "businessKey": d.business_key,
                    "returnStatus": d.return_status,
                    "receipt": f"/v1/receipts/{d.reference}",
                }
                for d in accepted.documents
            ],
        },
    )


def _receipt_json(view: ReceiptView) -> dict[str, Any]:
    return {
        "reference": view.reference,
        "messageType": view.receipt_message,
        **view.keys,
        "returnStatus": view.return_status,
        "returnTime": view.return_time,
        "returnInfo": view.return_info,
        "history": list(view.history),
    }


def _wants_xml(request: Request) -> bool:
    fmt = request.query_params.get("format")
    if fmt is not None:
        return fmt.lower() == "xml"
    accept = request.headers.get("accept", "")
    return "xml" in accept and "json" not in accept


@router.get(
    "/receipts/{reference}",
    responses={200: {"content": {"application/json": {}, "application/xml": {}}}},
)
async def get_receipt(reference: str, request: Request) -> Response:
    """The latest receipt of a document: JSON (with history) or the official XML (?format=xml)."""
    view = await run_in_threadpool(service.receipt_view, request.app.state.customs, reference)
    if _wants_xml(request):
        return Response(view.as_xml(), media_type="application/xml")
    return JSONResponse(_receipt_json(view))


@router.get("/submissions/{submission_id}")
async def get_submission(submission_id: str, request: Request) -> dict[str, Any]:
    """The documents of a submission with their current return status."""
    docs = await run_in_threadpool(
        service.submission_documents, request.app.state.customs, submission_id
    )
    return {
        "submissionId": submission_id,
        "documents": [
            {
                "reference": d.id,
                "businessKey": d.business_key,
                "returnStatus": d.return_status,
                "receipt": f"/v1/receipts/{d.id}",
            }
            for d in docs
        ],
    }
