"""Export summary declarations as platforms read them: the application and its CEB792 result."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from clearway.database import snapshot
from customs.ceb.summary_result import MESSAGE_TYPE as RESULT_MESSAGE_TYPE
from customs.ceb.summary_result import render_summary_result
from customs.context import Customs
from customs.db import (
    Document,
    SummarisedInventory,
    SummaryResult,
)
from customs.domain import clearance
from customs.export import ACCEPTED_CODE, APPLICATION, SummaryNotFound


@dataclass(frozen=True, slots=True)
class SummaryResultMessage:
    """A summary result as customs issued it: its fields, and the CEB792 they make."""

    reference: str
    id: str
    head: str
    lines: str

    def as_xml(self) -> bytes:
        """The official CEB792Message."""
        return render_summary_result(self)

    def as_json(self) -> dict[str, Any]:
        """The same fields as JSON (element names as in the XSD)."""
        return {
            "reference": self.reference,
            "messageType": RESULT_MESSAGE_TYPE,
            "head": json.loads(self.head),
            "lines": json.loads(self.lines),
        }


@dataclass(frozen=True, slots=True)
class SummaryView:
    """An export summary application: where it stands and, once concluded, its numbers."""

    reference: str
    status: str  # declaring | refused | awaiting-parts | concluded | deleted
    return_status: int
    application: dict[str, str]
    result: dict[str, str] | None
    inventories: tuple[str, ...] = ()
    not_on_record: tuple[str, ...] = ()
    line_count: int = 0


def _application(session: Session, reference: str) -> Document:
    document = session.get(Document, reference)
    if document is None or document.message_type != APPLICATION:
        raise SummaryNotFound(f"no summary application (CEB701) with reference {reference}")
    return document


def _result_of(session: Session, reference: str) -> SummaryResult | None:
    return session.execute(
        select(SummaryResult).where(col(SummaryResult.application_document_id) == reference)
    ).scalar_one_or_none()


def _status(document: Document, result: SummaryResult | None) -> str:
    if result is not None:
        return "concluded"
    if document.return_status == clearance.DECLARING:
        return "declaring"
    if document.app_type == "3" and document.return_status == ACCEPTED_CODE:
        return "deleted"
    return "awaiting-parts" if document.return_status == ACCEPTED_CODE else "refused"


_APPLICATION_FIELDS = ("copNo", "agentCode", "ebcCode", "customsCode", "msgCount", "msgSeqNo")


def summary_view(customs: Customs, reference: str) -> SummaryView:
    """An application's status and, once concluded, its declaration number (entryId)."""
    with snapshot(customs.engine) as session:
        document = _application(session, reference)
        result = _result_of(session, reference)
        taken = (
            list(
                session.execute(
                    select(SummarisedInventory).where(
                        col(SummarisedInventory.summary_result_id) == result.id
                    )
                ).scalars()
            )
            if result is not None
            else []
        )
    head = json.loads(document.head)
    return SummaryView(
        reference=reference,
        status=_status(document, result),
        return_status=document.return_status,
        application={n: head[n] for n in _APPLICATION_FIELDS if n in head},
        result=json.loads(result.head) if result is not None else None,
        inventories=tuple(sorted(t.invt_no for t in taken)),
        not_on_record=tuple(sorted(t.invt_no for t in taken if not t.on_record)),
        line_count=len(json.loads(result.lines)) if result is not None else 0,
    )


def summary_result(customs: Customs, reference: str) -> SummaryResultMessage:
    """The summary result (CEB792) of an application, once customs has concluded it."""
    with snapshot(customs.engine) as session:
        _application(session, reference)
        result = _result_of(session, reference)
        if result is None:
            raise SummaryNotFound(f"the summary application {reference} has no result yet")
        return SummaryResultMessage(reference, result.id, result.head, result.lines)
