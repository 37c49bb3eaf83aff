"""Whether a caller's scope lets it see a document, submission, declaration or certificate.

Objects it may not see answer exactly like objects that do not exist (404), so a foreign tenant
learns nothing, not even that a reference is in use.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, exists, or_, select
from sqlalchemy.orm import Session
from sqlmodel import col

from customs.context import Customs
from customs.db import Certificate, Declaration, Document, DocumentParty, Submission
from customs.domain.access import Scope


def _party_in(scope: Scope, document_id: object) -> Select[tuple[bool]]:
    assert scope.codes is not None
    return select(
        exists().where(
            col(DocumentParty.document_id) == document_id,
            col(DocumentParty.code).in_(scope.codes),
        )
    )


def document_visible(customs: Customs, scope: Scope, document_id: str) -> bool:
    if scope.everything:
        return True
    with Session(customs.engine) as session:
        return bool(session.execute(_party_in(scope, document_id)).scalar())


def submission_visible(customs: Customs, scope: Scope, submission_id: str) -> bool:
    if scope.everything:
        return True
    assert scope.codes is not None
    with Session(customs.engine) as session:
        submission = session.get(Submission, submission_id)
        return submission is not None and submission.sender_code in scope.codes


def _documents_of(scope: Scope) -> Select[tuple[str]]:
    """The ids of the documents carrying one of the scope's codes."""
    assert scope.codes is not None
    return select(col(DocumentParty.document_id)).where(col(DocumentParty.code).in_(scope.codes))


def declaration_filter(scope: Scope) -> list[ColumnElement[bool]]:
    """WHERE clauses keeping the declarations one of whose documents carries a scope code."""
    if scope.everything:
        return []
    mine = _documents_of(scope)
    return [
        or_(
            col(Declaration.order_document_id).in_(mine),
            col(Declaration.payment_document_id).in_(mine),
            col(Declaration.waybill_document_id).in_(mine),
            col(Declaration.inventory_document_id).in_(mine),
        )
    ]


def declaration_visible(customs: Customs, scope: Scope, declaration_id: str) -> bool:
    if scope.everything:
        return True
    with Session(customs.engine) as session:
        query = select(col(Declaration.id)).where(
            col(Declaration.id) == declaration_id, *declaration_filter(scope)
        )
        return session.execute(query).first() is not None


def document_filter(scope: Scope) -> list[ColumnElement[bool]]:
    """WHERE clauses keeping the documents that carry a scope code."""
    if scope.everything:
        return []
    return [col(Document.id).in_(_documents_of(scope))]


def certificate_visible(customs: Customs, scope: Scope, certificate_id: int) -> bool:
    if scope.everything:
        return True
    with Session(customs.engine) as session:
        row = session.get(Certificate, certificate_id)
        return row is not None and scope.sees([row.enterprise_code])
