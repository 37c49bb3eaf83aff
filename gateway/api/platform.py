"""Routes for platforms, enterprises and officers, passed through to the services behind.

Each route authenticates the caller, checks its role, and forwards the request with the caller's
scope: customs answers only about objects carrying one of the caller's enterprise codes (officers
see everything, personal data masked), and refuses filings for other enterprises' codes.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from gateway.auth import Caller, Filer, Officer
from gateway.context import gateway_of
from gateway.upstream import forward

router = APIRouter(prefix="/api/v1")

_MESSAGE_EXAMPLE = """<?xml version="1.0" encoding="UTF-8"?>
<ceb:CEB311Message guid="4CDE1CFD-EDED-46B1-946C-B8022E42FC94" version="1.0"
    xmlns:ceb="http://www.chinaport.gov.cn/ceb" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <ceb:Order>
    <ceb:OrderHead>...</ceb:OrderHead>
    <ceb:OrderList>...</ceb:OrderList>
  </ceb:Order>
  <ceb:BaseTransfer>
    <ceb:copCode>1105910159</ceb:copCode>
    <ceb:copName>东方物逸</ceb:copName>
    <ceb:dxpMode>DXP</ceb:dxpMode>
    <ceb:dxpId>DXPENT0000530815</ceb:dxpId>
  </ceb:BaseTransfer>
</ceb:CEB311Message>"""

_SUBMIT_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/xml": {
                "schema": {"type": "string", "format": "binary"},
                "example": _MESSAGE_EXAMPLE,
            },
            "application/vnd.clearway.ceb+json": {"schema": {"type": "object"}},
        },
    },
    "parameters": [
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "schema": {"type": "string", "maxLength": 200},
            "description": "Send the same key to retry safely: a replay answers the first answer.",
        }
    ],
    "responses": {
        "202": {
            "description": "Accepted: one receipt reference per document, with the status "
            "customs decided on it (120 accepted, or the refusal's code)",
            "content": {
                "application/json": {
                    "example": {
                        "submissionId": "0d6c1c1e-5c2b-4f1e-9d0e-2b0f6f1c9a11",
                        "messageType": "CEB311Message",
                        "documents": [
                            {
                                "reference": "7f0e4c1a-8d54-4c39-a7a2-3f3c6f0e9b20",
                                "businessKey": "order20221019001",
                                "returnStatus": 120,
                                "receipt": "/api/v1/receipts/7f0e4c1a-8d54-4c39-a7a2-3f3c6f0e9b20",
                            }
                        ],
                    }
                }
            },
        },
        "422": {
            "description": "The message breaks a rule: each error names the element path, "
            "line, rule and value (CEB900-style codes, or the spec's negative codes)"
        },
    },
}


@router.post("/messages", status_code=202, openapi_extra=_SUBMIT_DOC, tags=["platforms"])
async def submit_message(request: Request, caller: Filer) -> Response:
    """Submit a CEB message: XML, a DXP envelope, or its JSON form; up to 100 documents. The
    sender (BaseTransfer/copCode) must be one of your enterprise codes."""
    return await forward(gateway_of(request).customs, request, "/v1/messages", caller)


@router.post("/preflight", tags=["platforms"])
async def preflight(request: Request, caller: Filer) -> Response:
    """Check one order, payment, waybill or inventory in its JSON form before filing it; nothing
    is stored. Answers the format errors, the match problems against the counterparts on file
    that you may see, and for an inventory the tax estimate and the buyer's remaining quota."""
    return await forward(gateway_of(request).customs, request, "/v1/preflight", caller)


@router.get("/receipts", tags=["platforms"])
async def list_receipts(request: Request, caller: Caller) -> Response:
    """Pull your receipts, oldest first: `after` (the last receipt id you saw), `since` (a
    time), `status` (a return status), `messageType`, `limit`."""
    return await forward(gateway_of(request).customs, request, "/v1/receipts", caller)


@router.get("/receipts/{reference}", tags=["platforms"])
async def get_receipt(reference: str, request: Request, caller: Caller) -> Response:
    """A document's latest receipt: JSON with its history, CEB XML (`?format=xml`), or a DXP
    envelope signed by the platform (`?format=dxp`)."""
    path = f"/v1/receipts/{reference}"
    return await forward(gateway_of(request).customs, request, path, caller)


@router.get("/submissions/{submission_id}", tags=["platforms"])
async def get_submission(submission_id: str, request: Request, caller: Caller) -> Response:
    """The documents of one of your submissions and their current return status."""
    path = f"/v1/submissions/{submission_id}"
    return await forward(gateway_of(request).customs, request, path, caller)


def _json_body(schema: dict[str, Any], example: dict[str, Any]) -> dict[str, Any]:
    """An OpenAPI request body for a route the gateway passes through unparsed."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schema, "example": example}},
        }
    }


_CERTIFICATE_DOC = _json_body(
    {
        "type": "object",
        "required": ["enterpriseCode", "certificate", "algorithms"],
        "properties": {
            "enterpriseCode": {"type": "string", "pattern": "^[0-9A-Za-z]{1,18}$"},
            "certificate": {"type": "string", "description": "PEM or base64 DER"},
            "algorithms": {"type": "array", "items": {"type": "string"}},
        },
    },
    {
        "enterpriseCode": "1101180326",
        "certificate": "-----BEGIN CERTIFICATE-----\nMIIB...\n-----END CERTIFICATE-----\n",
        "algorithms": ["http://www.chinaport.gov.cn/2022/04/xmldsig#sm2-sm3"],
    },
)
_DECISION_DOC = _json_body(
    {
        "type": "object",
        "required": ["action", "reason"],
        "properties": {
            "action": {
                "type": "string",
                "enum": ["release", "inspect", "detain", "return_abroad", "reject", "close"],
            },
            "reason": {"type": "string", "maxLength": 1000},
            "detentionCode": {"type": "integer", "enum": [501, 502, 503, 599]},
            "findings": {"type": "string", "maxLength": 4000},
            "officer": {
                "type": "string",
                "description": "ignored: the signed-in officer is recorded",
            },
        },
    },
    {"action": "detain", "reason": "undeclared batteries", "detentionCode": 501},
)
_REVEAL_DOC = _json_body(
    {
        "type": "object",
        "required": ["reason"],
        "properties": {"reason": {"type": "string", "maxLength": 1000}},
    },
    {"reason": "identity check requested by the inspection team"},
)


@router.post("/certificates", status_code=201, tags=["platforms"], openapi_extra=_CERTIFICATE_DOC)
async def register_certificate(request: Request, caller: Filer) -> Response:
    """Register a signing certificate (PEM or base64 DER) to one of your enterprise codes:
    `{"enterpriseCode": ..., "certificate": ..., "algorithms": [SignatureMethod URIs]}`."""
    return await forward(gateway_of(request).customs, request, "/v1/certificates", caller)


@router.get("/certificates", tags=["platforms"])
async def list_certificates(request: Request, caller: Caller) -> Response:
    """The certificates registered to one of your enterprise codes (`?enterpriseCode=`)."""
    return await forward(gateway_of(request).customs, request, "/v1/certificates", caller)


@router.delete("/certificates/{certificate_id}", tags=["platforms"])
async def revoke_certificate(certificate_id: int, request: Request, caller: Filer) -> Response:
    """Revoke one of your certificates: messages signed with it are refused from then on."""
    path = f"/v1/certificates/{certificate_id}"
    return await forward(gateway_of(request).customs, request, path, caller)


@router.get("/summaries/{reference}", tags=["platforms"])
async def get_summary(reference: str, request: Request, caller: Caller) -> Response:
    """An export summary application (CEB701) and the declaration number customs gave it."""
    path = f"/v1/summaries/{reference}"
    return await forward(gateway_of(request).customs, request, path, caller)


@router.get("/summaries/{reference}/result", tags=["platforms"])
async def get_summary_result(reference: str, request: Request, caller: Caller) -> Response:
    """The summary result: JSON, or the official CEB792 XML (`?format=xml`)."""
    path = f"/v1/summaries/{reference}/result"
    return await forward(gateway_of(request).customs, request, path, caller)


@router.get("/declarations", tags=["declarations"])
async def list_declarations(request: Request, caller: Caller) -> Response:
    """Import declarations you are a party to (officers: all), by `status` or `orderNo`."""
    return await forward(gateway_of(request).customs, request, "/v1/declarations", caller)


@router.get("/declarations/{declaration_id}", tags=["declarations"])
async def get_declaration(declaration_id: str, request: Request, caller: Caller) -> Response:
    """A declaration: its documents, match differences, tax, risk reasons and timeline
    (buyer personal data masked)."""
    path = f"/v1/declarations/{declaration_id}"
    return await forward(gateway_of(request).customs, request, path, caller)


@router.post(
    "/declarations/{declaration_id}/decisions", tags=["officers"], openapi_extra=_DECISION_DOC
)
async def decide(declaration_id: str, request: Request, caller: Officer) -> Response:
    """An officer's decision (release, inspect, detain, return_abroad, reject, close) with a
    reason; audited under the signed-in officer's name."""
    path = f"/v1/declarations/{declaration_id}/decisions"
    return await forward(gateway_of(request).customs, request, path, caller)


@router.post("/declarations/{declaration_id}/reveal", tags=["officers"], openapi_extra=_REVEAL_DOC)
async def reveal(declaration_id: str, request: Request, caller: Officer) -> Response:
    """The buyer's personal data unmasked, for an officer who gives a reason; audited."""
    path = f"/v1/declarations/{declaration_id}/reveal"
    return await forward(gateway_of(request).customs, request, path, caller)


@router.get("/platform-certificate", tags=["platforms"])
async def platform_certificate(request: Request, caller: Caller) -> Response:
    """The certificate that signs the platform's receipts (`?format=dxp`), as PEM."""
    return await forward(gateway_of(request).customs, request, "/v1/platform-certificate", caller)


@router.get("/me", tags=["platforms"])
async def me(caller: Caller) -> dict[str, Any]:
    """Who you are to the gateway: your kind, enterprise codes and roles."""
    return {
        "kind": caller.kind.value,
        "name": caller.name,
        "tenantId": caller.tenant_id,
        "codes": sorted(caller.codes),
        "roles": sorted(caller.roles),
        "via": caller.via,
    }


@router.get("/review-queue", tags=["officers"])
async def review_queue(request: Request, caller: Officer) -> Response:
    """Declarations waiting for an officer, highest risk first (`route`, `reason`,
    `hsChapter`, `enterprise`, `olderThanMinutes`)."""
    return await forward(gateway_of(request).customs, request, "/v1/review-queue", caller)


@router.get("/statistics", tags=["officers"])
async def statistics(request: Request, caller: Officer) -> Response:
    """Clearance statistics over the last `days` days."""
    return await forward(gateway_of(request).customs, request, "/v1/statistics", caller)


@router.get("/declarations/{declaration_id}/buyer-history", tags=["officers"])
async def buyer_history(declaration_id: str, request: Request, caller: Officer) -> Response:
    """The buyer's other declarations and annual quota used (no identity)."""
    path = f"/v1/declarations/{declaration_id}/buyer-history"
    return await forward(gateway_of(request).customs, request, path, caller)
