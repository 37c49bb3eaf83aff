"""Requests against a declared inventory: cancellation (CEB623) and return of goods (CEB625)."""

from __future__ import annotations

import json
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from customs import quota_store
from customs.assembly import declared_doc, order_no_of
from customs.context import Customs
from customs.db import Declaration, Document
from customs.domain import clearance
from customs.domain.declarations import Decision
from customs.domain.matching import check_cancel, check_refund
from customs.domain.preflight import amount

CANCEL_NOT_ALLOWED = -623005
LINE_NOT_IN_INVENTORY = -625209


def _inventory(session: Session, invt_no: str) -> tuple[Document, Declaration] | None:
    document = session.execute(
        select(Document).where(
            col(Document.invt_no) == invt_no, col(Document.message_type) == "CEB621Message"
        )
    ).scalar_one_or_none()
    if document is None:
        return None
    declaration = session.execute(
        select(Declaration).where(
            col(Declaration.order_no) == order_no_of(document),
            col(Declaration.inventory_document_id) == document.id,
        )
    ).scalar_one_or_none()
    return (document, declaration) if declaration is not None else None


def _not_found(invt_no: str) -> Decision:
    return Decision(clearance.REJECTED, f"清单不存在 / no declared inventory with invtNo {invt_no}")


def cancel(customs: Customs, session: Session, request: Document) -> Decision:
    """Cancel an inventory before release; the buyer's quota is given back."""
    head = declared_doc(customs, request)
    found = _inventory(session, head.head.get("invtNo", ""))
    if found is None:
        return _not_found(head.head.get("invtNo", ""))
    inventory, declaration = found
    status = -1 if declaration.cancelled else (declaration.status or 0)
    problems = check_cancel(head, declared_doc(customs, inventory), inventory_status=status)
    if problems:
        return Decision(
            CANCEL_NOT_ALLOWED,
            "清单状态不允许撤销 / the inventory cannot be cancelled: "
            + "; ".join(p.message for p in problems)[:900],
        )
    declaration.cancelled = True
    restored = quota_store.restore(session, declaration_id=declaration.id)
    return Decision(
        clearance.CONCLUDED,
        f"撤销审结 / inventory {inventory.invt_no} cancelled; quota restored {restored} CNY",
        accepted=True,
        register=True,
    )


def return_goods(customs: Customs, session: Session, request: Document) -> Decision:
    """Accept a return of released goods (X14); the returned value goes back to the quota."""
    refund = declared_doc(customs, request)
    found = _inventory(session, refund.head.get("invtNo", ""))
    if found is None:
        return _not_found(refund.head.get("invtNo", ""))
    inventory, declaration = found
    original = declared_doc(customs, inventory)
    problems = check_refund(refund, original, inventory_status=declaration.status or 0)
    if problems:
        code = (
            LINE_NOT_IN_INVENTORY
            if any("-625209" in p.message for p in problems)
            else clearance.REJECTED
        )
        return Decision(
            code,
            "退货申请不符 / the return does not fit the inventory: "
            + "; ".join(p.message for p in problems)[:900],
        )
    prices = {line.get("gnum"): amount(line.get("price")) for line in original.lines}
    returned = sum(
        (
            prices.get(line.get("gnum"), Decimal(0)) * amount(line.get("qty"))
            for line in refund.lines
        ),
        Decimal(0),
    )
    goods = sum((amount(line.get("totalPrice")) for line in original.lines), Decimal(0))
    taken = json.loads(declaration.tax or "{}").get("dutiableValue")
    share = (
        (returned / goods * amount(taken)).quantize(quota_store.UNIT) if goods and taken else None
    )
    restored = (
        quota_store.restore(session, declaration_id=declaration.id, amount=share)
        if share is not None
        else Decimal(0)
    )
    declaration.returned = True
    return Decision(
        clearance.CONCLUDED,
        f"退货审结 / return of {returned} CNY of goods accepted; quota restored {restored} CNY",
        accepted=True,
        register=True,
    )
