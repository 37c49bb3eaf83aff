"""Import declarations: joining order, payment, waybill and inventory, then matching, taxing,
taking the buyer's quota, and handing the declaration to risk for its route."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Protocol

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from clearway import jsontext
from customs import quota_store
from customs.ceb.documents import KINDS
from customs.context import Customs
from customs.db import Declaration, Document, Receipt
from customs.domain import clearance
from customs.domain.matching import Doc, MatchFacts, MatchSettings, match_declaration
from customs.domain.preflight import amount, head_amounts, tax_lines
from customs.domain.quota import OVER_ANNUAL_LIMIT, quota_year
from customs.domain.tariff import UnknownHsCode
from customs.domain.tax import TaxRefusal, TaxSettings, assess_tax
from customs.timefmt import return_time
from messaging.consumer import HandlerContext
from schemas.envelope import utc_now
from schemas.events import ClearanceChangedV1, DeclarationReadyV1, DeclaredLine
from schemas.ids import uuid7

ROLES = {
    "CEB311Message": "order",
    "CEB411Message": "payment",
    "CEB511Message": "waybill",
    "CEB621Message": "inventory",
}
_LIMIT_RULES = frozenset({"X11", "X12"})
_MATCH_CODE = {"CEB311": "CEB311Message", "CEB411": "CEB411Message", "CEB511": "CEB511Message"}


class Stored(Protocol):
    """A document as stored: its public head and lines (JSON) and its sealed personal fields."""

    @property
    def head(self) -> str: ...
    @property
    def personal(self) -> str | None: ...
    @property
    def lines(self) -> str: ...


def full_head(customs: Customs, document: Stored) -> dict[str, str]:
    """A document's head as declared, its encrypted personal fields opened."""
    return customs.vault.join(jsontext.loads(document.head), document.personal)


def declared_doc(customs: Customs, document: Stored) -> Doc:
    """A stored document as the business rules read it: full head and lines."""
    lines = tuple(jsontext.loads(document.lines))
    return opened_doc(customs, jsontext.loads(document.head), document.personal, lines)


def opened_doc(
    customs: Customs,
    head: dict[str, str],
    personal: str | None,
    lines: tuple[Mapping[str, str], ...],
) -> Doc:
    """`declared_doc` from a head and lines already parsed."""
    return Doc(head=customs.vault.join(head, personal), lines=lines)


def attach(customs: Customs, ctx: HandlerContext, document: Document) -> None:
    """File an accepted document into its declaration; assess the declaration once complete."""
    role = ROLES.get(document.message_type)
    if role is None:
        return
    session = ctx.session
    head = jsontext.loads(document.head)
    now = utc_now()
    if role == "waybill":
        declarations = list(
            session.execute(
                select(Declaration).where(
                    col(Declaration.order_no) == head["orderNo"],
                    col(Declaration.export_invt_no) == "",
                )
            ).scalars()
        )
    else:
        declaration = session.execute(
            select(Declaration).where(
                col(Declaration.ebp_code) == head["ebpCode"],
                col(Declaration.order_no) == head["orderNo"],
                col(Declaration.export_invt_no) == "",
            )
        ).scalar_one_or_none()
        if declaration is None:
            declaration = Declaration(
                id=str(uuid7()),
                ebp_code=head["ebpCode"],
                order_no=head["orderNo"],
                created_at=now,
                updated_at=now,
            )
            session.add(declaration)
        declarations = [declaration]
    for declaration in declarations:
        setattr(declaration, f"{role}_document_id", document.id)
        if role == "inventory":
            declaration.status = clearance.ACCEPTED
            declaration.buyer_key = document.buyer_key
        if declaration.waybill_document_id is None:
            declaration.waybill_document_id = _accepted_waybill(session, declaration.order_no)
        declaration.updated_at = now
        session.flush()
        # Assessed once: a document changed after that does not take the buyer's quota again.
        if (
            _complete(declaration)
            and declaration.status == clearance.ACCEPTED
            and declaration.tax is None
        ):
            assess(customs, ctx, declaration)


def documents_of(session: Session, declaration: Declaration) -> dict[str, Document | None]:
    """The declaration's order, payment, waybill and inventory (None for one not yet held)."""
    found: dict[str, Document | None] = {}
    for role in ("order", "payment", "waybill", "inventory"):
        document_id = getattr(declaration, f"{role}_document_id")
        found[role] = session.get(Document, document_id) if document_id is not None else None
    return found


def detach(session: Session, document: Document) -> None:
    """Take a deleted document out of the declarations it was part of."""
    role = ROLES.get(document.message_type)
    if role is None:
        return
    column = getattr(Declaration, f"{role}_document_id")
    for declaration in session.execute(
        select(Declaration).where(
            col(Declaration.order_no) == order_no_of(document), column == document.id
        )
    ).scalars():
        setattr(declaration, f"{role}_document_id", None)
        declaration.updated_at = utc_now()


def locked_by_inventory(session: Session, document: Document) -> bool:
    """Whether an order is carried by an inventory customs holds (it can then not change)."""
    if document.message_type != "CEB311Message":
        return False
    declaration = session.execute(
        select(Declaration).where(
            col(Declaration.order_no) == order_no_of(document),
            col(Declaration.order_document_id) == document.id,
        )
    ).scalar_one_or_none()
    return (
        declaration is not None
        and declaration.inventory_document_id is not None
        and declaration.status not in (None, clearance.REJECTED)
        and (declaration.status or 0) >= 0
    )


def order_no_of(document: Document) -> str:
    """The order number of a document of the import set: the declarations it is filed in are
    found by it (their index), as they were filed by it, not by the document's id (which no
    index holds: a scan of every declaration, at every duplicate, change or deletion)."""
    order_no: str = jsontext.loads(document.head)["orderNo"]
    return order_no


def _accepted_waybill(session: Session, order_no: str) -> str | None:
    return session.execute(
        select(col(Document.id))
        .where(
            col(Document.message_type) == "CEB511Message",
            col(Document.business_key) == order_no,
            col(Document.return_status) == clearance.ACCEPTED,
        )
        .order_by(col(Document.created_at).desc())
        .limit(1)
    ).scalar_one_or_none()


def _complete(declaration: Declaration) -> bool:
    return None not in (
        declaration.order_document_id,
        declaration.payment_document_id,
        declaration.waybill_document_id,
        declaration.inventory_document_id,
    )


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the rules make of a complete declaration, before its buyer's quota is taken.

    `refusal` (code, info) rejects it; otherwise `tax` (JSON) is its tax, `quota_amount` what
    it takes from the buyer's year and `ready` the event that hands it to risk.
    """

    mismatches: str
    refusal: tuple[int, str] | None = None
    tax: str | None = None
    quota_amount: Decimal = Decimal("0")
    ready: DeclarationReadyV1 | None = None


@cache
def _match_settings(tax: TaxSettings) -> MatchSettings:
    """The match's limits and discount rule, the tax's: made once per settings."""
    return MatchSettings(
        single_limit=tax.single_transaction_limit,
        annual_limit=tax.annual_limit,
        discount_deductible=tax.discount_lowers_dutiable_value,
    )


QUOTA_REFUSAL = (
    "超过年度限额 / the buyer's used quota plus this purchase exceeds the annual limit (-621018)"
)


def evaluate(
    customs: Customs,
    *,
    declaration_id: str,
    order_no: str,
    ebp_code: str,
    buyer_key: str | None,
    docs: Mapping[str, Doc],
    statuses: Mapping[str, int],
    used: Decimal,
) -> Verdict:
    """Match the four documents (`docs` by role) and tax the declaration; no database.

    `statuses`: the return status of the order, payment and waybill (by role); `used`: what
    the buyer has used of the inventory's year.
    """
    order, payment, waybill, inventory = (
        docs[r] for r in ("order", "payment", "waybill", "inventory")
    )
    year = quota_year_of(inventory.head)
    result = match_declaration(
        order,
        payment,
        waybill,
        inventory,
        settings=_match_settings(customs.tax_settings),
        facts=MatchFacts(
            found={"CEB311": 1, "CEB411": 1, "CEB511": 1},
            counterpart_status={
                code: statuses[ROLES[message]] for code, message in _MATCH_CODE.items()
            },
            annual_used=used,
        ),
    )
    mismatches = jsontext.dumps(result.mismatches)
    # The limits (X11, X12) are answered by the tax assessment below with their own codes.
    blocking = [
        m for m in result.mismatches if m.severity == "error" and m.rule not in _LIMIT_RULES
    ]
    if blocking:
        reasons = "; ".join(f"{m.rule} {m.message}" for m in blocking)
        return Verdict(
            mismatches,
            (clearance.REJECTED, f"三单对碰不一致 / the four documents do not match: {reasons}"),
        )
    try:
        lines = tax_lines(inventory)
        tax = assess_tax(
            lines,
            head_amounts(inventory, order),
            tariff=customs.tariff,
            year=year,
            used_this_year=used,
            settings=customs.tax_settings,
        )
    except (UnknownHsCode, ValueError) as exc:
        return Verdict(
            mismatches,
            (clearance.REJECTED, f"商品编码或数量有误 / the goods cannot be taxed: {exc}"),
        )
    if isinstance(tax, TaxRefusal):
        return Verdict(mismatches, (tax.return_status, tax.message))
    tax_json = jsontext.dumps(
        {
            "regime": tax.regime.value,
            "dutiableValue": str(tax.dutiable_value),
            "duty": str(tax.duty),
            "vat": str(tax.vat),
            "consumptionTax": str(tax.consumption_tax),
            "totalTax": str(tax.total_tax),
            "lines": [
                {"gnum": t.gnum, "dutiableValue": str(t.dutiable_value), "total": str(t.total)}
                for t in tax.lines
            ],
        }
    )
    ready = DeclarationReadyV1(
        declaration_id=declaration_id,  # text, parsed by pydantic-core
        order_no=order_no,
        ebp_code=ebp_code,
        ebc_code=inventory.head["ebcCode"],
        logistics_code=inventory.head["logisticsCode"],
        trade_mode=inventory.head["tradeMode"],
        buyer_key=buyer_key or "unknown",
        goods_value=amount(order.head.get("goodsValue")),
        dutiable_value=tax.dutiable_value,
        tax_total=tax.total_tax,
        buyer_used_this_year=used + tax.quota_amount,
        agent_code=inventory.head.get("agentCode") or None,
        departure_country=inventory.head.get("country") or None,
        transport_mode=inventory.head.get("trafMode") or None,
        net_weight=amount(inventory.head.get("netWeight")) or None,
        lines=tuple(
            DeclaredLine(
                gnum=line.gnum,
                gcode=line.gcode,
                item_name=line.item_name,
                qty=line.qty,
                unit_price=line.unit_price,
                total_price=line.total_price,
                country=raw.get("country", "000"),
            )
            for line, raw in zip(lines, inventory.lines, strict=True)
        ),
        phone_key=customs.vault.phone_key(inventory.head.get("buyerTelephone", "")),
        address_key=customs.vault.address_key(inventory.head.get("consigneeAddress", "")),
    )
    return Verdict(mismatches, tax=tax_json, quota_amount=tax.quota_amount, ready=ready)


def assess(customs: Customs, ctx: HandlerContext, declaration: Declaration) -> None:
    """Match the four documents, tax the declaration and take the buyer's quota, or reject it."""
    session = ctx.session
    docs = documents_of(session, declaration)
    loaded = {role: declared_doc(customs, d) for role, d in docs.items() if d is not None}
    year = quota_year_of(loaded["inventory"].head)
    used = (
        quota_store.used(session, buyer_key=declaration.buyer_key, year=year)
        if declaration.buyer_key
        else Decimal("0")
    )
    verdict = evaluate(
        customs,
        declaration_id=declaration.id,
        order_no=declaration.order_no,
        ebp_code=declaration.ebp_code,
        buyer_key=declaration.buyer_key,
        docs=loaded,
        statuses={role: d.return_status for role, d in docs.items() if d is not None},
        used=used,
    )
    declaration.mismatches = verdict.mismatches

    def reject(code: int, info: str) -> None:
        issue(session, ctx.emit, declaration, inventory=docs["inventory"], code=code, info=info)

    if verdict.refusal is not None:
        reject(*verdict.refusal)
        return
    assert verdict.ready is not None
    taken = declaration.buyer_key is not None and quota_store.consume(
        session,
        declaration_id=declaration.id,
        buyer_key=declaration.buyer_key,
        year=year,
        amount=verdict.quota_amount,
        annual_limit=customs.tax_settings.annual_limit,
    )
    if not taken:
        reject(OVER_ANNUAL_LIMIT, QUOTA_REFUSAL)
        return
    declaration.tax = verdict.tax
    ctx.emit(verdict.ready, key=declaration.order_no)


def quota_year_of(inventory_head: Mapping[str, str]) -> int:
    """The calendar year a declaration counts in: its declTime (a China date), else appTime."""
    for name in ("declTime", "appTime"):
        value = inventory_head.get(name, "")
        if len(value) >= 4 and value[:4].isdigit():
            return int(value[:4])
    return quota_year(utc_now())


class Emit(Protocol):
    """Publishes an event once the current transaction commits (a HandlerContext, or the API's)."""

    def __call__(self, event: BaseModel, *, key: str) -> None: ...


def issue(
    session: Session,
    emit: Emit,
    declaration: Declaration,
    *,
    inventory: Document | None,
    code: int,
    info: str,
) -> None:
    """Issue one inventory receipt (CEB622) and announce the clearance change."""
    assert inventory is not None
    now = utc_now()
    info = info[:1000]
    declaration.status = code
    declaration.updated_at = now
    inventory.return_status = code
    inventory.updated_at = now
    session.add(
        Receipt(
            document_id=inventory.id,
            return_status=code,
            return_info=info,
            return_time=return_time(now),
            created_at=now,
        )
    )
    announce(emit, declaration, inventory, code=code, info=info)


def announce(
    emit: Emit, declaration: Declaration, document: Document, *, code: int, info: str
) -> None:
    """Announce a clearance change of the declaration's inventory (or of an export return of
    its goods, `document` then being the return): the receipt `code` issued on `document`."""
    export = {}
    if declaration.export_invt_no:
        export = {
            "direction": "export",
            "invt_no": declaration.export_invt_no,
            "receipt_message": KINDS[document.message_type].receipt_message,
        }
    emit(
        clearance_changed(
            declaration_id=declaration.id,
            document_id=document.id,
            order_no=declaration.order_no,
            code=code,
            info=info,
            head=jsontext.loads(document.head),
            **export,
        ),
        key=declaration.order_no,
    )


def clearance_changed(
    *,
    declaration_id: str,
    document_id: str,
    order_no: str,
    code: int,
    info: str,
    head: Mapping[str, str],
    **export: str,
) -> ClearanceChangedV1:
    """The event announcing the receipt `code` issued on a declaration's document (its
    inventory, or an export return) to whom it concerns; `export` for an export declaration."""
    return ClearanceChangedV1(
        # ids as text, parsed by pydantic-core: 1.9 µs for the event, 3.2 with uuid.UUID(...)
        declaration_id=declaration_id,
        document_id=document_id,
        order_no=order_no,
        return_status=code,
        return_info=info[:1000],
        parties={
            k: head[k] for k in ("ebpCode", "ebcCode", "agentCode", "logisticsCode") if head.get(k)
        },
        **export,
    )
