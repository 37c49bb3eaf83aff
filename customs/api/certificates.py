"""Routes for the certificate registry: who may sign for which enterprise."""

from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from clearway.idempotency import Keeper
from customs import certificates, visibility
from customs.api.scope import CallerOwner, CallerScope
from customs.domain.access import OutOfScope

router = APIRouter()


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
async def register_certificate(
    body: CertificateIn, request: Request, scope: CallerScope, owner: CallerOwner
) -> Response:
    """Register a signing certificate to an enterprise (signatures by others are refused)."""
    if not scope.sees([body.enterpriseCode]):
        raise OutOfScope("enterpriseCode", body.enterpriseCode)

    async def produce() -> dict[str, Any]:
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

    keeper: Keeper = request.app.state.idempotency
    return await keeper.json(request, owner=owner, status_code=201, produce=produce)


@router.get("/certificates")
async def list_certificates(
    enterpriseCode: str, request: Request, scope: CallerScope
) -> dict[str, Any]:
    """The certificates registered to an enterprise."""
    if not scope.sees([enterpriseCode]):
        raise OutOfScope("enterpriseCode", enterpriseCode)
    found = await run_in_threadpool(certificates.listed, request.app.state.customs, enterpriseCode)
    return {"certificates": [_certificate_json(c) for c in found]}


@router.delete("/certificates/{certificate_id}")
async def revoke_certificate(
    certificate_id: int, request: Request, scope: CallerScope
) -> dict[str, Any]:
    """Revoke a certificate: messages signed with it are refused from now on."""
    customs = request.app.state.customs
    if not await run_in_threadpool(visibility.certificate_visible, customs, scope, certificate_id):
        raise certificates.CertificateNotFound(f"no registered certificate {certificate_id}")
    cert = await run_in_threadpool(certificates.revoke, request.app.state.customs, certificate_id)
    return _certificate_json(cert)
