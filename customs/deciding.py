"""Customs deciding on a received document: accept or refuse it, take effect, issue its receipt."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import delete, select
from sqlmodel import col

from customs import export, export_flow, export_returns, requests
from customs.assembly import attach, detach, locked_by_inventory, quota_year_of
from customs.ceb.documents import KINDS
from customs.context import Customs
from customs.db import DeclaredKey, Document, Receipt
from customs.domain.clearance import accepted_code
from customs.domain.declarations import Decision, decide
from customs.domain.receipts import ReturnStatus
from customs.numbering import inventory_number
from customs.timefmt import return_time
from messaging.consumer import HandlerContext
from schemas.envelope import Envelope, utc_now
from schemas.events import (
    DocumentAcceptedV1,
    DocumentReceivedV1,
    DocumentRejectedV1,
    DocumentsAcceptedV1,
)


class NotFound(LookupError):
    """No such submission or document."""


# Fields naming the enterprises a document belongs to (used for access and routing).
PARTY_FIELDS = (
    "ebpCode",
    "ebcCode",
    "payCode",
    "logisticsCode",
    "agentCode",
    "operatorCode",
    "assureCode",
    "ownerCode",
    "declAgentCode",
)
# The document's amount of goods, by kind, where it has one.
_VALUE_FIELDS = ("goodsValue", "amountPaid", "totalPrice")


_REQUESTS = {
    "CEB623Message": requests.cancel,
    "CEB625Message": requests.return_goods,
    "CEB701Message": export.conclude_summary,
}
# The export inventory's lifecycle: these also announce the clearance changes they make.
_EXPORT_FLOW = {
    "CEB603Message": export_flow.accept_inventory,
    "CEB507Message": export_flow.arrive,
    "CEB607Message": export_flow.link_bill,
    "CEB509Message": export_flow.depart,
    "CEB605Message": export_flow.cancel,
    "CEB213Message": export_returns.apply_return,
    "CEB215Message": export_returns.tally,
}


# Deleting these undoes what they did (a CEB607 deletion takes inventories off its bill, a
# CEB213 deletion withdraws a return not tallied yet).
_DELETION_TAKES_EFFECT = frozenset({"CEB607Message", "CEB213Message"})

# Inventories have a lifecycle: they are withdrawn by a cancellation, never deleted.
_WITHDRAWN_BY = {"CEB621Message": "CEB623Message", "CEB603Message": "CEB605Message"}


def _take_effect(
    customs: Customs, ctx: HandlerContext, document: Document, decision: Decision
) -> Decision:
    """What an accepted document does besides being stored: cancel or return against an
    inventory (which may still refuse it), or give a new inventory its number."""
    session = ctx.session
    request = _REQUESTS.get(document.message_type)
    if request is not None:
        return request(customs, session, document)
    flow = _EXPORT_FLOW.get(document.message_type)
    if flow is not None:
        return flow(customs, ctx, document)
    if document.message_type == "CEB621Message" and document.invt_no is None:
        head = json.loads(document.head)
        document.invt_no = inventory_number(
            session,
            customs_code=head.get("customsCode", "0000"),
            year=quota_year_of(head),
            ie_flag="I",
        )
    return decision


def _app_time(document: Document) -> str:
    return str(json.loads(document.head).get("appTime", ""))


def _goods_value(head: dict[str, str]) -> Decimal | None:
    for name in _VALUE_FIELDS:
        if name in head:
            try:
                return Decimal(head[name])
            except InvalidOperation:
                return None
    return None


def process_received(customs: Customs, ctx: HandlerContext, event: DocumentReceivedV1) -> None:
    """Decide on a received document inside the consumer's transaction and issue its receipt."""
    session = ctx.session
    document = session.get(Document, str(event.document_id))
    if document is None:
        raise NotFound(f"document {event.document_id} is not in the customs database")
    if document.return_status != ReturnStatus.DECLARING:
        return  # decided already: a redelivered event changes nothing
    kind = KINDS[document.message_type]
    existing = session.execute(
        select(DeclaredKey).where(
            col(DeclaredKey.message_type) == document.message_type,
            col(DeclaredKey.declared_key) == document.declared_key,
        )
    ).scalar_one_or_none()
    previous = session.get(Document, existing.document_id) if existing is not None else None
    decision = decide(
        message_type=document.message_type,
        label=kind.label,
        app_type=document.app_type,
        declared=existing is not None,
        duplicate_code=kind.duplicate_code,
        accepted_code=accepted_code(kind.receipt_message),
        locked_by_inventory=previous is not None and locked_by_inventory(session, previous),
        older_than_declared=previous is not None and _app_time(document) < _app_time(previous),
        withdrawn_by=_WITHDRAWN_BY.get(document.message_type),
    )
    if decision.accepted and (
        not decision.unregister or document.message_type in _DELETION_TAKES_EFFECT
    ):
        decision = _take_effect(customs, ctx, document, decision)
    now = utc_now()
    if decision.register:
        if existing is None:
            session.add(
                DeclaredKey(
                    message_type=document.message_type,
                    declared_key=document.declared_key,
                    document_id=document.id,
                )
            )
        else:
            existing.document_id = document.id
    if decision.unregister and existing is not None:
        session.execute(delete(DeclaredKey).where(col(DeclaredKey.id) == existing.id))
        if previous is not None:
            detach(session, previous)
    document.return_status = decision.return_status
    document.updated_at = now
    session.add(
        Receipt(
            document_id=document.id,
            return_status=decision.return_status,
            return_info=decision.return_info,
            return_time=return_time(now),
            created_at=now,
        )
    )
    session.flush()
    head = json.loads(document.head)
    if decision.accepted:
        ctx.emit(
            accepted_event(
                event,
                document.declared_key,
                head,
                line_count=len(json.loads(document.lines)),
                return_status=decision.return_status,
            ),
            key=document.business_key,
        )
        if not decision.unregister:  # a deleted document joins no declaration
            attach(customs, ctx, document)
    else:
        ctx.emit(
            rejected_event(
                event, head, return_status=decision.return_status, return_info=decision.return_info
            ),
            key=document.business_key,
        )


def parties_of(head: dict[str, str], sender_code: str) -> dict[str, str]:
    """Who a document concerns: its enterprise codes and its sender (webhooks go to them)."""
    parties = {role: head[role] for role in PARTY_FIELDS if head.get(role)}
    parties["copCode"] = sender_code
    return parties


# Documents in one DocumentsAcceptedV1 at most (the event's own limit): a CEB message carries up
# to a hundred.
ACCEPTED_PER_EVENT = 100


@dataclass(frozen=True, slots=True)
class _Announcement:
    """One DocumentsAcceptedV1 being gathered: where it goes among the staged events."""

    position: int  # how many events were staged before its first document was accepted
    producer: str
    correlation_id: str
    key: str  # its first document's
    documents: list[DocumentAcceptedV1]


class AcceptedTogether:
    """Each request's documents accepted in a transaction, announced as DocumentsAcceptedV1 (at
    most ACCEPTED_PER_EVENT documents each) in the place of its first document's among the
    events the transaction `staged`, which keep their places (`events`).

    One record per request instead of one per document: the relay, the broker and every
    consumer of customs.events pay per record. The merged event is caused by the request (its
    correlation id) and keyed by its first document's key; tenants' webhooks still get one
    receipt per document (the gateway splits it). On a topic of several partitions it travels
    in that key's partition, so it is not ordered with the later events of the request's other
    orders (risk's observations do not depend on that order; a webhook carries its time).

    A document is added as it is accepted, not staged as an event of its own and merged
    afterwards: an envelope made for each, then dropped, was 2.2% of the instructions of a
    submission (bench.customs_worker `--instructions submit`, groups of 16 messages)."""

    def __init__(self, staged: list[Envelope[Any]]) -> None:
        self._staged = staged
        self._announcements: list[_Announcement] = []
        self._open: dict[str, _Announcement] = {}  # by correlation id: the one still filling

    def add(
        self, producer: str, correlation_id: str, key: str, document: DocumentAcceptedV1
    ) -> None:
        """A document accepted now, after the events staged so far."""
        announcement = self._open.get(correlation_id)
        if announcement is None or len(announcement.documents) == ACCEPTED_PER_EVENT:
            announcement = _Announcement(len(self._staged), producer, correlation_id, key, [])
            self._announcements.append(announcement)
            self._open[correlation_id] = announcement
        announcement.documents.append(document)

    def events(self) -> list[Envelope[Any]]:
        """The staged events with the announcements in their places."""
        out: list[Envelope[Any]] = []
        taken = 0
        for announcement in self._announcements:
            out += self._staged[taken : announcement.position]
            taken = announcement.position
            out.append(
                Envelope[Any](
                    producer=announcement.producer,
                    correlation_id=announcement.correlation_id,
                    causation_id=announcement.correlation_id,
                    key=announcement.key,
                    payload=DocumentsAcceptedV1(documents=tuple(announcement.documents)),
                )
            )
        return out + self._staged[taken:]


def rejected_event(
    event: DocumentReceivedV1, head: dict[str, str], *, return_status: int, return_info: str
) -> DocumentRejectedV1:
    """The event announcing that customs refused a received document (a business error code)."""
    return DocumentRejectedV1(
        document_id=event.document_id,
        message_type=event.message_type,
        business_key=event.business_key,
        return_status=return_status,
        return_info=return_info,
        parties=parties_of(head, event.sender_code),
    )


def accepted_event(
    event: DocumentReceivedV1,
    declared_key: str,
    head: dict[str, str],
    *,
    line_count: int,
    return_status: int,
) -> DocumentAcceptedV1:
    """The event announcing that customs took a received document in."""
    return DocumentAcceptedV1(
        document_id=event.document_id,
        message_type=event.message_type,
        business_key=event.business_key,
        declared_key=declared_key,
        parties=parties_of(head, event.sender_code),
        goods_value=_goods_value(head),
        currency=head.get("currency"),
        line_count=line_count,
        return_status=return_status,
    )
