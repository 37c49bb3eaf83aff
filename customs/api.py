"""Customs JSON/XML routes: thin, they parse, call a use case and shape the answer."""

from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from clearway.http import Problem, current_correlation_id
from customs import certificates, clearance_service, export, service
from customs.ceb import jsonform
from customs.ceb.parsing import MAX_BODY_BYTES
from customs.certificates import CertificateInvalid, CertificateNotFound, SignatureRejected
from customs.clearance_service import DeclarationNotFound, OfficerDecision
from customs.domain.clearance import Action, TransitionRefused
from customs.domain.errors import FieldError, MessageFormatError, MessageTooLarge
from customs.service import NotFound, ReceiptView

router = APIRouter(prefix="/v1")

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


def _signature_problem(exc: SignatureRejected) -> Problem:
    problem = _format_problem(exc)
    return Problem(
        422,
        exc.title,
        type="/problems/ceb-signature",
        detail=problem.detail,
        errors=problem.errors,
        extra={"code": exc.code, "returnStatus": int(exc.code)},
    )


def _certificate_problem(exc: CertificateInvalid) -> Problem:
    field, _, message = str(exc).partition(": ")
    return Problem(
        422,
        "Certificate cannot be registered",
        type="/problems/certificate-invalid",
        errors=[{"path": field, "rule": "certificate", "message": message}],
    )


class InvalidDecision(ValueError):
    """An officer decision whose details do not fit its action."""


def _refused(exc: TransitionRefused) -> Problem:
    return Problem(
        409,
        "Not allowed in the declaration's state",
        type="/problems/transition-refused",
        detail=str(exc),
        extra={"status": exc.current, "allowedFrom": sorted(exc.allowed)},
    )


def _bad_decision(exc: ValueError) -> Problem:
    return Problem(
        422,
        "Decision is invalid",
        type="/problems/decision-invalid",
        errors=[{"path": "detentionCode", "rule": "detention-code", "message": str(exc)}],
    )


PROBLEMS: dict[type[Exception], Any] = {
    TransitionRefused: _refused,
    InvalidDecision: _bad_decision,
    DeclarationNotFound: _not_found,
    MessageFormatError: _format_problem,
    SignatureRejected: _signature_problem,
    CertificateInvalid: _certificate_problem,
    NotFound: _not_found,
    CertificateNotFound: _not_found,
    export.SummaryNotFound: _not_found,
}


class CertificateIn(BaseModel):
    """A signing certificate to register to an enterprise."""

    enterpriseCode: str = Field(pattern=r"^[0-9A-Za-z]{1,18}$")
    certificate: str = Field(min_length=1, max_length=20_000, description="PEM or base64 DER")
    algorithms: list[str] = Field(
        min_length=1,
        description="SignatureMethod URIs this certificate may sign with",
        examples=[["http://www.chinaport.gov.cn/2022/04/xmldsig#sm2-sm3"]],
    )


def _certificate_json(cert: certificates.RegisteredCertificate) -> dict[str, Any]:
    return {
        "id": cert.id,
        "enterpriseCode": cert.enterprise_code,
        "fingerprint": cert.fingerprint,
        "subject": cert.subject,
        "algorithms": list(cert.algorithms),
        "registeredAt": cert.registered_at.isoformat(),
        "revokedAt": cert.revoked_at.isoformat() if cert.revoked_at else None,
    }


@router.post("/certificates", status_code=201)
async def register_certificate(body: CertificateIn, request: Request) -> dict[str, Any]:
    """Register a signing certificate to an enterprise (signatures by others are refused)."""
    cert = await run_in_threadpool(
        partial(
            certificates.register,
            request.app.state.customs,
            enterprise_code=body.enterpriseCode,
            certificate=body.certificate,
            algorithms=body.algorithms,
        )
    )
    return _certificate_json(cert)


@router.get("/certificates")
async def list_certificates(enterpriseCode: str, request: Request) -> dict[str, Any]:
    """The certificates registered to an enterprise."""
    found = await run_in_threadpool(certificates.listed, request.app.state.customs, enterpriseCode)
    return {"certificates": [_certificate_json(c) for c in found]}


@router.delete("/certificates/{certificate_id}")
async def revoke_certificate(certificate_id: int, request: Request) -> dict[str, Any]:
    """Revoke a certificate: messages signed with it are refused from now on."""
    cert = await run_in_threadpool(certificates.revoke, request.app.state.customs, certificate_id)
    return _certificate_json(cert)


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


def _format(request: Request) -> str:
    """json, xml (the CEB receipt) or dxp (the receipt in a DxpMsg signed by the platform)."""
    fmt = request.query_params.get("format")
    if fmt is not None:
        if fmt.lower() not in ("json", "xml", "dxp"):
            raise RequestInvalid("format", "format", "format is json, xml or dxp")
        return fmt.lower()
    accept = request.headers.get("accept", "")
    return "xml" if "xml" in accept and "json" not in accept else "json"


class RequestInvalid(ValueError):
    """A query parameter breaks its rule."""

    def __init__(self, path: str, rule: str, message: str) -> None:
        super().__init__(message)
        self.path, self.rule = path, rule


class SigningNotConfigured(LookupError):
    """The platform has no receipt-signing identity configured."""


def _request_invalid(exc: RequestInvalid) -> Problem:
    return Problem(
        422,
        "Request is invalid",
        type="/problems/request-invalid",
        errors=[{"path": exc.path, "rule": exc.rule, "message": str(exc)}],
    )


def _signing_not_configured(exc: SigningNotConfigured) -> Problem:
    return Problem(404, "Receipt signing is not configured", detail=str(exc))


PROBLEMS[RequestInvalid] = _request_invalid
PROBLEMS[SigningNotConfigured] = _signing_not_configured


@router.get(
    "/receipts/{reference}",
    responses={200: {"content": {"application/json": {}, "application/xml": {}}}},
)
async def get_receipt(reference: str, request: Request) -> Response:
    """The latest receipt of a document: JSON (with history), the official XML (?format=xml),
    or that XML in a DXP envelope signed by the platform (?format=dxp)."""
    fmt = _format(request)
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


class DecisionIn(BaseModel):
    """An officer's decision on a declaration; every decision is audited with its reason."""

    action: Action = Field(description="release, inspect, detain, return_abroad, reject or close")
    officer: str = Field(min_length=1, max_length=100, description="Who decides (audited)")
    reason: str = Field(min_length=1, max_length=1000, description="Why (audited)")
    detentionCode: int | None = Field(default=None, description="501, 502, 503 or 599")
    findings: str | None = Field(default=None, max_length=4000, description="Inspection findings")

    def route_only(self) -> bool:
        return self.action.value.startswith("route_")


@router.get("/declarations")
async def list_declarations(
    request: Request,
    status: int | None = None,
    orderNo: str | None = None,
) -> dict[str, Any]:
    """Import declarations by clearance status (300 = the review queue) or order number."""
    found = await run_in_threadpool(
        partial(
            clearance_service.find_declarations,
            request.app.state.customs,
            status=status,
            order_no=orderNo,
        )
    )
    return {"declarations": found}


@router.get("/declarations/{declaration_id}")
async def get_declaration(declaration_id: str, request: Request) -> dict[str, Any]:
    """A declaration: its four documents, match differences, tax, risk reasons and timeline."""
    return await run_in_threadpool(
        clearance_service.declaration_view, request.app.state.customs, declaration_id
    )


@router.post("/declarations/{declaration_id}/decisions")
async def decide(declaration_id: str, body: DecisionIn, request: Request) -> dict[str, Any]:
    """Record an officer's decision; answers with the receipts it issued."""
    if body.route_only():
        raise InvalidDecision(f"{body.action.value} is chosen by risk, not by an officer")

    def run() -> tuple[int, ...]:
        try:
            return clearance_service.decide(
                request.app.state.customs,
                declaration_id,
                OfficerDecision(
                    action=body.action,
                    officer=body.officer,
                    reason=body.reason,
                    detention_code=body.detentionCode,
                    findings=body.findings,
                ),
                correlation_id=current_correlation_id(),
            )
        except ValueError as exc:  # e.g. a detention without an official code
            raise InvalidDecision(str(exc)) from None

    codes = await run_in_threadpool(run)
    return {"declarationId": declaration_id, "returnStatuses": list(codes)}


def _summary_json(view: export.SummaryView) -> dict[str, Any]:
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
        "receipt": f"/v1/receipts/{view.reference}",
        "result": f"/v1/summaries/{view.reference}/result" if view.result else None,
    }


@router.get("/summaries/{reference}")
async def get_summary(reference: str, request: Request) -> dict[str, Any]:
    """An export summary application (CEB701, by its receipt reference): its status and, once
    concluded, the customs declaration number (entryId) the export tax refund needs."""
    view = await run_in_threadpool(export.summary_view, request.app.state.customs, reference)
    return _summary_json(view)


@router.get(
    "/summaries/{reference}/result",
    responses={200: {"content": {"application/json": {}, "application/xml": {}}}},
)
async def get_summary_result(reference: str, request: Request) -> Response:
    """The summary result: JSON, or the official CEB792 XML (?format=xml); 404 until issued."""
    result = await run_in_threadpool(export.summary_result, request.app.state.customs, reference)
    if _format(request) != "json":
        return Response(result.as_xml(), media_type="application/xml")
    return JSONResponse(result.as_json())
