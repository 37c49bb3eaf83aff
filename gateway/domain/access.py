"""Who may do what: tenants, their roles and enterprise codes, officers and administrators.

Every object the platform holds belongs to the enterprises whose customs codes it carries
(ebpCode, ebcCode, payCode, logisticsCode, agentCode, the sender's copCode, ...). A tenant sees an
object when one of those codes is its own; customs officers see every object (personal data
masked); administrators manage tenants and clients but file nothing themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class TenantRole(StrEnum):
    """What an enterprise is registered as with customs."""

    PLATFORM = "ecommerce_platform"
    SELLER = "ecommerce_enterprise"
    PAYMENT = "payment_company"
    LOGISTICS = "logistics_company"
    AGENT = "declaration_agent"
    SITE_OPERATOR = "supervision_site_operator"


class Kind(StrEnum):
    """The kinds of principal the gateway knows."""

    TENANT = "tenant"  # a seller user or a machine client of an enterprise
    OFFICER = "officer"
    ADMIN = "admin"


class OfficerRole(StrEnum):
    """Customs officers: reviewers decide declarations; supervisors also see statistics."""

    REVIEWER = "reviewer"
    SUPERVISOR = "supervisor"


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller of one request."""

    kind: Kind
    name: str  # a user's login or a client's id: what audit records say
    tenant_id: str | None = None
    codes: frozenset[str] = frozenset()
    roles: frozenset[str] = frozenset()
    via: str = "session"  # session, api_key, oauth

    @property
    def is_officer(self) -> bool:
        return self.kind is Kind.OFFICER

    @property
    def is_admin(self) -> bool:
        return self.kind is Kind.ADMIN

    @property
    def owner(self) -> str:
        """The namespace of this caller's idempotency keys and rate-limit bucket."""
        return f"{self.kind.value}:{self.tenant_id or self.name}"


def scope_header(principal: Principal) -> str:
    """The visibility scope the services behind the gateway apply (X-Clearway-Scope).

    `all` for officers (they see every declaration, personal data masked), `codes=a,b` for a
    tenant (only objects carrying one of its codes), `none` for everyone else.
    """
    if principal.is_officer:
        return "all"
    if principal.kind is Kind.TENANT and principal.codes:
        return "codes=" + ",".join(sorted(principal.codes))
    return "none"


def may_file(principal: Principal) -> bool:
    """Filing documents is for enterprises; officers and administrators file nothing."""
    return principal.kind is Kind.TENANT and bool(principal.codes)


def may_decide(principal: Principal) -> bool:
    """Officer decisions and reveals of personal data are for customs officers only."""
    return principal.is_officer


def may_administer(principal: Principal) -> bool:
    return principal.is_admin
