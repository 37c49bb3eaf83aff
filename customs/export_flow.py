"""The export inventory's lifecycle against the database (the rules, and what each message
does: `customs.domain.export_clearance`). Each use case is a request of `customs.service`,
`(customs, ctx, document) -> Decision`, in the consumer's transaction deciding on the message.

A CEB603 taken in gets its number (kept if it carries one), written into its head so that every
CEB604 receipt repeats it, and a declaration (`Declaration` with `export_invt_no`): officers
decide on it through the same decisions API, audit and review queue as on an import one
(`customs.clearance_service`). Receipts issued on an inventory are Receipt rows of its CEB603
document (/v1/receipts/{reference} lists them), and each is announced as a
`customs.clearance_changed.v1` (direction "export", its `invt_no`), as the 120 that accepts it.
Inventories are looked up as customs holds them (their CEB603 in force) and locked with their
declaration, so that two messages, or a message and an officer, do not move one at once.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from sqlalchemy import ColumnElement, Select, and_, select
from sqlalchemy.orm import Session
from sqlmodel import col

from customs.assembly import announce, issue, quota_year_of
from customs.context import Customs
from customs.db import (
    Declaration,
    DeclaredKey,
    Document,
    ExportBillLink,
    ExportInventory,
    SummarisedInventory,
    SummaryResult,
)
from customs.domain import export_clearance as rules
from customs.domain.clearance import Action, TransitionRefused
from customs.domain.clearance import Step as Transition
from customs.domain.declarations import Decision
from customs.domain.export_clearance import Step
from customs.numbering import inventory_number
from messaging.consumer import HandlerContext
from schemas.envelope import utc_now

INVENTORY = "CEB603Message"
NO_EXPORT_CODE = "(100: the spec documents no export cancellation error code; import: -623005)"


@dataclass(slots=True)
class _Held:
    """An export inventory customs holds: its row and its CEB603 document (its state)."""

    row: ExportInventory
    document: Document
    declaration: Declaration
    summarised_in: str | None = None

    @property
    def invt_no(self) -> str:
        return self.row.invt_no

    @property
    def view(self) -> rules.Inventory:
        return rules.Inventory(
            invt_no=self.row.invt_no,
            status=self.document.return_status,
            logistics_code=self.row.logistics_code,
            logistics_no=self.row.logistics_no,
            cancelled=self.row.cancelled,
            summarised_in=self.summarised_in,
        )


@dataclass(slots=True)
class _Found:
    """The inventories a message names, by the reference naming each; what names none."""

    named: dict[str, _Held] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


# --- reading ------------------------------------------------------------------------------


def _message(document: Document) -> tuple[dict[str, str], list[dict[str, str]]]:
    return json.loads(document.head), json.loads(document.lines)


def _listed(lines: Iterable[dict[str, str]], name: str = "logisticsNo") -> list[str]:
    """The values of one field over the lines, stripped, once each, in order."""
    return list(dict.fromkeys(v for line in lines if (v := line.get(name, "").strip())))


def _held(session: Session, condition: ColumnElement[bool]) -> list[_Held]:
    """Export inventories customs holds meeting `condition`, locked until the transaction ends."""
    rows = session.execute(
        select(ExportInventory, Document, Declaration)
        .join(Document, col(Document.id) == col(ExportInventory.document_id))
        .join(
            DeclaredKey,
            and_(
                col(DeclaredKey.document_id) == col(Document.id),
                col(DeclaredKey.message_type) == INVENTORY,
            ),
        )
        .join(
            Declaration,
            and_(
                col(Declaration.inventory_document_id) == col(Document.id),
                col(Declaration.export_invt_no) == col(ExportInventory.invt_no),
            ),
        )
        .where(condition)
        .order_by(col(ExportInventory.invt_no))
        .with_for_update(of=[ExportInventory, Declaration])  # officers lock the declaration
    ).all()
    return [_Held(row, document, declaration) for row, document, declaration in rows]


def _by_number(session: Session, numbers: Sequence[str]) -> dict[str, _Held]:
    if not numbers:
        return {}
    return {h.invt_no: h for h in _held(session, col(ExportInventory.invt_no).in_(numbers))}


def _by_waybill(session: Session, numbers: Sequence[str], *, logistics_code: str) -> _Found:
    """The inventories waybill numbers (logisticsNo) name; `logistics_code` is the carrier the
    message names, which settles a number several inventories share."""
    found = _Found()
    if not numbers:
        return found
    candidates: dict[str, list[_Held]] = {number: [] for number in numbers}
    for held in _held(session, col(ExportInventory.logistics_no).in_(numbers)):
        candidates[held.row.logistics_no].append(held)
    for number, options in candidates.items():
        by_number = {h.invt_no: h for h in options}
        chosen = rules.choose([h.view for h in options], logistics_code=logistics_code)
        if chosen is not None:
            found.named[number] = by_number[chosen.invt_no]
        elif options:
            found.problems.append(
                f"waybill {number} names several inventories: {', '.join(by_number)}"
            )
        else:
            found.problems.append(f"waybill {number}: no export inventory customs holds")
    return found


def _under_bill(session: Session, bill_no: str) -> list[_Held]:
    linked = select(col(ExportBillLink.invt_no)).where(col(ExportBillLink.bill_no) == bill_no)
    return _held(session, col(ExportInventory.invt_no).in_(linked))


def _summary_of(session: Session, invt_no: str) -> str | None:
    """The sumNo of the summary that took the inventory, if one did."""
    return session.execute(
        select(col(SummaryResult.sum_no))
        .join(
            SummarisedInventory,
            col(SummarisedInventory.summary_result_id) == col(SummaryResult.id),
        )
        .where(col(SummarisedInventory.invt_no) == invt_no)
    ).scalar_one_or_none()


def cancelled_documents() -> Select[tuple[str]]:
    """The CEB603 documents of cancelled export inventories (for the summary's query)."""
    return select(col(ExportInventory.document_id)).where(col(ExportInventory.cancelled))


def cancelled_numbers(session: Session, numbers: Sequence[str]) -> list[str]:
    """Of `numbers`, the export inventories that were cancelled."""
    if not numbers:
        return []
    return list(
        session.execute(
            select(col(ExportInventory.invt_no))
            .where(col(ExportInventory.cancelled), col(ExportInventory.invt_no).in_(numbers))
            .order_by(col(ExportInventory.invt_no))
        ).scalars()
    )


# --- writing ------------------------------------------------------------------------------


def _issue(ctx: HandlerContext, held: _Held, step: Step, source: str) -> None:
    """The CEB604 receipts `step` issues on the inventory, each announced; its state is the
    last of them."""
    for code in rules.receipts(held.view, step):
        issue(
            ctx.session,
            ctx.emit,
            held.declaration,
            inventory=held.document,
            code=code,
            info=rules.info(f"{rules.RECEIPT_TEXT[code]} ({source})"),
        )
        held.row.updated_at = held.document.updated_at


def _move(
    ctx: HandlerContext,
    inventories: Iterable[_Held],
    problems: Sequence[str],
    step: Step,
    *,
    label: str,
    source: str,
    done: str,
) -> Decision:
    """Take `step` on every inventory, or refuse the message naming every reason."""
    unique = {h.invt_no: h for h in inventories}
    reasons = [*problems, *filter(None, (rules.refusal(h.view, step) for h in unique.values()))]
    if not unique and not reasons:
        reasons.append(f"the {label} names no export inventory")
    if reasons:
        return rules.refused(label, reasons)
    for held in unique.values():
        _issue(ctx, held, step, source)
    codes = "/".join(map(str, rules.RULES[step].codes))
    return rules.done(f"{done} ({codes}): {len(unique)} inventories: {', '.join(unique)}")


def _taken(session: Session, number: str) -> bool:
    found = session.execute(select(col(Document.id)).where(col(Document.invt_no) == number))
    return found.first() is not None


def _new_number(session: Session, head: dict[str, str]) -> str:
    """The next export inventory number of the district and year (one an enterprise already
    declared itself is skipped)."""
    while True:
        number = inventory_number(
            session,
            customs_code=head.get("customsCode", "0000"),
            year=quota_year_of(head),
            ie_flag="E",
        )
        if not _taken(session, number):
            return number


def accept_inventory(customs: Customs, ctx: HandlerContext, document: Document) -> Decision:
    """A new CEB603 customs takes in: 120 with its number (kept if it carries one), as a
    declaration officers may decide on."""
    session = ctx.session
    head = json.loads(document.head)
    if document.app_type != "1":
        return rules.refused(
            "export inventory change",
            ["an export inventory customs accepted is not changed: cancel it (CEB605) and "
             "declare it anew"],
        )  # fmt: skip
    number = head.get("invtNo", "").strip()
    if number and _taken(session, number):
        return rules.refused("export inventory", [f"invtNo {number} is another inventory's"])
    number = number or _new_number(session, head)
    now = utc_now()
    document.invt_no = number
    document.head = json.dumps({**head, "invtNo": number}, ensure_ascii=False)
    session.add(
        ExportInventory(
            invt_no=number,
            document_id=document.id,
            logistics_code=head.get("logisticsCode", ""),
            logistics_no=head.get("logisticsNo", "").strip(),
            created_at=now,
            updated_at=now,
        )
    )
    declaration = Declaration(
        id=str(uuid.uuid4()),
        ebp_code=head.get("ebpCode", ""),
        order_no=head.get("orderNo", ""),
        inventory_document_id=document.id,
        status=rules.ACCEPTED,
        export_invt_no=number,
        created_at=now,
        updated_at=now,
    )
    session.add(declaration)
    accepted = Decision(
        rules.ACCEPTED,
        f"海关入库成功 / accepted into the customs database as export inventory {number}",
        accepted=True,
        register=True,
    )
    announce(
        ctx.emit, declaration, document, code=accepted.return_status, info=accepted.return_info
    )
    return accepted


def arrive(customs: Customs, ctx: HandlerContext, document: Document) -> Decision:
    """A CEB507 arrival at the supervision site: the listed inventories are released."""
    session = ctx.session
    head, lines = _message(document)
    listed = _listed(lines)
    problems = rules.arrival_problems(head, listed)
    if problems:
        return rules.refused("arrival", problems)
    found = _by_waybill(session, listed, logistics_code=head.get("logisticsCode", ""))
    return _move(
        ctx,
        found.named.values(),
        found.problems,
        Step.ARRIVE,
        label="arrival",
        source=f"CEB507 arrival {head.get('copNo', '')}",
        done="运抵放行 / arrived and released",
    )


def link_bill(customs: Customs, ctx: HandlerContext, document: Document) -> Decision:
    """A CEB607 master/house bill link: the listed inventories travel under its billNo (a
    change, appType 2, may move them from another bill; a deletion, appType 3, takes them off)."""
    session = ctx.session
    head, lines = _message(document)
    bill = head.get("billNo", "").strip()
    problems = rules.part_problems(head)
    by_number = _by_number(session, _listed(lines, "invtNo"))
    by_waybill = _by_waybill(
        session,
        _listed(line for line in lines if not line.get("invtNo", "").strip()),
        logistics_code=head.get("logisticsCode", ""),
    )
    problems += by_waybill.problems
    linking: dict[str, tuple[_Held, str]] = {}  # invtNo -> (inventory, waybill listed)
    for line in lines:
        number, waybill = line.get("invtNo", "").strip(), line.get("logisticsNo", "").strip()
        held = by_number.get(number) if number else by_waybill.named.get(waybill)
        if held is not None:
            linking[held.invt_no] = (held, waybill)
        elif number:
            problems.append(f"invtNo {number}: no export inventory customs holds")
    links = {
        link.invt_no: link
        for link in session.execute(
            select(ExportBillLink).where(col(ExportBillLink.invt_no).in_(list(linking)))
        ).scalars()
    }
    if document.app_type == "3":  # a deletion takes the listed inventories off the bill
        for number, (held, _waybill) in linking.items():
            other = links.get(number)
            problems += rules.unlink_problems(
                held.view, bill=bill, linked_to=other.bill_no if other is not None else None
            )
        if problems:
            return rules.refused("bill link deletion", problems)
        for number in linking:
            session.delete(links[number])
        taken_off = rules.done(
            f"总分单已删除 / {len(linking)} inventories taken off bill {bill}: "
            + ", ".join(linking)
        )
        return replace(taken_off, register=False, unregister=True)
    for number, (held, waybill) in linking.items():
        other = links.get(number)
        problems += rules.link_problems(
            held.view,
            waybill=waybill,
            bill=bill,
            linked_to=other.bill_no if other is not None else None,
            may_move=document.app_type == "2",
        )
    if problems:
        return rules.refused("bill link", problems)
    now = utc_now()
    for number in linking:
        link = links.get(number)
        if link is None:
            session.add(
                ExportBillLink(
                    invt_no=number, bill_no=bill, waybill_document_id=document.id, linked_at=now
                )
            )
        else:  # the same bill again, or a change (appType 2) moving it
            link.bill_no, link.waybill_document_id, link.linked_at = bill, document.id, now
    return rules.done(
        f"总分单已登记 / {len(linking)} inventories linked under bill {bill}: " + ", ".join(linking)
    )


def depart(customs: Customs, ctx: HandlerContext, document: Document) -> Decision:
    """A CEB509 departure: the inventories it lists, and those linked under its bill, close."""
    session = ctx.session
    head, lines = _message(document)
    problems = rules.part_problems(head)
    if problems:
        return rules.refused("departure", problems)
    found = _by_waybill(session, _listed(lines), logistics_code=head.get("logisticsCode", ""))
    leaving = list(found.named.values())
    bill = head.get("billNo", "").strip()
    already: list[str] = []
    if bill:  # the bill leaves as a whole: what a CEB607 linked under it and has not left
        under = _under_bill(session, bill)
        # a later part of a split departure lists what an earlier part closed with the bill
        gone = {h.invt_no for h in under if h.document.return_status == rules.CLOSED}
        already = [h.invt_no for h in leaving if h.invt_no in gone]
        leaving = [h for h in leaving if h.invt_no not in gone]
        leaving.extend(held for held in under if held.view.open)
    if already and not leaving and not found.problems:
        return rules.done(f"离境结关 / closed already with bill {bill}: {', '.join(already)}")
    return _move(
        ctx,
        leaving,
        found.problems,
        Step.DEPART,
        label="departure",
        source=f"CEB509 departure {head.get('copNo', '')}, leaveTime {head.get('leaveTime', '')}",
        done="离境结关 / departed and closed",
    )


def cancel(customs: Customs, ctx: HandlerContext, document: Document) -> Decision:
    """A CEB605 cancellation of an export inventory before its release."""
    session = ctx.session
    head = json.loads(document.head)
    number = head.get("invtNo", "").strip()
    held = _by_number(session, [number]).get(number)
    if held is None:
        return rules.refused(
            "cancellation", [f"no export inventory {number} on customs' record", NO_EXPORT_CODE]
        )
    held.summarised_in = _summary_of(session, number)
    problems = rules.cancel_problems(head, json.loads(held.document.head))
    why = rules.refusal(held.view, Step.CANCEL)
    if why is not None:
        problems.append(why)
    if problems:
        return rules.refused("cancellation", [*problems, NO_EXPORT_CODE])
    _issue(
        ctx,
        held,
        Step.CANCEL,
        f"CEB605 {head.get('copNo', '')}: {head.get('reason', '')}",
    )
    held.row.cancelled = held.declaration.cancelled = True
    return rules.done(f"撤销审结 / export inventory {number} cancelled")


def officer_step(session: Session, declaration: Declaration, action: Action) -> Transition:
    """The CEB604 receipts an officer's `action` issues on the export inventory `declaration`
    stands for (rules: `export_clearance.officer_step`); its row is locked meanwhile."""
    number = declaration.export_invt_no
    held = _by_number(session, [number]).get(number)
    if held is None:  # its CEB603 is no longer in force
        raise TransitionRefused(
            declaration.status or 0, action, frozenset(), why=f"no export inventory {number}"
        )
    held.summarised_in = _summary_of(session, number)
    step = rules.officer_step(held.view, action)
    held.row.updated_at = utc_now()
    return step


def held_inventory(
    session: Session, number: str
) -> tuple[ExportInventory, Document, Declaration] | None:
    """The export inventory customs holds with that number (its row, CEB603 and declaration),
    locked until the transaction ends, and its rules view; None when it holds none."""
    held = _by_number(session, [number]).get(number)
    if held is None:
        return None
    return held.row, held.document, held.declaration


def view_of(row: ExportInventory, document: Document) -> rules.Inventory:
    """What the rules know of an export inventory (its summary left out)."""
    return rules.Inventory(
        invt_no=row.invt_no,
        status=document.return_status,
        logistics_code=row.logistics_code,
        logistics_no=row.logistics_no,
        cancelled=row.cancelled,
    )
