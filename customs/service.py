"""Customs use cases: accept a CEB message, decide on each document, show receipts."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.orm import Session
from sqlmodel import col

from customs.ceb.documents import KINDS, extract, kind_of
from customs.ceb.parsing import parse_untrusted
from customs.ceb.receipts import render_receipts
from customs.ceb.schema import validate_against_xsd
from customs.db import AcceptedOrder, Document, Receipt, Submission, runtime
from customs.domain.orders import decide_order
from customs.domain.receipts import RETURN_INFO, ReturnStatus
from messaging.consumer import HandlerContext
from messaging.outbox import stage
from schemas.envelope import Envelope, utc_now
from schemas.events import DocumentAcceptedV1, DocumentReceivedV1, DocumentRejectedV1

PRODUCER = "customs"
_CHINA = timezone(timedelta(hours=8))


def return_time(at: datetime) -> str:
    """`returnTime` as customs writes it: China time, YYYYMMDDhhmmssSSS."""
    local = at.astimezone(_CHINA)
    return local.strftime("%Y%m%d%H%M%S") + f"{local.microsecond // 1000:03d}"


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


def submit_message(engine: Engine, body: bytes, *, correlation_id: str) -> SubmissionAccepted:
    """Check a CEB message's format, store it and its documents, and queue them for customs."""
    root = parse_untrusted(body)
    message_type = validate_against_xsd(root)
    message = extract(root, kind_of(message_type, root))
    now = utc_now()
    submission_id = str(uuid.uuid4())
    declared = RETURN_INFO[ReturnStatus.DECLARING]
    documents: list[dict[str, Any]] = []
    receipts: list[dict[str, Any]] = []
    events: list[Envelope[Any]] = []
    for doc in message.documents:
        document_id = str(uuid.uuid4())
        documents.append(
            {
                "id": document_id,
                "submission_id": submission_id,
                "seq": doc.index,
                "message_type": message_type,
                "business_key": doc.business_key,
                "ebp_code": doc.head.get("ebpCode", ""),
                "ebc_code": doc.head.get("ebcCode", ""),
                "guid": doc.head.get("guid", ""),
                "app_type": doc.head.get("appType", "1"),
                "head": json.dumps(doc.head, ensure_ascii=False),
                "lines": json.dumps(doc.lines, ensure_ascii=False),
                "return_status": ReturnStatus.DECLARING,
                "created_at": now,
                "updated_at": now,
            }
        )
        receipts.append(
            {
                "document_id": document_id,
                "return_status": ReturnStatus.DECLARING,
                "return_info": f"{declared}[{doc.head.get('guid', '')}]",
                "return_time": return_time(now),
                "created_at": now,
            }
        )
        events.append(
            Envelope[Any](
                producer=PRODUCER,
                correlation_id=correlation_id,
                causation_id=correlation_id,
                key=doc.business_key,
                payload=DocumentReceivedV1(
                    document_id=uuid.UUID(document_id),
                    submission_id=uuid.UUID(submission_id),
                    message_type=message_type,
                    business_key=doc.business_key,
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
        "body": body,
        "received_at": now,
    }
    # One transaction: the submission, its documents, their first receipts and the events.
    with engine.begin() as conn:
        conn.execute(insert(Submission), [submission])
        conn.execute(insert(Document), documents)
        conn.execute(insert(Receipt), receipts)
        stage(conn, runtime, events)
    return SubmissionAccepted(
        submission_id=submission_id,
        message_type=message_type,
        documents=tuple(
            AcceptedDocument(d["id"], d["business_key"], ReturnStatus.DECLARING) for d in documents
        ),
    )


def process_received(ctx: HandlerContext, event: DocumentReceivedV1) -> None:
    """Decide on a received order inside the consumer's transaction and issue its receipt."""
    session = ctx.session
    document = session.get(Document, str(event.document_id))
    if document is None:
        raise NotFound(f"document {event.document_id} is not in the customs database")
    if document.return_status != ReturnStatus.DECLARING:
        return  # already decided (a replay from before the inbox existed cannot double-decide)
    existing = session.execute(
        select(AcceptedOrder).where(
            col(AcceptedOrder.ebp_code) == document.ebp_code,
            col(AcceptedOrder.order_no) == document.business_key,
        )
    ).scalar_one_or_none()
    decision = decide_order(app_type=document.app_type, order_exists=existing is not None)
    now = utc_now()
    if decision.register:
        if existing is None:
            session.add(
                AcceptedOrder(
                    ebp_code=document.ebp_code,
                    order_no=document.business_key,
                    document_id=document.id,
                )
            )
        else:
            existing.document_id = document.id
    if decision.unregister and existing is not None:
        session.execute(delete(AcceptedOrder).where(col(AcceptedOrder.id) == existing.id))
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
    if decision.accepted:
        head = json.loads(document.head)
        ctx.emit(
            DocumentAcceptedV1(
                document_id=event.document_id,
                message_type=document.message_type,
                business_key=document.business_key,
                ebp_code=document.ebp_code,
                ebc_code=document.ebc_code,
                goods_value=Decimal(head["goodsValue"]),
                currency=head["currency"],
                line_count=len(json.loads(document.lines)),
            ),
            key=document.business_key,
        )
    else:
        ctx.emit(
            DocumentRejectedV1(
                document_id=event.document_id,
                message_type=document.message_type,
                business_key=document.business_key,
                return_status=decision.return_status,
                return_info=decision.return_info,
            ),
            key=document.business_key,
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

    def as_xml(self) -> bytes:
        """The latest receipt as the official receipt message (e.g. CEB312Message)."""
        kind = KINDS[self.message_type]
        guid = self.reference.upper()
        return render_receipts(
            kind,
            guid,
            [
                {
                    "guid": guid,
                    **self.keys,
                    "returnStatus": str(self.return_status),
                    "returnTime": self.return_time,
                    "returnInfo": self.return_info,
                }
            ],
        )


def receipt_view(engine: Engine, reference: str) -> ReceiptView:
    """The receipts issued so far for one document."""
    with Session(engine) as session:
        document = session.get(Document, reference)
        if document is None:
            raise NotFound(f"no document with reference {reference}")
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
    head = json.loads(document.head)
    latest = rows[-1]
    return ReceiptView(
        reference=reference,
        message_type=document.message_type,
        receipt_message=kind.receipt_message,
        keys={name: head.get(name, "") for name in kind.receipt_keys},
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
    )


def submission_documents(engine: Engine, submission_id: str) -> list[Document]:
    """The documents of one submission in message order."""
    with Session(engine) as session:
        if session.get(Submission, submission_id) is None:
            raise NotFound(f"no submission {submission_id}")
        return list(
            session.execute(
                select(Document)
                .where(col(Document.submission_id) == submission_id)
                .order_by(col(Document.seq))
            ).scalars()
        )
