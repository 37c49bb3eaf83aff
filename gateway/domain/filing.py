"""Filing a document from flat values (a web form, or one row of an uploaded sheet).

A document is its head fields and, for an order or an inventory, one goods line (`line.<name>`);
orders of several lines go through the API. The values are the CEB element names, so every
error customs answers (a JSON pointer such as `/documents/0/lines/0/qty`) maps back onto one
form field or sheet column (`field_of_pointer`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

MESSAGE_TYPES = {
    "order": "CEB311Message",
    "payment": "CEB411Message",
    "waybill": "CEB511Message",
    "inventory": "CEB621Message",
}
KINDS = tuple(MESSAGE_TYPES)
LINE_PREFIX = "line."
# Who files each kind: the first of these head fields naming one of the tenant's codes sends it.
SENDER_FIELDS = {
    "order": ("ebcCode", "ebpCode"),
    "payment": ("payCode",),
    "waybill": ("logisticsCode",),
    "inventory": ("agentCode", "ebcCode", "ebpCode"),
}
# Filled by the platform when left empty (a fresh guid, the time of filing).
GENERATED = frozenset({"guid", "appTime"})


@dataclass(frozen=True, slots=True)
class FormField:
    """One field of a filing form: its CEB name, and the example value it starts with."""

    name: str  # "orderNo", or "line.qty" for the goods line
    example: str

    @property
    def element(self) -> str:
        return self.name.removeprefix(LINE_PREFIX)

    @property
    def on_line(self) -> bool:
        return self.name.startswith(LINE_PREFIX)


def _fields(
    head: Mapping[str, str], line: Mapping[str, str] | None = None
) -> tuple[FormField, ...]:
    found = [FormField(k, v) for k, v in head.items()]
    found += [FormField(LINE_PREFIX + k, v) for k, v in (line or {}).items()]
    return tuple(found)


_BUYER = {"buyerName": "张三", "buyerIdType": "1", "buyerIdNumber": "33010619900101123X"}
_PHONE, _ADDRESS = "13800000000", "浙江省杭州市西湖区某路1号"

# Realistic example values (dossier §c.3: two cans of infant formula, bonded import 1210).
FORMS: dict[str, tuple[FormField, ...]] = {
    "order": _fields(
        {
            "orderNo": "ORD20240901000001",
            "guid": "",
            "appType": "1",
            "appTime": "",
            "appStatus": "2",
            "orderType": "I",
            "ebpCode": "3301960001",
            "ebpName": "某跨境电商平台",
            "ebcCode": "3301960002",
            "ebcName": "某跨境电商企业",
            "goodsValue": "200.00",
            "freight": "10.00",
            "discount": "5.00",
            "taxTotal": "19.11",
            "acturalPaid": "224.11",
            "currency": "142",
            "buyerRegNo": "buyer0001",
            **_BUYER,
            "buyerTelephone": _PHONE,
            "payCode": "3301980001",
            "payName": "某支付公司",
            "payTransactionId": "PAY202409010001",
            "consignee": "张三",
            "consigneeTelephone": _PHONE,
            "consigneeAddress": _ADDRESS,
            "consigneeDistrict": "330106",
        },
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
    ),
    "payment": _fields(
        {
            "orderNo": "ORD20240901000001",
            "guid": "",
            "appType": "1",
            "appTime": "",
            "appStatus": "2",
            "payCode": "3301980001",
            "payName": "某支付公司",
            "payTransactionId": "PAY202409010001",
            "ebpCode": "3301960001",
            "ebpName": "某跨境电商平台",
            "payerIdType": "1",
            "payerIdNumber": "33010619900101123X",
            "payerName": "张三",
            "telephone": _PHONE,
            "amountPaid": "224.11",
            "currency": "142",
            "payTime": "20240901101500",
        }
    ),
    "waybill": _fields(
        {
            "orderNo": "ORD20240901000001",
            "guid": "",
            "appType": "1",
            "appTime": "",
            "appStatus": "2",
            "logisticsCode": "3301980002",
            "logisticsName": "某物流公司",
            "logisticsNo": "YT1234567890",
            "freight": "10.00",
            "insuredFee": "0",
            "currency": "142",
            "weight": "1.8",
            "packNo": "1",
            "goodsInfo": "婴儿奶粉*2",
            "consignee": "张三",
            "consigneeAddress": _ADDRESS,
            "consigneeTelephone": _PHONE,
        }
    ),
    "inventory": _fields(
        {
            "orderNo": "ORD20240901000001",
            "guid": "",
            "appType": "1",
            "appTime": "",
            "appStatus": "2",
            "ebpCode": "3301960001",
            "ebpName": "某跨境电商平台",
            "ebcCode": "3301960002",
            "ebcName": "某跨境电商企业",
            "logisticsNo": "YT1234567890",
            "logisticsCode": "3301980002",
            "logisticsName": "某物流公司",
            "copNo": "INV20240901001",
            "assureCode": "3301960002",
            "emsNo": "T2991W000001",
            "ieFlag": "I",
            "declTime": "20240901",
            "customsCode": "2991",
            "portCode": "2991",
            **_BUYER,
            "buyerTelephone": _PHONE,
            "consigneeAddress": _ADDRESS,
            "agentCode": "3301960002",
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
        },
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
    ),
}

# The columns of the upload sheet: the kind, then every field of every form, once.
SHEET_COLUMNS: tuple[str, ...] = (
    "kind",
    *dict.fromkeys(f.name for kind in KINDS for f in FORMS[kind]),
)


class FilingInvalid(ValueError):
    """Values that cannot make a document: the field and the rule."""

    def __init__(self, field: str, rule: str, message: str) -> None:
        super().__init__(message)
        self.field, self.rule = field, rule


def document(kind: str, values: Mapping[str, str]) -> dict[str, Any]:
    """The JSON form of one document from flat values (empty values are left out)."""
    if kind not in MESSAGE_TYPES:
        raise FilingInvalid("kind", "document-kind", f"kind is one of {', '.join(KINDS)}")
    head: dict[str, str] = {}
    line: dict[str, str] = {}
    for field in FORMS[kind]:
        value = (values.get(field.name) or "").strip()
        if value:
            (line if field.on_line else head)[field.element] = value
    built: dict[str, Any] = {"head": head}
    if any(f.on_line for f in FORMS[kind]):
        built["lines"] = [line]
    return built


def sender_code(kind: str, head: Mapping[str, str], codes: Iterable[str]) -> str | None:
    """Which of the tenant's codes files this document (None: the document is not theirs)."""
    own = set(codes)
    for name in SENDER_FIELDS[kind]:
        if head.get(name) in own:
            return head[name]
    return None


def message(
    kind: str, documents: list[dict[str, Any]], *, sender: str, sender_name: str
) -> dict[str, Any]:
    """A JSON message carrying `documents` of one kind, sent by `sender`."""
    return {
        "messageType": MESSAGE_TYPES[kind],
        "baseTransfer": {"copCode": sender, "copName": sender_name[:100]},
        "documents": documents,
    }


def field_of_pointer(pointer: str) -> str | None:
    """The form field a JSON pointer of a one-document message names (None: no one field)."""
    steps = pointer.strip("/").split("/")
    if len(steps) == 4 and steps[:3] == ["documents", "0", "head"]:
        return steps[3]
    if len(steps) == 5 and steps[:2] == ["documents", "0"] and steps[2] == "lines":
        return LINE_PREFIX + steps[4]
    return None
