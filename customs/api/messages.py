"""Routes for CEB messages: submitting them, and the receipts and submissions they lead to."""

from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from clearway.http import current_correlation_id
from customs import service
from customs.api.problems import RequestInvalid, SigningNotConfigured
from customs.ceb import jsonform
from customs.ceb.parsing import MAX_BODY_BYTES, too_large
from customs.domain.errors import MessageFormatError
from customs.service import ReceiptView

router = APIRouter()

_MESSAGE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/xml": {"schema": {"type": "string", "format": "binary"}},
            jsonform.MEDIA_TYPE: {
                "schema": {
                    "oneOf": [jsonform.json_schema(t) for t in jsonform.json_message_types()]
                }
            },
        },
    }
}


async def _read_capped(request: Request) -> bytes:
    """The body, refused as soon as it passes the cap (nothing more is read or parsed)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise too_large()
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/messages", status_code=202, openapi_extra=_MESSAGE_BODY)
async def submit_message(request: Request) -> JSONResponse:
    """Submit one CEB message as XML (or its JSON form, application/json): up to 100 documents;
    202 with a receipt reference per document."""
    body = await _read_capped(request)
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    as_json = media_type == jsonform.MEDIA_TYPE
    try:
        if as_json:  # the same message as XML, then the same checks
            body = await run_in_threadpool(jsonform.to_xml, body)
        accepted = await run_in_threadpool(
            service.submit_message,
            request.app.state.customs,
            body,
            correlation_id=current_correlation_id(),
        )
    except MessageFormatError as exc:
        if as_json:
            raise jsonform.in_json_terms(exc) from None
        raise
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


def response_format(request: Request) -> str:
    """json, xml (the CEB receipt) or dxp (the receipt in a DxpMsg signed by the platform)."""
    fmt = request.query_params.get("format")
    if fmt is not None:
        if fmt.lower() not in ("json", "xml", "dxp"):
            raise RequestInvalid("format", "format", "format is json, xml or dxp")
        return fmt.lower()
    accept = request.headers.get("accept", "")
    return "xml" if "xml" in accept and "json" not in accept else "json"


@router.get(
    "/receipts/{reference}",
    responses={200: {"content": {"application/json": {}, "application/xml": {}}}},
)
async def get_receipt(reference: str, request: Request) -> Response:
    """The latest receipt of a document: JSON (with history), the official XML (?format=xml),
    or that XML in a DXP envelope signed by the platform (?format=dxp)."""
    fmt = response_format(request)
    customs = request.app.state.customs
    view = await run_in_threadpool(service.receipt_view, customs, reference)
    if fmt == "xml":
        return Response(view.as_xml(), media_type="application/xml")
    if fmt == "dxp":
        signer = customs.receipt_signer
        if signer is None:
            raise SigningNotConfigured("set CUSTOMS_RECEIPT_KEY_FILE and CUSTOMS_RECEIPT_CERT_FILE")
        signed = await run_in_threadpool(
            partial(
                signer.envelope,
                view.as_xml(),
                msg_type=view.receipt_message,
                receiver_id=view.sender_code,
            )
        )
        return Response(signed, media_type="application/xml")
    return JSONResponse(_receipt_json(view))


@router.get("/platform-certificate", responses={200: {"content": {"application/x-pem-file": {}}}})
async def platform_certificate(request: Request) -> Response:
    """The certificate that signs the platform's receipts (PEM), to verify them with."""
    signer = request.app.state.customs.receipt_signer
    if signer is None:
        raise SigningNotConfigured("set CUSTOMS_RECEIPT_KEY_FILE and CUSTOMS_RECEIPT_CERT_FILE")
    return Response(signer.certificate_pem, media_type="application/x-pem-file")


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
