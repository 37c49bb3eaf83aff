"""Export summary declarations as platforms read them: the application and its CEB792 result."""

from __future__ import annotations

import json
from collections.abc import Sequence
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
    head: str  # the first declaration's SummaryResultHead (the only one with summaryFlag 1)
    lines: str
    others: tuple[tuple[str, str], ...] = ()  # (head, lines) of the others (summaryFlag 2)

    @property
    def results(self) -> tuple[tuple[str, str], ...]:
        """(head, lines) of every declaration, in declSeqNo order."""
        return ((self.head, self.lines), *self.others)

    def as_xml(self) -> bytes:
        """The official CEB792Message: one SummaryResult per declaration."""
        return render_summary_result(self)

    def as_json(self) -> dict[str, Any]:
        """The same fields as JSON (element names as in the XSD): `head` and `lines` of the
        first declaration, and `results` of every one."""
        return {
            "reference": self.reference,
            "messageType": RESULT_MESSAGE_TYPE,
            "head": json.loads(self.head),
            "lines": json.loads(self.lines),
            "results": [
                {"head": json.loads(head), "lines": json.loads(lines)}
                for head, lines in self.results
            ],
        }


@dataclass(frozen=True, slots=True)
class SummaryView:
    """An export summary application: where it stands and, once concluded, its numbers."""

    reference: str
    status: str  # declaring | refused | awaiting-parts | concluded | deleted
    return_status: int
    application: dict[str, str]
    result: dict[str, str] | None  # the first declaration's result head
    inventories: tuple[str, ...] = ()
    not_on_record: tuple[str, ...] = ()
    line_count: int = 0
    declarations: tuple[dict[str, Any], ...] = ()  # one per customs declaration


def _application(session: Session, reference: str) -> Document:
    document = session.get(Document, reference)
    if document is None or document.message_type != APPLICATION:
        raise SummaryNotFound(f"no summary application (CEB701) with reference {reference}")
    return document


def _results_of(session: Session, reference: str) -> list[SummaryResult]:
    """The application part's results, one per customs declaration, in declSeqNo order."""
    return list(
        session.execute(
            select(SummaryResult)
            .where(col(SummaryResult.application_document_id) == reference)
            .order_by(col(SummaryResult.decl_seq_no))
        ).scalars()
    )


def _status(document: Document, results: Sequence[SummaryResult]) -> str:
    if results:
        return "concluded"
    if document.return_status == clearance.DECLARING:
        return "declaring"
    if document.app_type == "3" and document.return_status == ACCEPTED_CODE:
        return "deleted"
    return "awaiting-parts" if document.return_status == ACCEPTED_CODE else "refused"


_APPLICATION_FIELDS = (
    "copNo",
    "agentCode",
    "ebcCode",
    "customsCode",
    "summaryFlag",
    "msgCount",
    "msgSeqNo",
)


def summary_view(customs: Customs, reference: str) -> SummaryView:
    """An application's status and, once concluded, its declaration numbers (entryId)."""
    with snapshot(customs.engine) as session:
        document = _application(session, reference)
        results = _results_of(session, reference)
        taken = (
            list(
                session.execute(
                    select(SummarisedInventory).where(
                        col(SummarisedInventory.summary_result_id).in_([r.id for r in results])
                    )
                ).scalars()
            )
            if results
            else []
        )
    head = json.loads(document.head)
    declarations = tuple(
        {
            "declSeqNo": r.decl_seq_no,
            "entryId": r.entry_id,
            "ownerCode": r.owner_code or None,
            "inventories": sorted(t.invt_no for t in taken if t.summary_result_id == r.id),
            "lineCount": len(json.loads(r.lines)),
        }
        for r in results
    )
    return SummaryView(
        reference=reference,
        status=_status(document, results),
        return_status=document.return_status,
        application={n: head[n] for n in _APPLICATION_FIELDS if n in head},
        result=json.loads(results[0].head) if results else None,
        inventories=tuple(sorted(t.invt_no for t in taken)),
        not_on_record=tuple(sorted(t.invt_no for t in taken if not t.on_record)),
        line_count=sum(len(json.loads(r.lines)) for r in results),
        declarations=declarations,
    )


def summary_result(customs: Customs, reference: str) -> SummaryResultMessage:
    """The summary result (CEB792) of an application, once customs has concluded it."""
    with snapshot(customs.engine) as session:
        _application(session, reference)
        results = _results_of(session, reference)
        if not results:
            raise SummaryNotFound(f"the summary application {reference} has no result yet")
        first, *others = results
        return SummaryResultMessage(
            reference,
            first.id,
            first.head,
            first.lines,
            tuple((r.head, r.lines) for r in others),
        )
