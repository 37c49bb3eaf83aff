"""Filing from the pages: pre-flight checks, submissions, and hosted ("cloud") signing.

A tenant may have the gateway hold a signing identity for it: an SM2 key, encrypted with the
gateway's SecretBox, and a self-signed certificate the gateway registers with customs for each
of the tenant's enterprise codes (as the tenant). Inventories (CEB621), which must be signed XML,
are then rendered to XML by customs, signed here and submitted.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from gateway import xmlsign
from gateway.context import Gateway
from gateway.db import SigningIdentity, Tenant
from gateway.domain import filing
from gateway.domain.access import Principal
from gateway.tenancy import Conflict, Invalid, audit
from gateway.upstream import Answer, call
from schemas.envelope import utc_now

CHINA = timezone(timedelta(hours=8))


class SigningUnavailable(Exception):
    """An inventory to sign, but no hosted signing identity (or no data key) to sign it with."""


def stamped(kind: str, values: dict[str, str], *, now: datetime) -> dict[str, str]:
    """The values with the generated fields filled where left empty: a guid, the filing time."""
    done = dict(values)
    if not (done.get("guid") or "").strip():
        done["guid"] = str(uuid.uuid4()).upper()
    if not (done.get("appTime") or "").strip():
        done["appTime"] = now.astimezone(CHINA).strftime("%Y%m%d%H%M%S")
    return done


def tenant_name(gateway: Gateway, tenant_id: str | None) -> str:
    with Session(gateway.engine) as session:
        tenant = session.get(Tenant, tenant_id) if tenant_id else None
        return tenant.name if tenant is not None else "enterprise"


def outgoing(
    gateway: Gateway, principal: Principal, kind: str, documents: list[dict[str, Any]]
) -> dict[str, Any]:
    """The JSON message a tenant sends for these documents (the sender is its own code)."""
    head = documents[0]["head"]
    sender = filing.sender_code(kind, head, principal.codes) or min(principal.codes, default="")
    return filing.message(
        kind, documents, sender=sender, sender_name=tenant_name(gateway, principal.tenant_id)
    )


async def preflight(
    gateway: Gateway, principal: Principal, kind: str, document: dict[str, Any]
) -> Answer:
    """Customs' pre-flight answer for one document (nothing is stored)."""
    body = outgoing(gateway, principal, kind, [document])
    return await call(gateway.customs, "POST", "/v1/preflight", principal, json=body)


async def submit(
    gateway: Gateway, principal: Principal, kind: str, documents: list[dict[str, Any]]
) -> Answer:
    """Submit documents of one kind; inventories are signed with the tenant's hosted identity."""
    body = outgoing(gateway, principal, kind, documents)
    customs = gateway.customs
    if kind != "inventory":
        return await call(customs, "POST", "/v1/messages", principal, json=body)
    identity = active_identity(gateway, principal.tenant_id)
    if identity is None or gateway.box is None:
        raise SigningUnavailable(
            "an inventory must be signed: create a hosted signing identity on the API keys page"
        )
    rendered = await call(customs, "POST", "/v1/render", principal, json=body)
    if rendered.status_code != 200:
        return rendered
    signed = xmlsign.sign_message(
        rendered.content,
        key_pem=gateway.box.open(identity.private_key).encode(),
        certificate_der=_der(identity.certificate),
        key_name=identity.key_name,
    )
    return await call(
        customs,
        "POST",
        "/v1/messages",
        principal,
        content=signed,
        content_type="application/xml",
    )


def _der(pem: str) -> bytes:
    body = "".join(line for line in pem.strip().splitlines() if "-----" not in line)
    return base64.b64decode(body)


# --- hosted signing identities ----------------------------------------------------------------


def active_identity(gateway: Gateway, tenant_id: str | None) -> SigningIdentity | None:
    """The tenant's current hosted signing identity, if it has one."""
    if tenant_id is None:
        return None
    with Session(gateway.engine) as session:
        return session.execute(
            select(SigningIdentity)
            .where(
                col(SigningIdentity.tenant_id) == tenant_id,
                col(SigningIdentity.revoked_at).is_(None),
            )
            .order_by(col(SigningIdentity.created_at).desc())
            .limit(1)
        ).scalar_one_or_none()


def identity_json(identity: SigningIdentity | None) -> dict[str, Any] | None:
    if identity is None:
        return None
    return {
        "id": identity.id,
        "algorithm": identity.algorithm,
        "keyName": identity.key_name,
        "codes": identity.codes.split(),
        "certificate": identity.certificate,
        "createdAt": identity.created_at.isoformat(),
    }


async def create_identity(gateway: Gateway, principal: Principal) -> dict[str, Any]:
    """A new hosted SM2 identity for the tenant, registered with customs for each of its codes;
    a previous one is retired. Audited."""
    box = gateway.box
    if box is None:
        raise Invalid("dataKey", "configured", "hosted signing needs GATEWAY_DATA_KEY")
    if principal.tenant_id is None or not principal.codes:
        raise Invalid("tenant", "tenant-codes", "hosted signing is for an enterprise's codes")
    name = tenant_name(gateway, principal.tenant_id)
    key_pem, certificate_der = xmlsign.new_identity(f"{name} (Clearway hosted)", now=utc_now())
    certificate = xmlsign.certificate_pem(certificate_der)
    registered: list[str] = []
    for code in sorted(principal.codes):
        answer = await call(
            gateway.customs,
            "POST",
            "/v1/certificates",
            principal,
            json={
                "enterpriseCode": code,
                "certificate": certificate,
                "algorithms": [xmlsign.SM2_SM3],
            },
        )
        if answer.status_code != 201:
            raise Conflict(
                "certificate", f"customs refused the certificate for {code}: {answer.text}"
            )
        registered.append(code)
    identity = SigningIdentity(
        id=str(uuid.uuid4()),
        tenant_id=principal.tenant_id,
        algorithm=xmlsign.SM2_SM3,
        key_name=uuid.uuid4().hex[:16],
        certificate=certificate,
        private_key=box.seal(key_pem.decode()),
        codes=" ".join(registered),
        created_at=utc_now(),
    )
    retired: list[SigningIdentity] = []
    with Session(gateway.engine, expire_on_commit=False) as session, session.begin():
        for old in session.execute(
            select(SigningIdentity).where(
                col(SigningIdentity.tenant_id) == principal.tenant_id,
                col(SigningIdentity.revoked_at).is_(None),
            )
        ).scalars():
            old.revoked_at = utc_now()
            retired.append(old)
        session.add(identity)
        session.flush()
        audit(
            session,
            principal,
            "signing_identity.create",
            identity.id,
            {"codes": registered, "algorithm": identity.algorithm},
        )
    for old in retired:
        await _revoke_at_customs(gateway, principal, old)
    shown = identity_json(identity)
    assert shown is not None
    return shown


async def _revoke_at_customs(
    gateway: Gateway, principal: Principal, retired: SigningIdentity
) -> None:
    """A retired identity's certificates stop being accepted by customs (best effort: what is
    not revoked now is listed on the keys page as the old certificate)."""
    fingerprint = hashlib.sha256(_der(retired.certificate)).hexdigest()
    for code in retired.codes.split():
        listed = await call(
            gateway.customs,
            "GET",
            "/v1/certificates",
            principal,
            params={"enterpriseCode": code},
        )
        if listed.status_code != 200:
            continue
        for certificate in listed.json()["certificates"]:
            if certificate["fingerprint"] == fingerprint and certificate["revokedAt"] is None:
                await call(
                    gateway.customs,
                    "DELETE",
                    f"/v1/certificates/{certificate['id']}",
                    principal,
                )


def problem_errors(answer: Answer) -> list[dict[str, Any]]:
    """The errors of a refusal from customs (a problem document), or one naming its title."""
    try:
        problem = answer.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return [{"path": "", "rule": f"http-{answer.status_code}", "message": answer.text[:300]}]
    errors = problem.get("errors") or []
    if errors:
        return list(errors)
    detail = problem.get("detail") or problem.get("title") or "refused"
    return [{"path": "", "rule": f"http-{answer.status_code}", "message": str(detail)}]
