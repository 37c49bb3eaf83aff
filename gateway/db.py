"""Gateway tables, on the gateway's own metadata: tenants, users, clients, sessions, audit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Text, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from clearway.idempotency import add_idempotency_table
from messaging.tables import add_runtime_tables


class GatewayTable(SQLModel, registry=registry()):
    """Base of every gateway table."""


def _at(nullable: bool = False) -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=nullable)


class Tenant(GatewayTable, table=True):
    """An enterprise registered with its customs codes and roles."""

    __tablename__ = "tenant"

    id: str = Field(primary_key=True, max_length=36)
    name: str = Field(max_length=200)
    roles: str = Field(max_length=400, description="space-separated TenantRole values")
    active: bool = True
    created_at: datetime = Field(sa_column=_at())


class TenantCode(GatewayTable, table=True):
    """A customs enterprise code (10 or 18 characters) and the one tenant it belongs to."""

    __tablename__ = "tenant_code"

    code: str = Field(primary_key=True, max_length=18)
    tenant_id: str = Field(foreign_key="tenant.id", index=True, max_length=36)


class User(GatewayTable, table=True):
    """A person who signs in: a seller of a tenant, a customs officer or an administrator."""

    __tablename__ = "user_account"

    id: str = Field(primary_key=True, max_length=36)
    login: str = Field(max_length=100, unique=True)
    display_name: str = Field(max_length=200)
    password_hash: str = Field(max_length=200)
    kind: str = Field(max_length=10)  # tenant | officer | admin
    tenant_id: str | None = Field(default=None, foreign_key="tenant.id", max_length=36)
    officer_role: str | None = Field(default=None, max_length=20)
    language: str = Field(default="zh_CN", max_length=10)
    failed_logins: int = 0
    locked_until: datetime | None = Field(default=None, sa_column=_at(nullable=True))
    created_at: datetime = Field(sa_column=_at())


class WebSession(GatewayTable, table=True):
    """A signed-in browser: the cookie's hash, its CSRF token and when it ends."""

    __tablename__ = "web_session"

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: str = Field(foreign_key="user_account.id", index=True, max_length=36)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(sa_column=_at())
    expires_at: datetime = Field(sa_column=_at())


class ApiClient(GatewayTable, table=True):
    """A machine client: its API key (hashed) doubles as OAuth2 client credentials."""

    __tablename__ = "api_client"

    id: str = Field(primary_key=True, max_length=16)
    tenant_id: str | None = Field(default=None, foreign_key="tenant.id", index=True, max_length=36)
    kind: str = Field(default="tenant", max_length=10)  # tenant | admin
    name: str = Field(max_length=200)
    secret_hash: str = Field(max_length=64)
    signing_secret: str | None = Field(
        default=None, sa_column=Column(Text, nullable=True), description="encrypted"
    )
    require_signature: bool = False
    created_at: datetime = Field(sa_column=_at())
    rotated_at: datetime | None = Field(default=None, sa_column=_at(nullable=True))
    revoked_at: datetime | None = Field(default=None, sa_column=_at(nullable=True))


class AccessToken(GatewayTable, table=True):
    """An OAuth2 access token (client credentials grant), stored hashed."""

    __tablename__ = "access_token"

    token_hash: str = Field(primary_key=True, max_length=64)
    client_id: str = Field(foreign_key="api_client.id", index=True, max_length=16)
    created_at: datetime = Field(sa_column=_at())
    expires_at: datetime = Field(sa_column=_at())


class RequestNonce(GatewayTable, table=True):
    """A nonce of a signed request, kept for the signature window against replays."""

    __tablename__ = "request_nonce"

    client_id: str = Field(primary_key=True, max_length=16)
    nonce: str = Field(primary_key=True, max_length=64)
    seen_at: datetime = Field(sa_column=_at())


class AuditEntry(GatewayTable, table=True):
    """Who did what to which object, when: every administrative and officer action."""

    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=_at())
    actor: str = Field(max_length=120)
    action: str = Field(max_length=60)
    target: str = Field(max_length=200)
    detail: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    correlation_id: str = Field(max_length=128)


class WebhookSubscription(GatewayTable, table=True):
    """A tenant's endpoint for some event types; payloads are signed with its secret."""

    __tablename__ = "webhook_subscription"

    id: str = Field(primary_key=True, max_length=36)
    tenant_id: str = Field(foreign_key="tenant.id", index=True, max_length=36)
    url: str = Field(max_length=2000)
    event_types: str = Field(max_length=2000, description="space-separated event types")
    secret: str = Field(sa_column=Column(Text, nullable=False), description="encrypted")
    active: bool = True
    created_at: datetime = Field(sa_column=_at())


class WebhookDelivery(GatewayTable, table=True):
    """One event for one subscription: retried with backoff for up to a day, logged."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (UniqueConstraint("subscription_id", "event_id"),)

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: str = Field(foreign_key="webhook_subscription.id", index=True, max_length=36)
    event_id: str = Field(max_length=36)
    event_type: str = Field(max_length=100)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    state: str = Field(max_length=10, index=True)  # pending | delivered | failed
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_column=_at())
    last_status: int | None = None
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(sa_column=_at())
    delivered_at: datetime | None = Field(default=None, sa_column=_at(nullable=True))


class SigningIdentity(GatewayTable, table=True):
    """A tenant's hosted signing identity: an SM2 key (encrypted) and its certificate, registered
    with customs for the tenant's codes; inventories filed from the pages are signed with it."""

    __tablename__ = "signing_identity"

    id: str = Field(primary_key=True, max_length=36)
    tenant_id: str = Field(foreign_key="tenant.id", index=True, max_length=36)
    algorithm: str = Field(max_length=100)
    key_name: str = Field(max_length=64)
    certificate: str = Field(sa_column=Column(Text, nullable=False), description="PEM")
    private_key: str = Field(sa_column=Column(Text, nullable=False), description="encrypted")
    codes: str = Field(max_length=2000, description="space-separated codes it is registered to")
    created_at: datetime = Field(sa_column=_at())
    revoked_at: datetime | None = Field(default=None, sa_column=_at(nullable=True))


class UploadJob(GatewayTable, table=True):
    """A sheet of documents uploaded from the pages, filed in the background row by row."""

    __tablename__ = "upload_job"

    id: str = Field(primary_key=True, max_length=36)
    tenant_id: str = Field(foreign_key="tenant.id", index=True, max_length=36)
    actor: str = Field(max_length=120)
    filename: str = Field(max_length=300)
    state: str = Field(max_length=10, index=True)  # queued | running | done
    total_rows: int = 0
    created_at: datetime = Field(sa_column=_at())
    finished_at: datetime | None = Field(default=None, sa_column=_at(nullable=True))


class UploadRow(GatewayTable, table=True):
    """One row of an uploaded sheet: its document, and what became of it."""

    __tablename__ = "upload_row"
    __table_args__ = (UniqueConstraint("job_id", "row_number"),)

    id: int | None = Field(default=None, primary_key=True)
    job_id: str = Field(foreign_key="upload_job.id", index=True, max_length=36)
    row_number: int
    kind: str = Field(max_length=20)
    document: str = Field(sa_column=Column(Text, nullable=False), description="JSON form")
    state: str = Field(max_length=10)  # pending | invalid | filed | refused
    errors: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    reference: str | None = Field(default=None, max_length=36)


metadata = GatewayTable.metadata
idempotency = add_idempotency_table(metadata)
runtime = add_runtime_tables(metadata)  # the worker's inbox (webhook fan-out happens once)
