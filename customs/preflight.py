"""Pre-flight check of one document before it is filed: nothing is stored.

The document (in its JSON form) goes through the same format checks as a submission (JSON shape,
official XSD, the field rules), then is matched against its counterparts already on file within
the caller's scope; for an inventory, the tax is estimated and the buyer's annual quota shown.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from customs import quota_store, visibility
from customs.assembly import ROLES, declared_doc, quota_year_of
from customs.ceb import jsonform
from customs.ceb.documents import KINDS, ExtractedDocument, extract, kind_of
from customs.ceb.parsing import parse_untrusted
from customs.ceb.schema import validate_against_xsd
from customs.context import Customs
from customs.db import Document
from customs.domain import field_rules
from customs.domain.access import OutOfScope, Scope
from customs.domain.errors import (
    FieldError,
    MessageFormatError,
    MessageTooLarge,
    UnsupportedMessage,
)
from customs.domain.matching import Doc, MatchSettings, sibling_keys
from customs.domain.preflight import KIND_OF_ROLE, head_amounts, partial_match, tax_lines
from customs.domain.tariff import UnknownHsCode
from customs.domain.tax import TaxRefusal, assess_tax, fen
from customs.validation import FORMAT_RULES, check_formats

_FIELD_CHECKS: dict[str, Callable[[Doc], Sequence[FieldError]]] = {
    "order": lambda d: field_rules.check_order(d.head, d.lines),
    "payment": lambda d: field_rules.check_payment(d.head),
    "waybill": lambda d: field_rules.check_waybill(d.head),
    "inventory": lambda d: field_rules.check_inventory(d.head, d.lines),
}


class PreflightRefused(UnsupportedMessage):
    """A pre-flight request that cannot be checked at all (not one import document)."""


def _error_json(error: FieldError) -> dict[str, Any]:
    return {
        "path": error.path,
        "field": error.path.rsplit("/", 1)[-1],
        "rule": error.rule,
        "value": error.value,
        "message": error.message,
    }


def _missing_signature(error: FieldError) -> bool:
    """The XSD's complaint that the (not yet signed) message lacks its ds:Signature."""
    return error.path.count("/") == 1 and "xmldsig#}Signature" in error.message


def preflight(customs: Customs, body: bytes, *, scope: Scope) -> dict[str, Any]:
    """What customs would say of one document: format errors, match problems against the
    counterparts on file, and for an inventory the tax estimate and the buyer's quota."""
    try:
        xml = jsonform.to_xml(body, unsigned=True)
    except (UnsupportedMessage, MessageTooLarge):
        raise
    except MessageFormatError as exc:
        return _format_answer(None, exc.errors)
    root = parse_untrusted(xml)
    try:
        message_type = validate_against_xsd(root)
    except MessageFormatError as exc:
        errors = [e for e in exc.errors if not _missing_signature(e)]
        if errors:
            message_type = root.tag.rsplit("}", 1)[-1]
            converted = jsonform.in_json_terms(
                MessageFormatError(code=exc.code, title=exc.title, errors=tuple(errors))
            )
            return _format_answer(message_type, converted.errors)
        message_type = root.tag.rsplit("}", 1)[-1]
    role = ROLES.get(message_type)
    if role is None:
        raise PreflightRefused(
            code="0999",
            title="Pre-flight checks import documents only",
            errors=(
                FieldError(
                    path="/messageType",
                    rule="preflight-kind",
                    message="pre-flight checks a CEB311 order, CEB411 payment, CEB511 waybill "
                    "or CEB621 inventory",
                    value=message_type,
                ),
            ),
        )
    message = extract(root, kind_of(message_type, root))
    if len(message.documents) != 1:
        raise PreflightRefused(
            code="0999",
            title="Pre-flight checks one document at a time",
            errors=(
                FieldError(
                    path="/documents",
                    rule="one-document",
                    message=f"send one document to check; this message has "
                    f"{len(message.documents)}",
                    value=str(len(message.documents)),
                ),
            ),
        )
    if not scope.sees([message.sender_code]):
        raise OutOfScope("BaseTransfer/copCode", message.sender_code)
    try:
        check_formats(message)
    except MessageFormatError as exc:
        return _format_answer(message_type, jsonform.in_json_terms(exc).errors)
    return _checked(customs, scope, role, message_type, message.documents[0])


def _format_answer(
    message_type: str | None, errors: tuple[FieldError, ...] | list[FieldError]
) -> dict[str, Any]:
    return {
        "messageType": message_type,
        "ok": False,
        "formatErrors": [_error_json(e) for e in errors],
        "ruleWarnings": [],
        "counterparts": {},
        "mismatches": [],
        "tax": None,
        "quota": None,
    }


def _checked(
    customs: Customs, scope: Scope, role: str, message_type: str, extracted: ExtractedDocument
) -> dict[str, Any]:
    document = Doc(head=dict(extracted.head), lines=tuple(dict(x) for x in extracted.lines))
    body = KINDS[message_type].body
    warnings = [
        _error_json(
            FieldError(
                path=jsonform.json_pointer(
                    f"/ceb:{message_type}/ceb:{body}[1]/"
                    + "/".join(f"ceb:{step}" for step in e.path.split("/"))
                )
                or e.path,
                rule=f"field:{e.rule}",
                message=e.message,
                value=e.value,
            )
        )
        for e in _FIELD_CHECKS[role](document)
        if e.rule not in FORMAT_RULES
    ]
    settings = MatchSettings(
        single_limit=customs.tax_settings.single_transaction_limit,
        annual_limit=customs.tax_settings.annual_limit,
        discount_deductible=customs.tax_settings.discount_lowers_dutiable_value,
    )
    with Session(customs.engine) as session:
        found = _counterparts(customs, session, scope, role, document)
        buyer = _buyer_key(customs, document)
        year = quota_year_of(document.head)
        used = quota_store.used(session, buyer_key=buyer, year=year) if buyer else None
    counterparts = {r: doc for r, (_, doc) in found.items()}
    mismatches = partial_match(role, document, counterparts, settings=settings, annual_used=used)
    mine = KIND_OF_ROLE[role]
    answer: dict[str, Any] = {
        "messageType": f"{mine}Message",
        "formatErrors": [],
        "ruleWarnings": warnings,
        "counterparts": {
            r: (
                {"reference": stored.id, "returnStatus": stored.return_status}
                if (r in found and (stored := found[r][0]) is not None)
                else None
            )
            for r in KIND_OF_ROLE
            if r != role
        },
        "mismatches": [
            {**asdict(m), "fieldHere": _field_here(m.left, m.right, mine)} for m in mismatches
        ],
        "tax": None,
        "quota": None,
    }
    quota_amount: Decimal | None = None
    if role == "inventory":
        answer["tax"], quota_amount = _tax(customs, document, counterparts.get("order"), used)
    if used is not None:
        limit = customs.tax_settings.annual_limit
        answer["quota"] = {
            "year": year,
            "annualLimit": str(limit),
            "used": str(fen(used)),
            "remaining": str(fen(max(limit - used, Decimal(0)))),
            "thisDeclaration": str(fen(quota_amount)) if quota_amount is not None else None,
            "remainingAfter": str(fen(limit - used - quota_amount))
            if quota_amount is not None
            else None,
        }
    refused = answer["tax"] is not None and "refusal" in answer["tax"]
    answer["ok"] = not refused and not any(m.severity == "error" for m in mismatches)
    return answer


def _field_here(left: str, right: str, kind: str) -> str | None:
    """The field of the checked document a difference points at, if it names one."""
    for side in (left, right):
        if side.startswith(kind + " ") and "/" in side:
            return side.rsplit("/", 1)[-1]
    return None


def _buyer_key(customs: Customs, document: Doc) -> str | None:
    head = document.head
    number = head.get("buyerIdNumber") or head.get("payerIdNumber")
    id_type = head.get("buyerIdType") or head.get("payerIdType") or "1"
    return customs.vault.buyer_key(id_type, number) if number else None


def _counterparts(
    customs: Customs, session: Session, scope: Scope, role: str, document: Doc
) -> dict[str, tuple[Document, Doc]]:
    """The latest document of each other kind on file that joins this one (not refused)."""
    order_no = document.head.get("orderNo")
    if not order_no:
        return {}
    mine = KIND_OF_ROLE[role]
    found: dict[str, tuple[Document, Doc]] = {}
    for other, kind in KIND_OF_ROLE.items():
        if other == role:
            continue
        keys = sibling_keys(mine, document.head, kind)
        candidates = session.execute(
            select(Document)
            .where(
                col(Document.message_type) == f"{kind}Message",
                col(Document.business_key) == order_no[:60],
                col(Document.return_status) >= 0,
                *visibility.document_filter(scope),
            )
            .order_by(col(Document.created_at).desc())
        ).scalars()
        for stored in candidates:
            loaded = declared_doc(customs, stored)
            if all(loaded.head.get(k, "").strip() == v.strip() for k, v in keys.items()):
                found[other] = (stored, loaded)
                break
    return found


def _tax(
    customs: Customs, inventory: Doc, order: Doc | None, used: Decimal | None
) -> tuple[dict[str, Any], Decimal | None]:
    try:
        tax = assess_tax(
            tax_lines(inventory),
            head_amounts(inventory, order),
            tariff=customs.tariff,
            year=quota_year_of(inventory.head),
            used_this_year=used if used is not None else Decimal(0),
            settings=customs.tax_settings,
        )
    except (UnknownHsCode, ValueError) as exc:
        return {"refusal": {"returnStatus": 100, "message": str(exc)}}, None
    if isinstance(tax, TaxRefusal):
        return {
            "refusal": {"returnStatus": tax.return_status, "message": tax.message},
            "dutiableValue": str(tax.dutiable_value),
        }, None
    return {
        "regime": tax.regime.value,
        "dutiableValue": str(tax.dutiable_value),
        "duty": str(tax.duty),
        "vat": str(tax.vat),
        "consumptionTax": str(tax.consumption_tax),
        "totalTax": str(tax.total_tax),
        "discountFromOrder": order is not None,
    }, tax.quota_amount
