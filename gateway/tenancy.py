"""Administration use cases: tenants, their users and API clients, and the audit log."""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlmodel import col

from clearway.http import current_correlation_id
from gateway.box import SecretBox
from gateway.db import ApiClient, AuditEntry, Tenant, TenantCode, User
from gateway.domain import credentials
from gateway.domain.access import Kind, OfficerRole, Principal, TenantRole
from gateway.identity import hash_password
from schemas.envelope import utc_now


class Invalid(ValueError):
    """A request that breaks a rule: the field and the rule it breaks."""

    def __init__(self, field: str, rule: str, message: str) -> None:
        super().__init__(message)
        self.field, self.rule = field, rule


class Conflict(Exception):
    """The request clashes with what exists (a code of another tenant, a login in use)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class NotFound(LookupError):
    """No such tenant or client (or not one of yours)."""


def audit(
    session: Session, actor: Principal | str, action: str, target: str, detail: Any = None
) -> None:
    """Record who did what to which object (in the caller's transaction)."""
    session.add(
        AuditEntry(
            at=utc_now(),
            actor=actor.name if isinstance(actor, Principal) else actor,
            action=action,
            target=target,
            detail=json.dumps(detail, ensure_ascii=False) if detail is not None else None,
            correlation_id=current_correlation_id(),
        )
    )


def tenant_json(session: Session, tenant: Tenant) -> dict[str, Any]:
    codes = session.execute(
        select(col(TenantCode.code)).where(col(TenantCode.tenant_id) == tenant.id)
    ).scalars()
    return {
        "id": tenant.id,
        "name": tenant.name,
        "codes": sorted(codes),
        "roles": tenant.roles.split(),
        "active": tenant.active,
        "createdAt": tenant.created_at.isoformat(),
    }


def create_tenant(
    engine: Engine, actor: Principal, *, name: str, codes: list[str], roles: list[str]
) -> dict[str, Any]:
    """Register an enterprise with its customs codes (each code belongs to one tenant)."""
    for index, role in enumerate(roles):
        if role not in {r.value for r in TenantRole}:
            raise Invalid(
                f"roles/{index}",
                "tenant-role",
                f"{role!r} is not one of: " + ", ".join(r.value for r in TenantRole),
            )
    tenant = Tenant(
        id=str(uuid.uuid4()), name=name, roles=" ".join(roles), active=True, created_at=utc_now()
    )
    try:
        with Session(engine, expire_on_commit=False) as session, session.begin():
            taken = session.execute(
                select(col(TenantCode.code)).where(col(TenantCode.code).in_(codes))
            ).scalars()
            for code in taken:
                raise Conflict(
                    f"codes/{codes.index(code)}", f"code {code} belongs to another tenant"
                )
            session.add(tenant)
            session.flush()
            session.add_all(TenantCode(code=c, tenant_id=tenant.id) for c in codes)
            audit(session, actor, "tenant.create", tenant.id, {"name": name, "codes": codes})
            session.flush()
            return tenant_json(session, tenant)
    except IntegrityError:  # a concurrent registration took a code first
        raise Conflict("codes", "one of the codes belongs to another tenant") from None


def list_tenants(engine: Engine) -> list[dict[str, Any]]:
    with Session(engine) as session:
        tenants = session.execute(select(Tenant).order_by(col(Tenant.name))).scalars()
        return [tenant_json(session, t) for t in tenants]


def get_tenant(engine: Engine, tenant_id: str) -> dict[str, Any]:
    with Session(engine) as session:
        tenant = session.get(Tenant, tenant_id)
        if tenant is None:
            raise NotFound(f"no tenant {tenant_id}")
        return tenant_json(session, tenant)


def add_user(
    engine: Engine,
    actor: Principal,
    *,
    login: str,
    display_name: str,
    password: str,
    kind: str,
    tenant_id: str | None,
    officer_role: str | None,
    language: str,
) -> dict[str, Any]:
    """A person who signs in to the pages: a seller of a tenant, an officer or an admin."""
    if kind not in {k.value for k in Kind}:
        raise Invalid("kind", "user-kind", "kind is tenant, officer or admin")
    if kind == Kind.TENANT.value and tenant_id is None:
        raise Invalid("tenantId", "required", "a tenant user needs the tenant it belongs to")
    if kind != Kind.TENANT.value and tenant_id is not None:
        raise Invalid("tenantId", "forbidden", "only tenant users belong to a tenant")
    if kind == Kind.OFFICER.value and officer_role not in {r.value for r in OfficerRole}:
        raise Invalid("officerRole", "officer-role", "an officer is a reviewer or a supervisor")
    user = User(
        id=str(uuid.uuid4()),
        login=login,
        display_name=display_name,
        password_hash=hash_password(password),
        kind=kind,
        tenant_id=tenant_id,
        officer_role=officer_role if kind == Kind.OFFICER.value else None,
        language=language,
        created_at=utc_now(),
    )
    try:
        with Session(engine, expire_on_commit=False) as session, session.begin():
            if tenant_id is not None and session.get(Tenant, tenant_id) is None:
                raise Invalid("tenantId", "exists", f"no tenant {tenant_id}")
            session.add(user)
            session.flush()
            audit(session, actor, "user.create", user.id, {"login": login, "kind": kind})
    except IntegrityError:
        raise Conflict("login", f"the login {login!r} is already in use") from None
    return {
        "id": user.id,
        "login": user.login,
        "displayName": user.display_name,
        "kind": user.kind,
        "tenantId": user.tenant_id,
        "officerRole": user.officer_role,
        "language": user.language,
    }


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A key as shown once: after this answer only its hash exists."""

    client_id: str
    key: str
    signing_secret: str | None


def _client_json(client: ApiClient) -> dict[str, Any]:
    return {
        "clientId": client.id,
        "name": client.name,
        "tenantId": client.tenant_id,
        "signed": client.signing_secret is not None,
        "requireSignature": client.require_signature,
        "createdAt": client.created_at.isoformat(),
        "rotatedAt": client.rotated_at.isoformat() if client.rotated_at else None,
        "revokedAt": client.revoked_at.isoformat() if client.revoked_at else None,
    }


def issue_key(
    engine: Engine,
    box: SecretBox | None,
    actor: Principal,
    *,
    tenant_id: str | None,
    name: str,
    require_signature: bool = False,
    kind: str = "tenant",
) -> tuple[IssuedKey, dict[str, Any]]:
    """A new API client with its key (and a request-signing secret when `box` is set)."""
    new = credentials.new_api_key()
    signing_secret = secrets.token_urlsafe(32) if box is not None else None
    if require_signature and signing_secret is None:
        raise Invalid("requireSignature", "configured", "request signing needs GATEWAY_DATA_KEY")
    client = ApiClient(
        id=new.client_id,
        tenant_id=tenant_id,
        kind=kind,
        name=name,
        secret_hash=new.secret_hash,
        signing_secret=box.seal(signing_secret) if box and signing_secret else None,
        require_signature=require_signature,
        created_at=utc_now(),
    )
    with Session(engine, expire_on_commit=False) as session, session.begin():
        if tenant_id is not None and session.get(Tenant, tenant_id) is None:
            raise NotFound(f"no tenant {tenant_id}")
        session.add(client)
        session.flush()
        audit(session, actor, "api_key.issue", client.id, {"tenantId": tenant_id, "name": name})
        shown = _client_json(client)
    return IssuedKey(new.client_id, new.key, signing_secret), shown


def _own_client(session: Session, actor: Principal, client_id: str) -> ApiClient:
    client = session.get(ApiClient, client_id)
    if client is None or (not actor.is_admin and client.tenant_id != actor.tenant_id):
        raise NotFound(f"no API client {client_id}")
    return client


def rotate_key(engine: Engine, actor: Principal, client_id: str) -> IssuedKey:
    """A new key for a client; the old one stops working (within the gateway's cache time)."""
    new = credentials.new_api_key(client_id)
    with Session(engine) as session, session.begin():
        client = _own_client(session, actor, client_id)
        if client.revoked_at is not None:
            raise Conflict("clientId", f"API client {client_id} is revoked")
        client.secret_hash = new.secret_hash
        client.rotated_at = utc_now()
        audit(session, actor, "api_key.rotate", client_id)
    return IssuedKey(client_id, new.key, None)


def revoke_key(engine: Engine, actor: Principal, client_id: str) -> dict[str, Any]:
    with Session(engine, expire_on_commit=False) as session, session.begin():
        client = _own_client(session, actor, client_id)
        client.revoked_at = client.revoked_at or utc_now()
        audit(session, actor, "api_key.revoke", client_id)
        return _client_json(client)


def list_keys(engine: Engine, actor: Principal, tenant_id: str | None) -> list[dict[str, Any]]:
    with Session(engine) as session:
        query = select(ApiClient).order_by(col(ApiClient.created_at))
        query = query.where(col(ApiClient.tenant_id) == tenant_id)
        return [_client_json(c) for c in session.execute(query).scalars()]


def audit_log(engine: Engine, limit: int = 200) -> list[dict[str, Any]]:
    with Session(engine) as session:
        rows = session.execute(
            select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(limit)
        ).scalars()
        return [
            {
                "at": r.at.isoformat(),
                "actor": r.actor,
                "action": r.action,
                "target": r.target,
                "detail": json.loads(r.detail) if r.detail else None,
                "correlationId": r.correlation_id,
            }
            for r in rows
        ]


def ensure_admin_client(engine: Engine, key: str) -> None:
    """Make the configured administrator key valid (first start, or after it was changed)."""
    parsed = credentials.parse_api_key(key)
    if parsed is None:
        raise ValueError("GATEWAY_ADMIN_API_KEY is not a Clearway key (cwk_<16 hex>_<43 chars>)")
    client_id, secret = parsed
    with Session(engine) as session, session.begin():
        client = session.get(ApiClient, client_id)
        if client is None:
            session.add(
                ApiClient(
                    id=client_id,
                    tenant_id=None,
                    kind=Kind.ADMIN.value,
                    name="administrator (GATEWAY_ADMIN_API_KEY)",
                    secret_hash=credentials.digest(secret),
                    created_at=utc_now(),
                )
            )
            audit(session, "system", "api_key.bootstrap", client_id)
        elif client.secret_hash != credentials.digest(secret) or client.revoked_at is not None:
            client.secret_hash = credentials.digest(secret)
            client.revoked_at = None
            client.kind = Kind.ADMIN.value
            audit(session, "system", "api_key.bootstrap", client_id)
