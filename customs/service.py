"""Customs use cases: accept a CEB message, decide on each document, show receipts."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection, delete, insert, select
from sqlmodel import col

from clearway.database import snapshot
from customs import export, export_flow, export_returns, requests, visibility
from customs.assembly import attach, detach, locked_by_inventory, quota_year_of
from customs.ceb.documents import KINDS, DocumentKind, extract, kind_of
from customs.ceb.dxp import inside_data, is_dxp, unwrap
from customs.ceb.parsing import parse_untrusted
from customs.ceb.receipts import receipt_keys, render_receipt
from customs.ceb.schema import validate_against_xsd
from customs.certificates import check_signature
from customs.context import Customs
from customs.db import DeclaredKey, Document, DocumentParty, Receipt, Submission, runtime
from customs.domain.access import EVERYTHING, OutOfScope, Scope
from customs.domain.clearance import accepted_code
from customs.domain.declarations import Decision, decide
from customs.domain.receipts import RETURN_INFO, ReturnStatus
from customs.numbering import inventory_number
from customs.timefmt import pre_entry_number, return_time
from customs.validation import check_formats
from messaging.consumer import HandlerContext
from messaging.outbox import stage
from schemas.envelope import Envelope, utc_now
from schemas.events import DocumentAcceptedV1, DocumentReceivedV1, DocumentRejectedV1

PRODUCER = "customs"
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


class NotFound(LookupError):
    """No such submission or document."""


@dataclass(frozen=True, slots=True)
class AcceptedDocument:
    """A document taken in for processing, with the reference its receipts are fetched by."""

    reference: str
    business_key: str
    return_status: int


@dataclass(frozen=True, slots=True)
class SubmissionAccepted:
    """The answer to a submission: 202 with one receipt reference per document."""

    submission_id: str
    message_type: str
    documents: tuple[AcceptedDocument, ...]


# Built once: constructing an INSERT per call costs more than executing a cached one.
_INSERT_SUBMISSION = insert(Submission)
_INSERT_DOCUMENT = insert(Document)
_INSERT_PARTY = insert(DocumentParty)
_INSERT_RECEIPT = insert(Receipt)
# json.dumps(value, ensure_ascii=False) without building an encoder per call.
_to_json = json.JSONEncoder(ensure_ascii=False).encode


def _new_ids(count: int) -> list[str]:
    """`count` new ids for one message: time-ordered UUIDs (version 7, RFC 9562), text.

    48 bits of Unix milliseconds, then the position in the message (the 12-bit counter field)
    and 62 random bits, all read from the system's random source at once. New rows then go to
    the end of the primary-key and foreign-key indexes instead of a random page of each, which
    costs the database far fewer page writes per commit than random (version 4) ids.
    """
    if count > _MAX_IDS:
        raise ValueError(f"at most {_MAX_IDS} ids per message")
    prefix = (time.time_ns() // 1_000_000 & _MILLIS) << 80 | _VERSION_7
    random = int.from_bytes(os.urandom(8 * count))
    return [
        str(uuid.UUID(int=prefix | position << 64 | _VARIANT | (random >> 64 * position) & _RAND_B))
        for position in range(count)
    ]


_MILLIS = (1 << 48) - 1
_VERSION_7 = 0x7 << 76
_VARIANT = 0b10 << 62
_RAND_B = (1 << 62) - 1
_MAX_IDS = 1 << 12  # the counter field; a message holds at most 100 documents (and 1 submission)


def submit_message(
    customs: Customs,
    body: bytes,
    *,
    correlation_id: str,
    scope: Scope = EVERYTHING,
    finish: Callable[[Connection, SubmissionAccepted], None] | None = None,
) -> SubmissionAccepted:
    """Check a CEB message's format, store it and its documents, and queue them for customs.

    The sender (copCode) must be one of the caller's enterprise codes; `finish` runs inside the
    transaction that stores the documents (the idempotency key is kept there).
    """
    root = parse_untrusted(body)
    envelope = unwrap(root) if is_dxp(root) else None
    if envelope is not None:  # a terminal-node DxpMsg: the business message is in its Data
        root = envelope.root
    with inside_data() if envelope is not None else nullcontext():
        message_type = validate_against_xsd(root)
    kind = kind_of(message_type, root)
    message = extract(root, kind)
    check_formats(message)
    if not scope.sees([message.sender_code]):
        raise OutOfScope("BaseTransfer/copCode", message.sender_code)
    signers = {"copCode": message.sender_code}
    signers.update(
        (f"agentCode{d.index}", d.head["agentCode"])
        for d in message.documents
        if "agentCode" in d.head
    )
    check_signature(customs, root, message_type=message_type, signers=signers)
    carries_pre_no = "preNo" in receipt_keys(kind)
    now = utc_now()
    returned_at = return_time(now)
    ids = _new_ids(1 + len(message.documents))
    submission_id = ids[0]
    declared = RETURN_INFO[ReturnStatus.DECLARING]
    documents: list[dict[str, Any]] = []
    parties: list[dict[str, Any]] = []
    receipts: list[dict[str, Any]] = []
    events: list[Envelope[Any]] = []
    for doc, document_id in zip(message.documents, ids[1:], strict=True):
        head = doc.head
        business_key = doc.partition_key(kind)[:60]
        public_head, personal = customs.vault.split(head)
        buyer_id = head.get("buyerIdNumber") or head.get("payerIdNumber")
        id_type = head.get("buyerIdType") or head.get("payerIdType") or "1"
        guid = head.get("guid", "")
        documents.append(
            {
                "id": document_id,
                "submission_id": submission_id,
                "seq": doc.index,
                "message_type": message_type,
                "business_key": business_key,
                "declared_key": doc.key(kind),
                "guid": guid,
                "app_type": head.get("appType", "1"),
                "pre_no": (head.get("preNo") or pre_entry_number(now, document_id))
                if carries_pre_no
                else None,
                "head": _to_json(public_head),
                "personal": personal,
                "buyer_key": customs.vault.buyer_key(id_type, buyer_id) if buyer_id else None,
                "lines": _to_json(doc.lines),
                "return_status": ReturnStatus.DECLARING,
                "created_at": now,
                "updated_at": now,
            }
        )
        parties.extend(
            {"document_id": document_id, "role": role, "code": code}
            for role in PARTY_FIELDS
            if (code := head.get(role))
        )
        parties.append({"document_id": document_id, "role": "copCode", "code": message.sender_code})
        receipts.append(
            {
                "document_id": document_id,
                "return_status": ReturnStatus.DECLARING,
                "return_info": f"{declared}[{guid}]",
                "return_time": returned_at,
                "created_at": now,
            }
        )
        events.append(
            Envelope[Any](
                producer=PRODUCER,
                correlation_id=correlation_id,
                causation_id=correlation_id,
                key=business_key,
                payload=DocumentReceivedV1(
                    document_id=uuid.UUID(document_id),
                    submission_id=uuid.UUID(submission_id),
                    message_type=message_type,
                    business_key=business_key,
                    sender_code=message.sender_code,
                ),
            )
        )
    submission = {
        "id": submission_id,
        "message_type": message_type,
        "message_guid": message.guid,
        "sender_code": message.sender_code,
        "sender_name": message.sender_name,
        "correlation_id": correlation_id,
        "body": customs.vault.seal(body),
        "received_at": now,
    }
    accepted = SubmissionAccepted(
        submission_id=submission_id,
        message_type=message_type,
        documents=tuple(
            AcceptedDocument(d["id"], d["business_key"], ReturnStatus.DECLARING) for d in documents
        ),
    )
    # One transaction: the submission, its documents, their first receipts and the events.
    with customs.engine.begin() as conn:
        conn.execute(_INSERT_SUBMISSION, [submission])
        conn.execute(_INSERT_DOCUMENT, documents)
        conn.execute(_INSERT_PARTY, parties)
        conn.execute(_INSERT_RECEIPT, receipts)
        stage(conn, runtime, events)
        if finish is not None:
            finish(conn, accepted)
    return accepted


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
            DocumentRejectedV1(
                document_id=event.document_id,
                message_type=document.message_type,
                business_key=document.business_key,
                return_status=decision.return_status,
                return_info=decision.return_info,
                parties=parties_of(head, event.sender_code),
            ),
            key=document.business_key,
        )


def parties_of(head: dict[str, str], sender_code: str) -> dict[str, str]:
    """Who a document concerns: its enterprise codes and its sender (webhooks go to them)."""
    parties = {role: head[role] for role in PARTY_FIELDS if head.get(role)}
    parties["copCode"] = sender_code
    return parties


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


@dataclass(frozen=True, slots=True)
class ReceiptView:
    """A document's latest receipt and the receipts before it."""

    reference: str
    message_type: str
    receipt_message: str
    keys: dict[str, str]
    return_status: int
    return_time: str
    return_info: str
    history: tuple[dict[str, Any], ...]
    sender_code: str = ""

    def as_xml(self) -> bytes:
        """The latest receipt as the official receipt message (e.g. CEB312Message)."""
        return render_receipt(
            KINDS[self.message_type],
            guid=self.reference.upper(),
            values=self.keys,
            return_status=self.return_status,
            return_time=self.return_time,
            return_info=self.return_info,
        )


def _receipt_values(kind: DocumentKind, document: Document) -> dict[str, str]:
    head: dict[str, str] = json.loads(document.head)
    values = {name: head[name] for name in receipt_keys(kind) if name in head}
    if document.pre_no:
        values["preNo"] = document.pre_no
    if document.invt_no and kind.message_type == "CEB621Message":
        values["invtNo"] = document.invt_no
    return values


def receipt_view(customs: Customs, reference: str) -> ReceiptView:
    """The receipts issued so far for one document."""
    with snapshot(customs.engine) as session:
        document = session.get(Document, reference)
        if document is None:
            raise NotFound(f"no document with reference {reference}")
        submission = session.get(Submission, document.submission_id)
        rows = (
            session.execute(
                select(Receipt)
                .where(col(Receipt.document_id) == reference)
                .order_by(col(Receipt.id))
            )
            .scalars()
            .all()
        )
    kind = KINDS[document.message_type]
    latest = rows[-1]
    return ReceiptView(
        reference=reference,
        message_type=document.message_type,
        receipt_message=kind.receipt_message,
        keys=_receipt_values(kind, document),
        return_status=latest.return_status,
        return_time=latest.return_time,
        return_info=latest.return_info,
        history=tuple(
            {
                "returnStatus": r.return_status,
                "returnTime": r.return_time,
                "returnInfo": r.return_info,
            }
            for r in rows
        ),
        sender_code=submission.sender_code if submission is not None else "",
    )


def submission_documents(customs: Customs, submission_id: str) -> list[Document]:
    """The documents of one submission in message order."""
    with snapshot(customs.engine) as session:
        if session.get(Submission, submission_id) is None:
            raise NotFound(f"no submission {submission_id}")
        return list(
            session.execute(
                select(Document)
                .where(col(Document.submission_id) == submission_id)
                .order_by(col(Document.seq))
            ).scalars()
        )


def receipts_since(
    customs: Customs,
    scope: Scope,
    *,
    after: int = 0,
    since: datetime | None = None,
    status: int | None = None,
    message_type: str | None = None,
    limit: int = 500,
) -> list[dict[str, Any]]:
    """Receipts issued to the caller's documents, oldest first from a cursor (`after` a receipt
    id) or a time, optionally of one return status or message type: what a client pulls."""
    query = (
        select(Receipt, col(Document.message_type), col(Document.business_key))
        .join(Document, col(Document.id) == col(Receipt.document_id))
        .where(col(Receipt.id) > after, *visibility.document_filter(scope))
        .order_by(col(Receipt.id))
        .limit(limit)
    )
    if since is not None:
        query = query.where(col(Receipt.created_at) >= since)
    if status is not None:
        query = query.where(col(Receipt.return_status) == status)
    if message_type is not None:
        query = query.where(col(Document.message_type) == message_type)
    with snapshot(customs.engine) as session:
        return [
            {
                "id": receipt.id,
                "reference": receipt.document_id,
                "messageType": KINDS[doc_type].receipt_message if doc_type in KINDS else doc_type,
                "documentType": doc_type,
                "businessKey": business_key,
                "returnStatus": receipt.return_status,
                "returnTime": receipt.return_time,
                "returnInfo": receipt.return_info,
                "issuedAt": receipt.created_at.isoformat(),
            }
            for receipt, doc_type, business_key in session.execute(query)
        ]
