"""Versioned event contracts, gathered in one discriminated union.

Adding an optional field keeps a version; any other change is a new class with a new `type`.
"""

from __future__ import annotations

import uuid
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
    """Customs accepted a document into its database (receipt 120)."""

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
    line_count: int = Field(ge=0, le=99)
    return_status: Literal[120] = 120


class DocumentRejectedV1(_Event):
    """Customs refused a document after the format checks: a business error code or 100."""

    type: Literal["customs.document_rejected.v1"] = "customs.document_rejected.v1"
    document_id: uuid.UUID
    message_type: MessageType
    business_key: str = Field(min_length=1, max_length=60)
    return_status: int = Field(description="100 or a negative business error code, e.g. -301010")
    return_info: str = Field(min_length=1, max_length=1000)


Event = Annotated[
    DocumentReceivedV1 | DocumentAcceptedV1 | DocumentRejectedV1,
    Field(discriminator="type"),
]

EVENT_CLASSES: tuple[type[_Event], ...] = (
    DocumentReceivedV1,
    DocumentAcceptedV1,
    DocumentRejectedV1,
)

EVENT_TYPES: frozenset[str] = frozenset(
    str(cls.model_fields["type"].default) for cls in EVENT_CLASSES
)

EnvelopeAdapter: TypeAdapter[Envelope[Event]] = TypeAdapter(Envelope[Event])


def event_type(event: _Event) -> str:
    """The wire name (`type` literal) of an event instance."""
    return str(getattr(event, "type"))  # noqa: B009 - every concrete event declares `type`
