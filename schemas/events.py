"""Versioned event contracts, gathered in one discriminated union.

Adding an optional field keeps a version; any other change is a new class with a new `type`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from schemas.envelope import Envelope

MessageType = Annotated[str, Field(pattern=r"^CEB\d{3}Message$")]


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DocumentReceivedV1(_Event):
    """Customs stored a document that passed the format checks (receipt 2, being declared)."""

    type: Literal["customs.document_received.v1"] = "customs.document_received.v1"
    document_id: uuid.UUID
    submission_id: uuid.UUID
    message_type: MessageType
    business_key: str = Field(
        min_length=1, max_length=60, description="orderNo, payTransactionId..."
    )
    sender_code: str = Field(min_length=1, max_length=18, description="BaseTransfer copCode")


class DocumentAcceptedV1(_Event):
    """Customs accepted a document into its database (receipt 120): the body of a tenant's
    webhook, and an item of DocumentsAcceptedV1. Customs published it on its own before that
    (consumers still handle those left on the topic)."""

    type: Literal["customs.document_accepted.v1"] = "customs.document_accepted.v1"
    document_id: uuid.UUID
    message_type: MessageType
    business_key: str = Field(min_length=1, max_length=60, description="The partition key")
    declared_key: str = Field(min_length=1, max_length=200, description="e.g. ebpCode/orderNo")
    parties: dict[str, str] = Field(
        default_factory=dict, description="Enterprise codes by role: ebpCode, payCode..."
    )
    goods_value: Decimal | None = Field(
        default=None, max_digits=19, decimal_places=5, description="CNY, where the kind has one"
    )
    currency: str | None = Field(default=None, pattern=r"^\d{3}$")
    line_count: int = Field(ge=0, description="Lines (goods, waybills) the document carries")
    return_status: Literal[120, 399] = Field(
        default=120, description="120, or 399 where the receipt type has no 120 (export, CEB514)"
    )


class DocumentsAcceptedV1(_Event):
    """Customs accepted documents of one request into its database (receipt 120 each), as one
    event: what customs publishes instead of a DocumentAcceptedV1 per document, so a message of
    a hundred documents is one record for the relay, the broker and every consumer, not a
    hundred. Tenants' webhooks still get one `customs.document_accepted.v1` per document."""

    type: Literal["customs.documents_accepted.v1"] = "customs.documents_accepted.v1"
    documents: tuple[DocumentAcceptedV1, ...] = Field(min_length=1, max_length=100)


class DocumentRejectedV1(_Event):
    """Customs refused a document after the format checks: a business error code or 100."""

    type: Literal["customs.document_rejected.v1"] = "customs.document_rejected.v1"
    document_id: uuid.UUID
    message_type: MessageType
    business_key: str = Field(min_length=1, max_length=60)
    return_status: int = Field(description="100 or a negative business error code, e.g. -301010")
    return_info: str = Field(min_length=1, max_length=1000)
    parties: dict[str, str] = Field(
        default_factory=dict, description="The document's enterprise codes and its sender"
    )


Money = Annotated[Decimal, Field(max_digits=19, decimal_places=5)]


class DeclaredLine(_Event):
    """One goods line of an import declaration, as risk sees it."""

    gnum: int = Field(ge=1, le=99)
    gcode: str = Field(pattern=r"^\d{10}$", description="HS code, 10 digits")
    item_name: str = Field(max_length=250)
    qty: Decimal = Field(max_digits=19, decimal_places=5)
    unit_price: Money
    total_price: Money
    country: str = Field(pattern=r"^\d{3}$", description="Country of origin")


class DeclarationReadyV1(_Event):
    """An import declaration's four documents matched and its tax and quota passed: route it."""

    type: Literal["customs.declaration_ready.v1"] = "customs.declaration_ready.v1"
    declaration_id: uuid.UUID
    order_no: str = Field(min_length=1, max_length=60)
    ebp_code: str = Field(min_length=1, max_length=18)
    ebc_code: str = Field(min_length=1, max_length=18)
    logistics_code: str = Field(min_length=1, max_length=18)
    trade_mode: str = Field(pattern=r"^\d{4}$")
    buyer_key: str = Field(min_length=1, max_length=64, description="Keyed pseudonym, not the ID")
    goods_value: Money
    dutiable_value: Money
    tax_total: Money
    buyer_used_this_year: Money = Field(description="Including this declaration")
    lines: tuple[DeclaredLine, ...] = Field(min_length=1, max_length=99)
    phone_key: str | None = Field(
        default=None, min_length=1, max_length=64, description="Keyed pseudonym of the buyer phone"
    )
    address_key: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="Keyed pseudonym of the consignee address",
    )
    # Optional facts of the inventory head the learned risk model reads (CEB621).
    agent_code: str | None = Field(default=None, max_length=18, description="The declarant")
    departure_country: str | None = Field(
        default=None, pattern=r"^\d{3}$", description="Country the goods left from"
    )
    transport_mode: str | None = Field(default=None, max_length=2, description="trafMode")
    net_weight: Decimal | None = Field(
        default=None, max_digits=19, decimal_places=5, ge=0, description="Net weight, kg"
    )


class RiskReason(_Event):
    """Why a declaration scored as it did: a rule or feature, a sentence, the evidence."""

    code: str = Field(min_length=1, max_length=60)
    text: str = Field(min_length=1, max_length=500)
    points: int = Field(ge=0, le=100)
    evidence: dict[str, str] = Field(default_factory=dict)


class RiskAssessedV1(_Event):
    """Risk scored a declaration and routes it: release, review or inspect."""

    type: Literal["risk.assessed.v1"] = "risk.assessed.v1"
    declaration_id: uuid.UUID
    order_no: str = Field(min_length=1, max_length=60)
    score: int = Field(ge=0, le=100)
    route: Literal["release", "review", "inspect"]
    reasons: tuple[RiskReason, ...] = ()
    ruleset_version: str = Field(min_length=1, max_length=40)
    model_version: str | None = Field(default=None, max_length=40)


class ClearanceChangedV1(_Event):
    """An inventory moved in its clearance: an import one (a CEB622 receipt was issued) or an
    export one (a CEB604 receipt, or a CEB214 receipt on a return of its goods)."""

    type: Literal["customs.clearance_changed.v1"] = "customs.clearance_changed.v1"
    declaration_id: uuid.UUID
    document_id: uuid.UUID = Field(
        description="The document the receipt answers: the inventory, or the export return"
    )
    order_no: str = Field(min_length=1, max_length=60)
    return_status: int
    return_info: str = Field(min_length=1, max_length=1000)
    parties: dict[str, str] = Field(default_factory=dict)
    # Optional since the export lifecycle (absent on earlier events: an import CEB622 change).
    direction: Literal["import", "export"] = Field(
        default="import", description="Whose inventory moved: an import or an export one"
    )
    invt_no: str | None = Field(
        default=None, max_length=20, description="The inventory number (export inventories)"
    )
    receipt_message: MessageType | None = Field(
        default=None,
        description="The receipt issued: CEB604Message, CEB214Message (absent: CEB622Message)",
    )


class ClearancesChangedV1(_Event):
    """Inventories that moved in one run of risk's routes, as one event: what customs publishes
    for a run instead of a ClearanceChangedV1 per receipt (a release issues two, 399 and 800),
    so that a run of routes is one record for the relay, the broker and every consumer, not two
    per declaration. In the order the receipts were issued; tenants' webhooks still get one
    `customs.clearance_changed.v1` per receipt (the gateway splits it)."""

    type: Literal["customs.clearances_changed.v1"] = "customs.clearances_changed.v1"
    changes: tuple[ClearanceChangedV1, ...] = Field(min_length=1, max_length=100)


FindingCode = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,40}$")]


class InspectionConcludedV1(_Event):
    """An officer concluded a physical inspection: what it found is risk's training label."""

    type: Literal["customs.inspection_concluded.v1"] = "customs.inspection_concluded.v1"
    declaration_id: uuid.UUID
    order_no: str = Field(min_length=1, max_length=60)
    found: bool = Field(description="Whether the inspection found a problem")
    outcome: Literal["released", "detained", "returned_abroad", "rejected"]
    finding_codes: tuple[FindingCode, ...] = Field(default=(), max_length=20)
    findings: str | None = Field(default=None, max_length=4000, description="The officer's notes")
    decided_by: str = Field(min_length=1, max_length=100, description="The officer")
    decided_by_role: str = Field(default="officer", min_length=1, max_length=40)
    decided_at: datetime


Event = Annotated[
    DocumentReceivedV1
    | DocumentAcceptedV1
    | DocumentsAcceptedV1
    | DocumentRejectedV1
    | DeclarationReadyV1
    | ClearanceChangedV1
    | ClearancesChangedV1
    | InspectionConcludedV1
    | RiskAssessedV1,
    Field(discriminator="type"),
]

EVENT_CLASSES: tuple[type[_Event], ...] = (
    DocumentReceivedV1,
    DocumentAcceptedV1,
    DocumentsAcceptedV1,
    DocumentRejectedV1,
    DeclarationReadyV1,
    ClearanceChangedV1,
    ClearancesChangedV1,
    InspectionConcludedV1,
    RiskAssessedV1,
)

EVENT_TYPES: frozenset[str] = frozenset(
    str(cls.model_fields["type"].default) for cls in EVENT_CLASSES
)

EnvelopeAdapter: TypeAdapter[Envelope[Event]] = TypeAdapter(Envelope[Event])


def event_type(event: _Event) -> str:
    """The wire name (`type` literal) of an event instance."""
    return str(getattr(event, "type"))  # noqa: B009 - every concrete event declares `type`
