"""Returns of exported goods against the database (the rules: `customs.domain.export_returns`):
a CEB213 application accepted against the export inventory it names, a CEB215 tally releasing
it. Each is a request of `customs.service`, `(customs, ctx, document) -> Decision`, in the
consumer's transaction deciding on the message; the inventory is locked meanwhile, so that two
returns do not both take the same goods back.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import Select, select
from sqlalchemy.orm import Session
from sqlmodel import col

from customs.assembly import announce
from customs.context import Customs
from customs.db import Declaration, Document, ExportReturn, Receipt
from customs.domain import export_returns as rules
from customs.domain.declarations import Decision
from customs.domain.export_clearance import REJECTED, info
from customs.export_flow import held_inventory, view_of
from customs.timefmt import return_time
from messaging.consumer import HandlerContext
from schemas.envelope import utc_now

IN_FORCE = (rules.RETURN_ACCEPTED, rules.RETURN_RELEASED)


def _refused(label: str, reasons: Sequence[str]) -> Decision:
    return Decision(REJECTED, info(f"退单 / the {label} is refused: " + "; ".join(reasons)))


def _returns(session: Session, invt_no: str) -> list[tuple[ExportReturn, Document]]:
    rows = session.execute(
        select(ExportReturn, Document)
        .join(Document, col(Document.id) == col(ExportReturn.document_id))
        .where(col(ExportReturn.invt_no) == invt_no, col(Document.return_status).in_(IN_FORCE))
    ).all()
    return [(r, d) for r, d in rows]


def returned_documents() -> Select[tuple[str]]:
    """The CEB603 documents of export inventories with an accepted or released return."""
    return (
        select(col(Document.id))
        .join(Declaration, col(Declaration.inventory_document_id) == col(Document.id))
        .where(
            col(Declaration.export_invt_no).in_(
                select(col(ExportReturn.invt_no))
                .join(Document, col(Document.id) == col(ExportReturn.document_id))
                .where(col(Document.return_status).in_(IN_FORCE))
            )
        )
    )


def returned_numbers(session: Session, numbers: Sequence[str]) -> list[str]:
    """Of `numbers`, the export inventories with an accepted or released return."""
    if not numbers:
        return []
    return sorted(
        set(
            session.execute(
                select(col(ExportReturn.invt_no))
                .join(Document, col(Document.id) == col(ExportReturn.document_id))
                .where(
                    col(ExportReturn.invt_no).in_(list(numbers)),
                    col(Document.return_status).in_(IN_FORCE),
                )
            ).scalars()
        )
    )


def apply_return(customs: Customs, ctx: HandlerContext, document: Document) -> Decision:
    """A CEB213: accept (120) a return of goods of a released export inventory, or refuse it."""
    session = ctx.session
    head, lines = json.loads(document.head), json.loads(document.lines)
    if document.app_type == "3":
        return _withdraw(session, document)
    if document.app_type != "1":
        return _refused("export return change", ["a return customs accepted is not changed"])
    number = head.get("invtNo", "").strip()
    found = held_inventory(session, number)
    if found is None:
        return _refused("export return", [f"no export inventory {number} on customs' record"])
    row, inventory, declaration = found
    returned: dict[int, dict[str, Decimal]] = {}
    for _earlier, earlier_document in _returns(session, number):
        for gnum, taken in rules.quantities(json.loads(earlier_document.lines)).items():
            per_line = returned.setdefault(gnum, {})
            for name, value in taken.items():
                per_line[name] = per_line.get(name, Decimal(0)) + value
    problems = rules.return_problems(
        head,
        lines,
        inventory=view_of(row, inventory),
        original_head=json.loads(inventory.head),
        original_lines=json.loads(inventory.lines),
        returned=returned,
    )
    if problems:
        return _refused("export return", problems)
    session.add(
        ExportReturn(
            document_id=document.id,
            invt_no=number,
            logistics_code=head.get("logisticsCode", ""),
            logistics_no=head.get("logisticsNo", "").strip(),
            created_at=utc_now(),
        )
    )
    accepted = Decision(
        rules.RETURN_ACCEPTED,
        info(
            f"海关入库 / return of goods of export inventory {number} accepted: "
            f"{len(lines)} lines, awaiting the tally (CEB215) of waybill "
            f"{head.get('logisticsNo', '')}"
        ),
        accepted=True,
        register=True,
    )
    announce(
        ctx.emit, declaration, document, code=accepted.return_status, info=accepted.return_info
    )
    return accepted


def _withdraw(session: Session, deletion: Document) -> Decision:
    """A CEB213 deletion (appType 3): the return it names is withdrawn while its goods wait for
    their tally; once tallied and released (800) it stands."""
    found = session.execute(
        select(ExportReturn, Document)
        .join(Document, col(Document.id) == col(ExportReturn.document_id))
        .where(
            col(Document.message_type) == deletion.message_type,
            col(Document.declared_key) == deletion.declared_key,
            col(Document.return_status).in_(IN_FORCE),
        )
    ).first()
    if found is None:  # the register holds it, so this is not expected: refuse, change nothing
        return _refused("export return deletion", ["no return in force under this key"])
    the_return, return_document = found
    if return_document.return_status == rules.RETURN_RELEASED:
        return _refused(
            "export return deletion",
            [
                f"the return of export inventory {the_return.invt_no} was tallied and its "
                "goods released (800): it cannot be deleted"
            ],
        )
    session.delete(the_return)
    return Decision(
        rules.RETURN_ACCEPTED,
        info(
            f"删除成功 / the return of goods of export inventory {the_return.invt_no} "
            f"(waybill {the_return.logistics_no}) is withdrawn"
        ),
        accepted=True,
        unregister=True,
    )


def tally(customs: Customs, ctx: HandlerContext, document: Document) -> Decision:
    """A CEB215 tally of returned goods: the return its waybill names is released (800)."""
    session = ctx.session
    head = json.loads(document.head)
    candidates = session.execute(
        select(ExportReturn, Document)
        .join(Document, col(Document.id) == col(ExportReturn.document_id))
        .where(
            col(ExportReturn.logistics_no) == head.get("logisticsNo", "").strip(),
            col(ExportReturn.logistics_code) == head.get("logisticsCode", ""),
            col(Document.return_status).in_(IN_FORCE),
        )
        .order_by(col(Document.return_status), col(ExportReturn.created_at))  # 120 first
    ).first()
    the_return, return_document = candidates if candidates is not None else (None, None)
    problems = rules.tally_problems(
        head,
        return_invt_no=the_return.invt_no if the_return else None,
        return_status=return_document.return_status if return_document else None,
    )
    if problems or the_return is None or return_document is None:
        return _refused("tally", problems)
    found = held_inventory(session, the_return.invt_no)
    if found is None:
        return _refused("tally", [f"no export inventory {the_return.invt_no} on customs' record"])
    _row, _inventory, declaration = found
    now = utc_now()
    text = info(
        f"放行 / the returned goods of export inventory {the_return.invt_no} are released "
        f"(CEB215 {head.get('coElNo', '')}, operator {head.get('operatorCode', '')})"
    )
    session.add(
        Receipt(
            document_id=return_document.id,
            return_status=rules.RETURN_RELEASED,
            return_info=text,
            return_time=return_time(now),
            created_at=now,
        )
    )
    return_document.return_status = rules.RETURN_RELEASED
    return_document.updated_at = declaration.updated_at = now
    declaration.returned = True
    announce(ctx.emit, declaration, return_document, code=rules.RETURN_RELEASED, info=text)
    return Decision(
        rules.TALLIED,
        info(
            f"理货审结 / tally of waybill {head.get('logisticsNo', '')} concluded: the return "
            f"of export inventory {the_return.invt_no} is released (800)"
        ),
        accepted=True,
        register=True,
    )
