"""Pre-flight: what the match, the tax and the quota would say of one document before it is filed.

A document checked on its own has only some of its declaration's counterparts on file. The match
(`matching.match_declaration`) is run with the missing documents left empty, and only the
differences between documents that are actually present, and that concern the document being
checked, are kept: a rule that needs a missing document is not guessed at.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal

from customs.domain.field_rules import parse_decimal
from customs.domain.matching import Doc, MatchFacts, MatchSettings, Mismatch, match_declaration
from customs.domain.tax import HeadAmounts, TaxLine

ROLES = ("order", "payment", "waybill", "inventory")
KIND_OF_ROLE = {"order": "CEB311", "payment": "CEB411", "waybill": "CEB511", "inventory": "CEB621"}
_KIND_IN_TEXT = re.compile(r"\bCEB(311|411|511|621)\b")
_EMPTY = Doc(head={})


def kinds_named(mismatch: Mismatch) -> frozenset[str]:
    """The document kinds a difference compares (the limits, which name none, are the
    inventory's)."""
    found = frozenset("CEB" + m for m in _KIND_IN_TEXT.findall(f"{mismatch.left} {mismatch.right}"))
    return found or frozenset({"CEB621"})


def partial_match(
    role: str,
    document: Doc,
    counterparts: Mapping[str, Doc],
    *,
    settings: MatchSettings,
    annual_used: Decimal | None,
) -> tuple[Mismatch, ...]:
    """The match differences of `document` (as `role`) against the counterparts on file."""
    if role not in ROLES:
        raise ValueError(f"role is one of {', '.join(ROLES)}, not {role!r}")
    docs = {r: counterparts.get(r, _EMPTY) for r in ROLES}
    docs[role] = document
    present = {KIND_OF_ROLE[r] for r in ROLES if r == role or r in counterparts}
    result = match_declaration(
        docs["order"],
        docs["payment"],
        docs["waybill"],
        docs["inventory"],
        settings=settings,
        facts=MatchFacts(annual_used=annual_used),
    )
    mine = KIND_OF_ROLE[role]
    return tuple(
        m for m in result.mismatches if mine in kinds_named(m) and kinds_named(m) <= present
    )


def amount(text: str | None) -> Decimal:
    """A declared amount or quantity (XSD-valid already); 0 where the optional field is absent."""
    return parse_decimal(text) or Decimal(0)


def tax_lines(inventory: Doc) -> list[TaxLine]:
    """The inventory's lines as the tax assessment reads them (one single item is indivisible)."""
    return [
        TaxLine(
            gnum=int(line["gnum"]),
            gcode=line["gcode"],
            item_name=line.get("gname", ""),
            qty=amount(line.get("qty")),
            unit_price=amount(line.get("price")),
            total_price=amount(line.get("totalPrice")),
            indivisible=len(inventory.lines) == 1 and amount(line.get("qty")) == 1,
        )
        for line in inventory.lines
    ]


def head_amounts(inventory: Doc, order: Doc | None) -> HeadAmounts:
    """Freight and insurance from the inventory, the discount from the order (0 without one)."""
    return HeadAmounts(
        freight=amount(inventory.head.get("freight")),
        insured_fee=amount(inventory.head.get("insuredFee")),
        discount=amount(order.head.get("discount")) if order is not None else Decimal(0),
    )
