"""Builders for a consistent four-document declaration (dossier §c.3), for any test to reuse.

Every builder returns a `Doc` (head dict + tuple of line dicts, element local name -> text).
Keyword overrides replace head fields; an override of None removes the field (an absent
optional element); `lines=` replaces the lines.

    order()                                   the CEB311 of §c.3
    order(goodsValue="300.00", note=None)     ... with goodsValue changed and no note
    inventory(lines=[inventory_line(gname="奶瓶")])
    with_line(s.inventory, 1, qty="3")        line 1 (by position) changed
    declaration_set()                         the four documents, consistent
    declaration_set(items=[{"qty": "1", "price": "2495.00"}, {"qty": "1", "price": "2495.01"}])
                                              ... recomputed for other goods (totals, tax, paid)
    declaration_set(payment={"amountPaid": "224.00"})   ... then one document changed

One deliberate deviation from §c.3: the dossier's buyer ID 330106199001011234 fails the
GB 11643 check character (it should end in X), so the builders use 33010619900101123X.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal

from customs.domain.matching import Doc

ORDER_NO = "ORD20240901000001"
EBP_CODE = "3301960001"
EBC_CODE = "3301960002"
PAY_CODE = "3301980001"
PAY_TRANSACTION_ID = "PAY202409010001"
LOGISTICS_CODE = "3301980002"
LOGISTICS_NO = "YT1234567890"
BUYER_ID = "33010619900101123X"  # §c.3 has ...1234, which fails the GB 11643 checksum
BUYER_NAME = "张三"
BUYER_PHONE = "13800000000"
ADDRESS = "浙江省杭州市西湖区某路1号"
INVT_NO = "29912024I000000001"
TAX_RATE = Decimal("0.091")  # §3.1 comprehensive CBEC rate with VAT 13%, no consumption tax

Override = str | None


def _apply(base: Mapping[str, str], overrides: Mapping[str, Override]) -> dict[str, str]:
    merged: dict[str, str | None] = {**base, **overrides}
    return {name: value for name, value in merged.items() if value is not None}


def _doc(
    head: Mapping[str, str],
    lines: Sequence[Mapping[str, str]],
    overrides: Mapping[str, Override],
) -> Doc:
    return Doc(head=_apply(head, overrides), lines=tuple(dict(line) for line in lines))


# --- lines ----------------------------------------------------------------------------------


def order_line(**overrides: Override) -> dict[str, str]:
    """A CEB311 OrderList line of §c.3 (2 cans of infant formula at 100.00)."""
    return _apply(
        {
            "gnum": "1",
            "itemNo": "SKU0001",
            "itemName": "婴儿奶粉",
            "gmodel": "800g/罐|牛奶基",
            "barCode": "6900000000001",
            "unit": "122",
            "qty": "2",
            "price": "100.00",
            "totalPrice": "200.00",
            "currency": "142",
            "country": "116",
        },
        overrides,
    )


def inventory_line(**overrides: Override) -> dict[str, str]:
    """A CEB621 InventoryList line of §c.3, the declaration of the order line."""
    return _apply(
        {
            "gnum": "1",
            "itemRecordNo": "1",
            "itemNo": "SKU0001",
            "itemName": "婴儿奶粉",
            "gcode": "1901101000",
            "gname": "婴儿奶粉",
            "gmodel": "800g/罐|牛奶基",
            "barCode": "6900000000001",
            "country": "116",
            "currency": "142",
            "qty": "2",
            "unit": "122",
            "qty1": "1.6",
            "unit1": "035",
            "price": "100.00",
            "totalPrice": "200.00",
        },
        overrides,
    )


# --- the four documents ---------------------------------------------------------------------


def order(*, lines: Sequence[Mapping[str, str]] | None = None, **overrides: Override) -> Doc:
    """CEB311 OrderHead + OrderList of §c.3."""
    head = {
        "guid": "4CDE1CFD-EDED-46B1-946C-B8022E42FC94",
        "appType": "1",
        "appTime": "20240901101000",
        "appStatus": "2",
        "orderType": "I",
        "orderNo": ORDER_NO,
        "ebpCode": EBP_CODE,
        "ebpName": "某跨境电商平台",
        "ebcCode": EBC_CODE,
        "ebcName": "某跨境电商企业",
        "goodsValue": "200.00",
        "freight": "10.00",
        "discount": "5.00",
        "taxTotal": "19.11",
        "acturalPaid": "224.11",
        "currency": "142",
        "buyerRegNo": "buyer0001",
        "buyerName": BUYER_NAME,
        "buyerTelephone": BUYER_PHONE,
        "buyerIdType": "1",
        "buyerIdNumber": BUYER_ID,
        "payCode": PAY_CODE,
        "payName": "某支付公司",
        "payTransactionId": PAY_TRANSACTION_ID,
        "consignee": BUYER_NAME,
        "consigneeTelephone": BUYER_PHONE,
        "consigneeAddress": ADDRESS,
        "consigneeDistrict": "330106",
    }
    return _doc(head, [order_line()] if lines is None else lines, overrides)


def payment(**overrides: Override) -> Doc:
    """CEB411 PaymentHead of §c.3."""
    head = {
        "guid": "6A0E2C55-3B1D-4F7E-8C21-9D4B7A1E0F32",
        "appType": "1",
        "appTime": "20240901101600",
        "appStatus": "2",
        "payCode": PAY_CODE,
        "payName": "某支付公司",
        "payTransactionId": PAY_TRANSACTION_ID,
        "orderNo": ORDER_NO,
        "ebpCode": EBP_CODE,
        "ebpName": "某跨境电商平台",
        "payerIdType": "1",
        "payerIdNumber": BUYER_ID,
        "payerName": BUYER_NAME,
        "telephone": BUYER_PHONE,
        "amountPaid": "224.11",
        "currency": "142",
        "payTime": "20240901101500",
    }
    return _doc(head, [], overrides)


def waybill(**overrides: Override) -> Doc:
    """CEB511 LogisticsHead of §c.3."""
    head = {
        "guid": "9F1B3D77-5C2A-4E8B-A6D0-1E3C5B7A9D11",
        "appType": "1",
        "appTime": "20240901120000",
        "appStatus": "2",
        "logisticsCode": LOGISTICS_CODE,
        "logisticsName": "某物流公司",
        "logisticsNo": LOGISTICS_NO,
        "orderNo": ORDER_NO,
        "freight": "10.00",
        "insuredFee": "0",
        "currency": "142",
        "weight": "1.8",
        "packNo": "1",
        "goodsInfo": "婴儿奶粉*2",
        "consignee": BUYER_NAME,
        "consigneeAddress": ADDRESS,
        "consigneeTelephone": BUYER_PHONE,
    }
    return _doc(head, [], overrides)


def inventory(*, lines: Sequence[Mapping[str, str]] | None = None, **overrides: Override) -> Doc:
    """CEB621 InventoryHead + InventoryList of §c.3 (bonded import, 1210)."""
    head = {
        "guid": "2B7D9E41-8A3C-4D6F-B512-7C9E1A3B5D20",
        "appType": "1",
        "appTime": "20240901130000",
        "appStatus": "2",
        "orderNo": ORDER_NO,
        "ebpCode": EBP_CODE,
        "ebpName": "某跨境电商平台",
        "ebcCode": EBC_CODE,
        "ebcName": "某跨境电商企业",
        "logisticsNo": LOGISTICS_NO,
        "logisticsCode": LOGISTICS_CODE,
        "logisticsName": "某物流公司",
        "copNo": "INV20240901001",
        "assureCode": EBC_CODE,
        "emsNo": "T2991W000001",
        "ieFlag": "I",
        "declTime": "20240901",
        "customsCode": "2991",
        "portCode": "2991",
        "buyerIdType": "1",
        "buyerIdNumber": BUYER_ID,
        "buyerName": BUYER_NAME,
        "buyerTelephone": BUYER_PHONE,
        "consigneeAddress": ADDRESS,
        "agentCode": EBC_CODE,
        "agentName": "某跨境电商企业",
        "areaCode": "3301980003",
        "areaName": "某保税仓",
        "tradeMode": "1210",
        "trafMode": "4",
        "country": "142",
        "freight": "10.00",
        "insuredFee": "0",
        "currency": "142",
        "packNo": "1",
        "grossWeight": "1.8",
        "netWeight": "1.6",
    }
    return _doc(head, [inventory_line()] if lines is None else lines, overrides)


# --- changing a built document --------------------------------------------------------------


def with_head(doc: Doc, **overrides: Override) -> Doc:
    """`doc` with head fields replaced (None removes a field)."""
    return Doc(head=_apply(doc.head, overrides), lines=doc.lines)


def with_line(doc: Doc, position: int, **overrides: Override) -> Doc:
    """`doc` with its line at `position` (from 1) changed (None removes a field)."""
    lines = list(doc.lines)
    lines[position - 1] = _apply(lines[position - 1], overrides)
    return Doc(head=doc.head, lines=tuple(lines))


# --- the whole declaration ------------------------------------------------------------------


@dataclass(frozen=True)
class DeclarationSet:
    """The order, payment, waybill and inventory of one declaration."""

    order: Doc
    payment: Doc
    waybill: Doc
    inventory: Doc

    def documents(self) -> tuple[Doc, Doc, Doc, Doc]:
        """In the order `match_declaration` takes them."""
        return self.order, self.payment, self.waybill, self.inventory

    def but(self, **docs: Doc) -> DeclarationSet:
        """This set with some documents replaced, e.g. `s.but(payment=payment(amountPaid=...))`."""
        return replace(self, **docs)


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def declaration_set(
    *,
    items: Sequence[Mapping[str, str]] | None = None,
    freight: str = "10.00",
    insured_fee: str = "0",
    discount: str = "5.00",
    order: Mapping[str, Override] | None = None,
    payment: Mapping[str, Override] | None = None,
    waybill: Mapping[str, Override] | None = None,
    inventory: Mapping[str, Override] | None = None,
) -> DeclarationSet:
    """A consistent four-document set; with defaults exactly the §c.3 values.

    `items` describes the goods, one mapping per line with any of `qty`, `price`, `name`,
    `gcode` (defaults: the §c.3 line). Line totals, goodsValue, taxTotal (9.1% of goodsValue +
    freight + insuredFee, discount not deducted), acturalPaid and amountPaid are recomputed.
    `order` / `payment` / `waybill` / `inventory` then override head fields of one document.
    """
    goods = [{"qty": "2", "price": "100.00"}] if items is None else items
    order_lines, inventory_lines = [], []
    for gnum, item in enumerate(goods, start=1):
        qty, price = item.get("qty", "2"), item.get("price", "100.00")
        total = _money(Decimal(qty) * Decimal(price))
        name = item.get("name", "婴儿奶粉")
        line = {"gnum": str(gnum), "qty": qty, "price": price, "totalPrice": total}
        order_lines.append(order_line(**line, itemName=name, itemNo=f"SKU{gnum:04d}"))
        inventory_lines.append(
            inventory_line(
                **line,
                gname=name,
                itemName=name,
                itemNo=f"SKU{gnum:04d}",
                itemRecordNo=str(gnum),
                gcode=item.get("gcode", "1901101000"),
                qty1=str(Decimal("0.8") * Decimal(qty)),
            )
        )
    goods_value = sum((Decimal(line["totalPrice"]) for line in order_lines), Decimal(0))
    tax = TAX_RATE * (goods_value + Decimal(freight) + Decimal(insured_fee))
    tax_total = _money(tax)
    paid = _money(goods_value + Decimal(freight) + Decimal(tax_total) - Decimal(discount))
    built_order = _order(
        lines=order_lines,
        goodsValue=_money(goods_value),
        freight=freight,
        discount=discount,
        taxTotal=tax_total,
        acturalPaid=paid,
    )
    return DeclarationSet(
        order=with_head(built_order, **(order or {})),
        payment=with_head(_payment(amountPaid=paid), **(payment or {})),
        waybill=with_head(_waybill(freight=freight, insuredFee=insured_fee), **(waybill or {})),
        inventory=with_head(
            _inventory(lines=inventory_lines, freight=freight, insuredFee=insured_fee),
            **(inventory or {}),
        ),
    )


# declaration_set's keyword arguments shadow the builders' names inside it
_order, _payment, _waybill, _inventory = order, payment, waybill, inventory


# --- documents for the rules about other messages (X14, X15, X17-X19) -----------------------


def _request_head(guid: str, app_time: str, reason: str) -> dict[str, str]:
    """The head a cancellation (CEB623) or a return (CEB625) of the §c.3 inventory shares."""
    return {
        "guid": guid,
        "appType": "1",
        "appTime": app_time,
        "appStatus": "2",
        "customsCode": "2991",
        "orderNo": ORDER_NO,
        "ebpCode": EBP_CODE,
        "ebpName": "某跨境电商平台",
        "ebcCode": EBC_CODE,
        "ebcName": "某跨境电商企业",
        "logisticsNo": LOGISTICS_NO,
        "logisticsCode": LOGISTICS_CODE,
        "logisticsName": "某物流公司",
        "invtNo": INVT_NO,
        "buyerIdType": "1",
        "buyerIdNumber": BUYER_ID,
        "buyerName": BUYER_NAME,
        "buyerTelephone": BUYER_PHONE,
        "agentCode": EBC_CODE,
        "agentName": "某跨境电商企业",
        "reason": reason,
    }


def refund(*, lines: Sequence[Mapping[str, str]] | None = None, **overrides: Override) -> Doc:
    """CEB625 InvtRefundHead + InvtRefundList returning the §c.3 inventory's goods in full."""
    head = _request_head(
        "7E5A3C19-2D4B-4F6A-8B0C-5E7D9F1A3C40", "20240910100000", "质量问题 / quality problem"
    )
    default = [{"gnum": "1", "gcode": "1901101000", "gname": "婴儿奶粉", "qty": "2", "unit": "122"}]
    return _doc(head, default if lines is None else lines, overrides)


def cancel(**overrides: Override) -> Doc:
    """CEB623 InvtCancel of the §c.3 inventory."""
    head = _request_head(
        "3D9F7B51-6E2C-4A8D-9F13-2B4D6F8A0C51", "20240901140000", "买家取消 / buyer cancelled"
    )
    return _doc(head, [], overrides)


def export_inventory_head(**overrides: Override) -> dict[str, str]:
    """The X17 fields of a CEB603 InventoryHead: a simplified (A) declaration, no licence."""
    return _apply(
        {
            "orderNo": "EXP20240901000001",
            "ieFlag": "E",
            "statisticsFlag": "A",
            "tradeMode": "9610",
            "country": "116",
        },
        overrides,
    )


def summary_apply_head(**overrides: Override) -> dict[str, str]:
    """The X18/X19 fields of a CEB701 SummaryApplyHead: a one-day window, not split."""
    return _apply(
        {
            "startTime": "20240901000000",
            "endTime": "20240901235959",
            "summaryFlag": "1",
            "msgCount": "1",
            "msgSeqNo": "1",
        },
        overrides,
    )


# --- export ---------------------------------------------------------------------------------

EXPORT_CONSIGNOR = "1105910159"
EXPORT_CONSIGNOR_NAME = "东方物通科技(北京)有限公司"


def export_inventory_message(
    copNo: str,
    *,
    goods: Sequence[tuple[str, str]] = (("9503008900", "积木"),),
    invt_no: str | None = None,
    appTime: str = "20240901100000",
    grossWeight: str = "2.5",
    netWeight: str = "2.0",
    ownerCode: str = EXPORT_CONSIGNOR,
    ownerName: str = EXPORT_CONSIGNOR_NAME,
) -> bytes:
    """A CEB603 summary-declaration (statisticsFlag B) inventory of one consignor at customs
    1501, on waybill L-{copNo}, with goods as (gcode, gname); the official CEB603 sample fails
    the XSD, so it is written from fields. Without `invt_no`, customs numbers it."""
    from customs.ceb.writer import Sender, write_message

    name = EXPORT_CONSIGNOR_NAME
    # fmt: off
    head = {
        "guid": str(uuid.uuid4()).upper(), "appType": "1", "appTime": appTime, "appStatus": "2",
        "customsCode": "1501", "ebpCode": EXPORT_CONSIGNOR, "ebpName": name,
        "orderNo": f"EXP-{copNo}", "logisticsCode": EXPORT_CONSIGNOR, "logisticsName": name,
        "logisticsNo": f"L-{copNo}", "copNo": copNo, "invtNo": invt_no, "ieFlag": "E",
        "portCode": "1501", "ieDate": appTime[:8], "statisticsFlag": "B",
        "agentCode": EXPORT_CONSIGNOR, "agentName": name, "ebcCode": EXPORT_CONSIGNOR,
        "ebcName": name, "ownerCode": ownerCode, "ownerName": ownerName, "tradeMode": "9610",
        "trafMode": "5", "country": "116", "POD": "NRT", "freight": "10", "fCurrency": "142",
        "fFlag": "3", "insuredFee": "0", "iCurrency": "142", "iFlag": "3", "wrapType": "2",
        "packNo": "1", "grossWeight": grossWeight, "netWeight": netWeight,
    }
    lines = [
        {
            "gnum": str(gnum),
            "itemNo": f"SKU{gnum}",
            "itemName": gname,
            "gcode": gcode,
            "gname": gname,
            "gmodel": "1个",
            "barCode": "无",
            "country": "142",
            "currency": "142",
            "qty": "1",
            "qty1": "1",
            "unit": "007",
            "unit1": "007",
            "price": "20",
            "totalPrice": "20",
        }
        for gnum, (gcode, gname) in enumerate(goods, start=1)
    ]
    # fmt: on
    fields = {k: v for k, v in head.items() if v is not None}
    return write_message("CEB603Message", [(fields, lines)], Sender(EXPORT_CONSIGNOR, "东方物通"))
