"""A declaration's four documents side by side, with the fields its match differences point at
(the officers' and the sellers' declaration pages both show them)."""

from __future__ import annotations

from typing import Any

# The fields shown side by side, by what they mean, with each document's name for them.
_ROWS: tuple[tuple[str, dict[str, str]], ...] = (
    (
        "Order number",
        {"order": "orderNo", "payment": "orderNo", "waybill": "orderNo", "inventory": "orderNo"},
    ),
    (
        "E-commerce platform",
        {"order": "ebpCode", "payment": "ebpCode", "waybill": "ebpCode", "inventory": "ebpCode"},
    ),
    ("E-commerce enterprise", {"order": "ebcCode", "inventory": "ebcCode"}),
    ("Logistics company", {"waybill": "logisticsCode", "inventory": "logisticsCode"}),
    ("Waybill number", {"waybill": "logisticsNo", "inventory": "logisticsNo"}),
    ("Payment company", {"payment": "payCode", "inventory": "payCode"}),
    (
        "Payment transaction",
        {
            "order": "payTransactionId",
            "payment": "payTransactionId",
            "inventory": "payTransactionId",
        },
    ),
    ("Amount paid", {"order": "acturalPaid", "payment": "amountPaid"}),
    ("Goods value", {"order": "goodsValue", "inventory": "totalPrice"}),
    ("Freight", {"order": "freight", "waybill": "freight", "inventory": "freight"}),
    ("Insurance", {"waybill": "insuredFee", "inventory": "insuredFee"}),
    ("Buyer", {"order": "buyerName", "payment": "payerName", "inventory": "buyerName"}),
    (
        "Buyer ID number",
        {"order": "buyerIdNumber", "payment": "payerIdNumber", "inventory": "buyerIdNumber"},
    ),
    ("Consignee", {"order": "consignee", "waybill": "consignee"}),
    ("Consignee address", {"order": "consigneeAddress", "waybill": "consigneeAddress"}),
    (
        "Currency",
        {
            "order": "currency",
            "payment": "currency",
            "waybill": "currency",
            "inventory": "currency",
        },
    ),
)


def side_by_side(view: dict[str, Any]) -> list[dict[str, Any]]:
    documents = view.get("documents") or {}
    flagged = flagged_fields(view)
    rows = []
    for label, names in _ROWS:
        cells = {}
        for role, field in names.items():
            document = documents.get(role)
            value = document["head"].get(field) if document else None
            cells[role] = {"value": value, "flag": field in flagged.get(role, set())}
        rows.append({"label": label, "cells": cells})
    return rows


_KIND_ROLE = {"CEB311": "order", "CEB411": "payment", "CEB511": "waybill", "CEB621": "inventory"}


def flagged_fields(view: dict[str, Any]) -> dict[str, set[str]]:
    """The fields each match difference points at, by document, to highlight them."""
    found: dict[str, set[str]] = {}
    for mismatch in view.get("mismatches") or []:
        for side in ("left", "right"):
            place = mismatch.get(side, "")
            kind, _, path = place.partition(" ")
            role = _KIND_ROLE.get(kind)
            if role and path:
                found.setdefault(role, set()).add(path.rsplit("/", 1)[-1])
    return found
