"""Layer 4: the cross-document match (三单对碰, dossier §2 and the business rules X1-X20 of §c.2).

`match_declaration(order, payment, waybill, inventory)` compares the CEB311 order, CEB411
payment, CEB511 waybill and CEB621 inventory of one declaration and returns every disagreement
as a field-level `Mismatch` an officer can read: which rule, which field, the two places
compared (e.g. `CEB311 OrderHead/acturalPaid` against `CEB411 PaymentHead/amountPaid`) and their
values, personal data masked by `personal.shown`.

Rules that need facts from outside the four documents take them from `MatchFacts`; a fact left
as None skips that part of the rule (each field of `MatchFacts` says which rule it feeds):

- X6: how many counterparts the caller's lookup found, and their latest receipt status;
- X8: the outcome of the buyer's real-name identity check;
- X12: the buyer's running total for the calendar year;
- X13: the outcome of signature verification (XML-DSig/SM2 is I/O and crypto, not done here);
- X16: earlier uses of the waybill number and other orders with the same order number;
- §2.2: which enterprises are validly registered with customs.

X14, X15 and X17-X20 are not about the four documents at all; they are here as separate pure
functions over the documents they concern: `check_refund` (X14, CEB625), `check_cancel` (X15,
CEB623), `check_export_inventory` (X17, CEB603), `check_summary_apply` (X18, CEB701),
`check_split_messages` (X19) and `check_receipt` (X20).

Comparisons: text fields are compared with surrounding whitespace ignored; amounts as Decimal,
exactly unless the dossier allows a tolerance (X1, X2, X3, X7: `MatchSettings.amount_tolerance`,
0 by default). Amounts that do not parse are layer-3 errors (`field_rules`); the match skips a
comparison it cannot make, so run the field rules first.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

from customs.domain.clearance import CANCELLABLE, RETURNABLE, allowed_codes
from customs.domain.field_rules import (
    BONDED,
    actural_paid_expected,
    amounts_agree,
    line_sum,
    parse_decimal,
    parse_int,
    parse_timestamp,
    plain,
    product,
    trade_mode_problems,
)
from customs.domain.personal import shown

Fields = Mapping[str, str]
Kind = Literal["CEB311", "CEB411", "CEB511", "CEB621"]
Severity = Literal["error", "warn"]

ABSENT = "(absent)"
PRACTITIONER_TOLERANCE = Decimal("0.05")  # §2.2 (P), low-confidence: 5% on computed amounts


@dataclass(frozen=True, slots=True)
class Doc:
    """One business document: its head and its lines (element local name -> text as sent)."""

    head: Mapping[str, str]
    lines: tuple[Mapping[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One disagreement, field by field: `left` is compared with `right` under `rule`."""

    rule: str  # "X7", or "§2.2" for the agreements of §2.2 that have no X number
    field: str
    left: str  # e.g. "CEB311 OrderHead/acturalPaid"
    left_value: str
    right: str  # e.g. "CEB411 PaymentHead/amountPaid"
    right_value: str
    message: str
    severity: Severity = "error"


@dataclass(frozen=True, slots=True)
class MatchResult:
    """The outcome of a match: ok unless an error-severity mismatch was found."""

    mismatches: tuple[Mismatch, ...]
    full_tax: bool = False  # X11: one indivisible item over the single limit, taxed in full

    @property
    def ok(self) -> bool:
        return not any(m.severity == "error" for m in self.mismatches)

    @property
    def rules(self) -> tuple[str, ...]:
        """The rules that failed, in the order found, without repeats."""
        return tuple(dict.fromkeys(m.rule for m in self.mismatches))


@dataclass(frozen=True, slots=True)
class MatchSettings:
    """Limits and tolerances of the match.

    - `amount_tolerance`: relative deviation allowed on computed amounts (X1 line totals, X2
      goodsValue, X3 acturalPaid, X7 the inventory's line sum). 0 = exact at N19,5. The dossier's
      5% (`PRACTITIONER_TOLERANCE`) is a practitioner claim marked low-confidence (§2.2). X4
      (acturalPaid = amountPaid) is normative and always exact.
    - `single_limit` / `annual_limit`: CNY, §3.1 (X11, X12).
    - `discount_deductible`: whether the order's discount lowers the dutiable value (§3.1
      conflict; the sources found say non-cash discounts are not deducted).
    - `logistics_reuse_months`: a carrier may not reuse a logisticsNo within this window (X16).
    - `accepted_statuses`: receipt codes meaning a counterpart is in the customs database (X6).
    """

    amount_tolerance: Decimal = Decimal(0)
    single_limit: Decimal = Decimal(5000)
    annual_limit: Decimal = Decimal(26000)
    discount_deductible: bool = False
    logistics_reuse_months: int = 6
    accepted_statuses: frozenset[int] = frozenset({120, 399})

    def __post_init__(self) -> None:
        if not Decimal(0) <= self.amount_tolerance < 1:
            raise ValueError("amount_tolerance is a fraction in [0, 1)")


@dataclass(frozen=True, slots=True)
class SignatureFacts:
    """What signature verification found on one message (X13). Verification itself is I/O."""

    present: bool
    verified: bool
    signer_code: str | None  # the enterprise code the certificate / KeyName belongs to
    cop_code: str  # BaseTransfer/copCode of the message


@dataclass(frozen=True, slots=True)
class PriorUse:
    """An earlier waybill with the same logisticsCode + logisticsNo (X16)."""

    order_no: str
    app_time: str  # YYYYMMDDhhmmss


@dataclass(frozen=True, slots=True)
class MatchFacts:
    """Facts from outside the four documents. None = not known: that part of the rule is skipped.

    - `found` (X6): how many documents the caller's sibling lookup (`sibling_keys`) found for the
      inventory, by kind ("CEB311", "CEB411", "CEB511"); each must be exactly 1.
    - `counterpart_status` (X6, practice): the latest returnStatus of the order, payment and
      waybill; each should be accepted (120) before the inventory is declared.
    - `identity_verified` (X8): the buyer's real-name check (e.g. Alipay identityCheckResult).
    - `annual_used` (X12): the buyer's dutiable total so far in the calendar year of this
      inventory, this one excluded. None counts as 0, which still catches a single order over
      the annual limit.
    - `signatures` (X13): signature verification outcomes by kind.
    - `waybill_history` (X16): earlier waybills with the same logisticsCode + logisticsNo.
    - `other_orders_with_same_no` (X16): distinct orders (not revisions of this one) the platform
      declared with the same ebpCode + orderNo.
    - `registered` (§2.2): enterprise codes validly registered with customs; the platform
      (ebpCode) and the e-commerce enterprise (ebcCode) must be among them.
    """

    found: Mapping[str, int] | None = None
    counterpart_status: Mapping[str, int] | None = None
    identity_verified: bool | None = None
    annual_used: Decimal | None = None
    signatures: Mapping[str, SignatureFacts] | None = None
    waybill_history: Sequence[PriorUse] = ()
    other_orders_with_same_no: int | None = None
    registered: frozenset[str] | None = None


DEFAULT_SETTINGS = MatchSettings()
NO_FACTS = MatchFacts()


# --- join keys (§2.1) -----------------------------------------------------------------------

JOIN_FIELDS: dict[str, tuple[str, ...]] = {
    "CEB311": ("orderNo", "ebpCode", "ebcCode", "payCode", "payTransactionId"),
    "CEB411": ("orderNo", "ebpCode", "payCode", "payTransactionId"),
    "CEB511": ("orderNo", "logisticsCode", "logisticsNo"),
    "CEB621": ("orderNo", "ebpCode", "ebcCode", "logisticsCode", "logisticsNo"),
}

# (this kind, sibling kind) -> the fields both carry that find the sibling (§2.1). The payment
# is found from the inventory through the order: the order's orderNo + ebpCode are the
# inventory's. The waybill carries no ebpCode, so it is found from the order by orderNo alone
# (or from the inventory by logisticsCode + logisticsNo). payCode + payTransactionId are a
# second order <-> payment key when the order carries them; X6 checks that they agree.
SIBLING_FIELDS: dict[tuple[str, str], tuple[str, ...]] = {
    ("CEB311", "CEB411"): ("orderNo", "ebpCode"),
    ("CEB411", "CEB311"): ("orderNo", "ebpCode"),
    ("CEB311", "CEB511"): ("orderNo",),
    ("CEB511", "CEB311"): ("orderNo",),
    ("CEB311", "CEB621"): ("orderNo", "ebpCode", "ebcCode"),
    ("CEB621", "CEB311"): ("orderNo", "ebpCode", "ebcCode"),
    ("CEB511", "CEB621"): ("logisticsCode", "logisticsNo"),
    ("CEB621", "CEB511"): ("logisticsCode", "logisticsNo"),
    ("CEB411", "CEB621"): ("orderNo", "ebpCode"),
    ("CEB621", "CEB411"): ("orderNo", "ebpCode"),
    ("CEB411", "CEB511"): ("orderNo",),
    ("CEB511", "CEB411"): ("orderNo",),
}


def _kind(kind: str) -> str:
    code = kind.removesuffix("Message")
    if code not in JOIN_FIELDS:
        raise ValueError(f"no join keys for {kind}; known kinds: {', '.join(JOIN_FIELDS)}")
    return code


def join_keys(kind: str, head: Fields) -> dict[str, str]:
    """The join-key fields (§2.1) a document of `kind` carries, as sent (absent ones left out).

    `kind` is "CEB311", "CEB411", "CEB511" or "CEB621" (a "...Message" suffix is accepted).
    """
    return {name: head[name] for name in JOIN_FIELDS[_kind(kind)] if name in head}


def sibling_keys(kind: str, head: Fields, sibling: str) -> dict[str, str]:
    """The fields and values that find the `sibling` kind's document from this one (§2.1)."""
    names = SIBLING_FIELDS[(_kind(kind), _kind(sibling))]
    return {name: head[name] for name in names if name in head}


# --- the match ------------------------------------------------------------------------------

_ORDER_HEAD = "CEB311 OrderHead"
_PAYMENT_HEAD = "CEB411 PaymentHead"
_WAYBILL_HEAD = "CEB511 LogisticsHead"
_INVENTORY_HEAD = "CEB621 InventoryHead"


def match_declaration(
    order: Doc,
    payment: Doc,
    waybill: Doc,
    inventory: Doc,
    *,
    settings: MatchSettings = DEFAULT_SETTINGS,
    facts: MatchFacts = NO_FACTS,
) -> MatchResult:
    """Match the four documents of one declaration (§2, X1-X13, X16 and the §2.2 agreements)."""
    tolerance = settings.amount_tolerance
    found: list[Mismatch] = []
    found += _x1_line_totals(order, tolerance)
    found += _x2_goods_value(order, tolerance)
    found += _x3_actural_paid(order, tolerance)
    found += _x4_amount_paid(order, payment)
    found += _x5_consignee(order, waybill)
    found += _x6_counterparts(order, payment, waybill, inventory, settings=settings, facts=facts)
    found += _x7_lines(order, inventory, tolerance)
    found += _x8_buyer(order, payment, inventory, facts)
    found += _x9_x10_trade_mode(inventory)
    dutiable = _dutiable_value(order, inventory, settings)
    x11, full_tax = _x11_single_limit(inventory, dutiable, settings)
    found += x11
    found += _x12_annual_limit(inventory, dutiable, settings, facts)
    found += _x13_signatures(order, payment, waybill, inventory, facts)
    found += _x16_uniqueness(order, waybill, settings, facts)
    found += _section_2_2(order, waybill, inventory, facts)
    return MatchResult(mismatches=tuple(found), full_tax=full_tax)


def _value(values: Fields, name: str) -> str:
    value = values.get(name)
    return ABSENT if value is None else shown(name, value)


def _same(left: str | None, right: str | None) -> bool:
    return (left or "").strip() == (right or "").strip()


def _same_names(*names: str) -> tuple[tuple[str, str], ...]:
    return tuple((name, name) for name in names)


def _compare(
    rule: str,
    left: tuple[str, Fields],
    right: tuple[str, Fields],
    fields: Iterable[tuple[str, str]],
    why: str,
) -> list[Mismatch]:
    """A mismatch for each pair of text fields (`fields`: the left's name, the right's) that
    differ, surrounding whitespace ignored; `left` and `right`: where (for the message) and the
    values. About twenty comparisons a declaration, nearly all agreeing: told in one frame for
    each pair of documents (`_same` written out, not called once a pair)."""
    left_doc, left_values = left
    right_doc, right_values = right
    found: list[Mismatch] = []
    for left_field, right_field in fields:
        left_text, right_text = left_values.get(left_field), right_values.get(right_field)
        if (left_text or "").strip() == (right_text or "").strip():
            continue
        left_value = _value(left_values, left_field)
        right_value = _value(right_values, right_field)
        found.append(
            Mismatch(
                rule=rule,
                field=left_field,
                left=f"{left_doc}/{left_field}",
                left_value=left_value,
                right=f"{right_doc}/{right_field}",
                right_value=right_value,
                message=f"{left_doc}/{left_field} '{left_value}' differs from "
                f"{right_doc}/{right_field} '{right_value}': {why}",
            )
        )
    return found


def _x1_line_totals(order: Doc, tolerance: Decimal) -> list[Mismatch]:
    found: list[Mismatch] = []
    for position, line in enumerate(order.lines, start=1):
        price, qty = parse_decimal(line.get("price")), parse_decimal(line.get("qty"))
        total = parse_decimal(line.get("totalPrice"))
        if price is None or qty is None or total is None:
            continue
        expected = product(price, qty)
        if not amounts_agree(total, expected, tolerance):
            where = f"CEB311 OrderList[{position}]"
            found.append(
                Mismatch(
                    rule="X1",
                    field="totalPrice",
                    left=f"{where}/totalPrice",
                    left_value=line["totalPrice"],
                    right=f"{where}/price × qty",
                    right_value=plain(expected),
                    message=f"order line gnum {line.get('gnum', position)}: totalPrice "
                    f"{line['totalPrice']} is not price × qty = {line['price']} × {line['qty']} "
                    f"= {plain(expected)}",
                )
            )
    return found


def _x2_goods_value(order: Doc, tolerance: Decimal) -> list[Mismatch]:
    total = line_sum(order.lines)
    goods_value = parse_decimal(order.head.get("goodsValue"))
    if total is None or goods_value is None or not order.lines:
        return []
    if amounts_agree(goods_value, total, tolerance):
        return []
    return [
        Mismatch(
            rule="X2",
            field="goodsValue",
            left=f"{_ORDER_HEAD}/goodsValue",
            left_value=order.head["goodsValue"],
            right="CEB311 Σ OrderList/totalPrice",
            right_value=plain(total),
            message=f"order goodsValue {order.head['goodsValue']} is not the sum of its line "
            f"totals {plain(total)}",
        )
    ]


def _x3_actural_paid(order: Doc, tolerance: Decimal) -> list[Mismatch]:
    expected = actural_paid_expected(order.head)
    paid = parse_decimal(order.head.get("acturalPaid"))
    if expected is None or paid is None or amounts_agree(paid, expected, tolerance):
        return []
    head = order.head
    return [
        Mismatch(
            rule="X3",
            field="acturalPaid",
            left=f"{_ORDER_HEAD}/acturalPaid",
            left_value=head["acturalPaid"],
            right=f"{_ORDER_HEAD}/goodsValue + freight + taxTotal − discount",
            right_value=plain(expected),
            message=f"order acturalPaid {head['acturalPaid']} is not goodsValue + freight + "
            f"taxTotal − discount = {head['goodsValue']} + {head['freight']} + "
            f"{head['taxTotal']} − {head['discount']} = {plain(expected)}",
        )
    ]


def _x4_amount_paid(order: Doc, payment: Doc) -> list[Mismatch]:
    paid = parse_decimal(order.head.get("acturalPaid"))
    amount = parse_decimal(payment.head.get("amountPaid"))
    if paid is None or amount is None or paid == amount:
        return []
    return [
        Mismatch(
            rule="X4",
            field="acturalPaid",
            left=f"{_ORDER_HEAD}/acturalPaid",
            left_value=order.head["acturalPaid"],
            right=f"{_PAYMENT_HEAD}/amountPaid",
            right_value=payment.head["amountPaid"],
            message=f"the order says the buyer paid {order.head['acturalPaid']} but the payment "
            f"voucher says {payment.head['amountPaid']}; they must be equal",
        )
    ]


_X5_FIELDS = _same_names("consignee", "consigneeTelephone", "consigneeAddress")


def _x5_consignee(order: Doc, waybill: Doc) -> list[Mismatch]:
    return _compare(
        "X5",
        (_ORDER_HEAD, order.head),
        (_WAYBILL_HEAD, waybill.head),
        _X5_FIELDS,
        "the order's recipient must be the waybill's",
    )


_X6_INVENTORY_ORDER = _same_names("orderNo", "ebpCode", "ebcCode")
_X6_INVENTORY_WAYBILL = _same_names("logisticsCode", "logisticsNo")
_X6_PAYMENT_ORDER = _same_names("orderNo", "ebpCode")
_X6_PAYMENT_TRANSACTION = _same_names("payCode", "payTransactionId")  # where the order has them
_X6_WAYBILL_ORDER = _same_names("orderNo")


def _x6_counterparts(
    order: Doc,
    payment: Doc,
    waybill: Doc,
    inventory: Doc,
    *,
    settings: MatchSettings,
    facts: MatchFacts,
) -> list[Mismatch]:
    why = "the documents do not join on the keys of §2.1"
    in_inventory, in_order = (_INVENTORY_HEAD, inventory.head), (_ORDER_HEAD, order.head)
    in_payment = (_PAYMENT_HEAD, payment.head)
    found = _compare("X6", in_inventory, in_order, _X6_INVENTORY_ORDER, why)
    found += _compare("X6", in_inventory, (_WAYBILL_HEAD, waybill.head), _X6_INVENTORY_WAYBILL, why)
    found += _compare("X6", in_payment, in_order, _X6_PAYMENT_ORDER, why)
    transaction = [pair for pair in _X6_PAYMENT_TRANSACTION if pair[1] in order.head]
    found += _compare("X6", in_payment, in_order, transaction, why)
    found += _compare("X6", (_WAYBILL_HEAD, waybill.head), in_order, _X6_WAYBILL_ORDER, why)

    names = {"CEB311": "order", "CEB411": "payment", "CEB511": "waybill"}
    finders = {"CEB311": ("CEB621", inventory), "CEB411": ("CEB311", order)}
    finders["CEB511"] = finders["CEB311"]
    for kind, count in sorted((facts.found or {}).items()):
        if count != 1 and kind in names:
            finder, doc = finders[kind]
            keys = sibling_keys(finder, doc.head, kind)
            key_text = " + ".join(f"{k}={v}" for k, v in keys.items())
            found.append(
                Mismatch(
                    rule="X6",
                    field=" + ".join(keys),
                    left=f"{_INVENTORY_HEAD} keys",
                    left_value=key_text,
                    right=f"{kind} documents found",
                    right_value=str(count),
                    message=f"the inventory's {names[kind]} key {key_text} must resolve to "
                    f"exactly one {kind}, found {count}",
                )
            )
    for kind, status in sorted((facts.counterpart_status or {}).items()):
        if status not in settings.accepted_statuses and kind in names:
            found.append(
                Mismatch(
                    rule="X6",
                    field="returnStatus",
                    left=f"{kind} returnStatus",
                    left_value=str(status),
                    right="accepted statuses",
                    right_value=", ".join(map(str, sorted(settings.accepted_statuses))),
                    message=f"the {names[kind]} ({kind}) is in state {status}; it must be "
                    "accepted into the customs database (120) before the inventory is declared",
                )
            )
    return found


_X7_NAMES = (("gname", "itemName"),)


def _by_gnum(lines: Sequence[Fields]) -> dict[int, tuple[int, Fields]]:
    numbered: dict[int, tuple[int, Fields]] = {}
    for position, line in enumerate(lines, start=1):
        number = parse_int(line.get("gnum"))
        if number is not None:
            numbered.setdefault(number, (position, line))
    return numbered


def _x7_lines(order: Doc, inventory: Doc, tolerance: Decimal) -> list[Mismatch]:
    found: list[Mismatch] = []
    ordered, declared = _by_gnum(order.lines), _by_gnum(inventory.lines)
    if len(order.lines) != len(inventory.lines) or set(ordered) != set(declared):
        found.append(
            Mismatch(
                rule="X7",
                field="gnum",
                left="CEB621 InventoryList/gnum",
                left_value=",".join(map(str, sorted(declared))),
                right="CEB311 OrderList/gnum",
                right_value=",".join(map(str, sorted(ordered))),
                message=f"the inventory has {len(inventory.lines)} lines (gnum "
                f"{','.join(map(str, sorted(declared)))}) but the order has {len(order.lines)} "
                f"(gnum {','.join(map(str, sorted(ordered)))}); they map one to one",
            )
        )
    for number in sorted(set(ordered) & set(declared)):
        inv_position, inv_line = declared[number]
        ord_position, ord_line = ordered[number]
        found += _compare(
            "X7",
            (f"CEB621 InventoryList[{inv_position}]", inv_line),
            (f"CEB311 OrderList[{ord_position}]", ord_line),
            _X7_NAMES,
            f"line gnum {number}: the declared goods name must be the one sold",
        )
    total = line_sum(inventory.lines)
    goods_value = parse_decimal(order.head.get("goodsValue"))
    if (
        total is not None
        and goods_value is not None
        and not amounts_agree(total, goods_value, tolerance)
    ):
        found.append(
            Mismatch(
                rule="X7",
                field="totalPrice",
                left="CEB621 Σ InventoryList/totalPrice",
                left_value=plain(total),
                right=f"{_ORDER_HEAD}/goodsValue",
                right_value=order.head["goodsValue"],
                message=f"the inventory's line totals sum to {plain(total)} but the order's "
                f"goodsValue is {order.head['goodsValue']}",
            )
        )
    return found


_X8_BUYER = _same_names("buyerIdType", "buyerIdNumber", "buyerName", "buyerTelephone")
_X8_PAYER = (
    ("payerIdType", "buyerIdType"),
    ("payerIdNumber", "buyerIdNumber"),
    ("payerName", "buyerName"),
)


def _x8_buyer(order: Doc, payment: Doc, inventory: Doc, facts: MatchFacts) -> list[Mismatch]:
    in_order = (_ORDER_HEAD, order.head)
    found = _compare(
        "X8",
        (_INVENTORY_HEAD, inventory.head),
        in_order,
        _X8_BUYER,
        "the declared buyer must be the order's buyer",
    )
    found += _compare(
        "X8", (_PAYMENT_HEAD, payment.head), in_order, _X8_PAYER, "the payer must be the buyer"
    )
    if facts.identity_verified is False:
        found.append(
            Mismatch(
                rule="X8",
                field="buyerIdNumber",
                left=f"{_ORDER_HEAD}/buyerName + buyerIdNumber",
                left_value=f"{_value(order.head, 'buyerName')} "
                f"{_value(order.head, 'buyerIdNumber')}",
                right="real-name identity check",
                right_value="not passed",
                message="the buyer's name and ID number did not pass the real-name identity check",
            )
        )
    return found


def _x9_x10_trade_mode(inventory: Doc) -> list[Mismatch]:
    found: list[Mismatch] = []
    mode = inventory.head.get("tradeMode", "")
    for problem in trade_mode_problems(inventory.head, inventory.lines):
        if problem.rule == "trade-mode-1210-omitted":
            continue  # a field-level rule (§1.5 rule 2), not part of X9
        rule = "X9" if mode == BONDED else "X10"
        value = ABSENT if problem.value is None else shown(problem.field, problem.value)
        found.append(
            Mismatch(
                rule=rule,
                field=problem.field,
                left=f"{_INVENTORY_HEAD}/tradeMode",
                left_value=mode,
                right=f"CEB621 {problem.element}/{problem.field}",
                right_value=value,
                message=f"{problem.element}/{problem.field} {problem.problem}; "
                + ("it is absent" if problem.value is None else f"it is '{value}'"),
            )
        )
    return found


def _dutiable_value(order: Doc, inventory: Doc, settings: MatchSettings) -> Decimal | None:
    """goodsValue + freight + insuredFee (retail price + freight + insurance, §3.1)."""
    parts = [
        parse_decimal(order.head.get("goodsValue")),
        parse_decimal(inventory.head.get("freight")),
        parse_decimal(inventory.head.get("insuredFee", "0")),
    ]
    discount = parse_decimal(order.head.get("discount", "0"))
    if discount is None or any(part is None for part in parts):
        return None
    value = sum((part for part in parts if part is not None), Decimal(0))
    return value - discount if settings.discount_deductible else value


def _dutiable_text(settings: MatchSettings) -> str:
    deducted = " − discount" if settings.discount_deductible else ""
    return f"dutiable value (CEB311 goodsValue + CEB621 freight + insuredFee{deducted})"


def _x11_single_limit(
    inventory: Doc, dutiable: Decimal | None, settings: MatchSettings
) -> tuple[list[Mismatch], bool]:
    if dutiable is None or dutiable <= settings.single_limit:
        return [], False
    quantities = [parse_decimal(line.get("qty")) for line in inventory.lines]
    if len(quantities) == 1 and quantities[0] == 1:
        return [], True  # one indivisible item: stays in the CBEC channel, taxed in full (§3.1)
    return [
        Mismatch(
            rule="X11",
            field="goodsValue",
            left=_dutiable_text(settings),
            left_value=plain(dutiable),
            right="single-transaction limit",
            right_value=plain(settings.single_limit),
            message=f"the order's dutiable value {plain(dutiable)} is over the "
            f"{plain(settings.single_limit)} CNY single-transaction limit and it is not a single "
            f"indivisible item ({len(inventory.lines)} lines); -621005",
        )
    ], False


def _x12_annual_limit(
    inventory: Doc, dutiable: Decimal | None, settings: MatchSettings, facts: MatchFacts
) -> list[Mismatch]:
    if dutiable is None:
        return []
    used = facts.annual_used if facts.annual_used is not None else Decimal(0)
    total = used + dutiable
    if total <= settings.annual_limit:
        return []
    return [
        Mismatch(
            rule="X12",
            field="buyerIdNumber",
            left="buyer's annual total with this order",
            left_value=plain(total),
            right="annual limit",
            right_value=plain(settings.annual_limit),
            message=f"buyer {_value(inventory.head, 'buyerIdNumber')} has used {plain(used)} "
            f"this calendar year; with this order ({plain(dutiable)}) that is {plain(total)}, "
            f"over the {plain(settings.annual_limit)} CNY annual limit; -621018",
        )
    ]


_SIGNERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "CEB311": (_ORDER_HEAD, ("ebpCode", "ebcCode")),
    "CEB411": (_PAYMENT_HEAD, ("payCode",)),
    "CEB511": (_WAYBILL_HEAD, ("logisticsCode",)),
    "CEB621": (_INVENTORY_HEAD, ("agentCode",)),
}


def _x13_signatures(
    order: Doc, payment: Doc, waybill: Doc, inventory: Doc, facts: MatchFacts
) -> list[Mismatch]:
    docs = {"CEB311": order, "CEB411": payment, "CEB511": waybill, "CEB621": inventory}
    found: list[Mismatch] = []
    for kind, signature in sorted((facts.signatures or {}).items()):
        doc = docs.get(kind)
        if doc is None or doc.head.get("appStatus") != "2":
            continue
        where, own = _SIGNERS[kind]
        allowed = [signature.cop_code, *(doc.head[name] for name in own if name in doc.head)]
        if not signature.present:
            problem, seen = "carries no ds:Signature", ABSENT
        elif not signature.verified:
            problem, seen = "has a ds:Signature that does not verify", "does not verify"
        elif signature.signer_code not in allowed:
            problem = f"is signed by {signature.signer_code}, not by {' / '.join(allowed)}"
            seen = signature.signer_code or ABSENT
        else:
            continue
        found.append(
            Mismatch(
                rule="X13",
                field="ds:Signature",
                left=f"{where}/appStatus",
                left_value="2",
                right=f"{kind} ds:Signature",
                right_value=seen,
                message=f"the {kind} is declared (appStatus 2) but {problem}",
            )
        )
    return found


def _add_months(moment: datetime, months: int) -> datetime:
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    return moment.replace(
        year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1])
    )


def _x16_uniqueness(
    order: Doc, waybill: Doc, settings: MatchSettings, facts: MatchFacts
) -> list[Mismatch]:
    found: list[Mismatch] = []
    this_time = parse_timestamp(waybill.head.get("appTime", ""))
    order_no = waybill.head.get("orderNo", "")
    for use in facts.waybill_history:
        then = parse_timestamp(use.app_time)
        if this_time is None or then is None or _same(use.order_no, order_no):
            continue
        earlier, later = sorted((then, this_time))
        if later < _add_months(earlier, settings.logistics_reuse_months):
            number = waybill.head.get("logisticsNo", "")
            found.append(
                Mismatch(
                    rule="X16",
                    field="logisticsNo",
                    left=f"{_WAYBILL_HEAD}/logisticsNo",
                    left_value=number,
                    right="earlier waybill (orderNo, appTime)",
                    right_value=f"{use.order_no}, {use.app_time}",
                    message=f"carrier {waybill.head.get('logisticsCode', '')} used logisticsNo "
                    f"{number} for order {use.order_no} at {use.app_time}, less than "
                    f"{settings.logistics_reuse_months} months from this waybill",
                )
            )
    if facts.other_orders_with_same_no:
        found.append(
            Mismatch(
                rule="X16",
                field="orderNo",
                left=f"{_ORDER_HEAD}/orderNo",
                left_value=order.head.get("orderNo", ""),
                right=f"other orders of platform {order.head.get('ebpCode', '')}",
                right_value=str(facts.other_orders_with_same_no),
                message=f"orderNo {order.head.get('orderNo', '')} is not unique for platform "
                f"{order.head.get('ebpCode', '')}: {facts.other_orders_with_same_no} other "
                "order(s) carry it",
            )
        )
    return found


def _section_2_2(order: Doc, waybill: Doc, inventory: Doc, facts: MatchFacts) -> list[Mismatch]:
    """§2.2 agreements with no X number: freight/insuredFee, registered enterprises."""
    found: list[Mismatch] = []
    for name in ("freight", "insuredFee"):
        declared = parse_decimal(inventory.head.get(name))
        charged = parse_decimal(waybill.head.get(name))
        if declared is None or charged is None or declared == charged:
            continue
        found.append(
            Mismatch(
                rule="§2.2",
                field=name,
                left=f"{_INVENTORY_HEAD}/{name}",
                left_value=inventory.head[name],
                right=f"{_WAYBILL_HEAD}/{name}",
                right_value=waybill.head[name],
                message=f"the inventory declares {name} {inventory.head[name]} but the carrier "
                f"charged {waybill.head[name]}",
            )
        )
    if facts.registered is not None:
        for name, role in (("ebpCode", "platform"), ("ebcCode", "e-commerce enterprise")):
            code = order.head.get(name)
            if code is not None and code not in facts.registered:
                found.append(
                    Mismatch(
                        rule="§2.2",
                        field=name,
                        left=f"{_ORDER_HEAD}/{name}",
                        left_value=code,
                        right="enterprises registered with customs",
                        right_value="not registered",
                        message=f"the {role} {code} is not validly registered with customs",
                    )
                )
    return found


# --- rules about other documents: X14, X15, X17-X20 -----------------------------------------

RELEASED = RETURNABLE


def _key_agreement(
    rule: str, where: str, doc: Doc, inventory: Doc, names: Sequence[str]
) -> list[Mismatch]:
    # the declared inventory may not carry the customs-assigned number
    fields = [(n, n) for n in names if n != "invtNo" or n in inventory.head]
    return _compare(
        rule,
        (where, doc.head),
        (_INVENTORY_HEAD, inventory.head),
        fields,
        "it must refer to the original inventory (§2.1)",
    )


def _against_inventory(
    rule: str,
    where: str,
    request: Doc,
    inventory: Doc,
    *,
    inventory_status: int,
    allowed: frozenset[int],
    action: str,
    refusal: str,
) -> list[Mismatch]:
    """A request against a declared inventory: the same keys (§2.1), and a state allowing it."""
    found = _key_agreement(
        rule, where, request, inventory, ("invtNo", "orderNo", "logisticsNo", "buyerIdNumber")
    )
    if inventory_status not in allowed:
        found.append(
            Mismatch(
                rule=rule,
                field="returnStatus",
                left=f"{_INVENTORY_HEAD} returnStatus",
                left_value=str(inventory_status),
                right=f"states that allow {action}",
                right_value=", ".join(map(str, sorted(allowed))),
                message=refusal,
            )
        )
    return found


def check_refund(refund: Doc, inventory: Doc, *, inventory_status: int) -> tuple[Mismatch, ...]:
    """X14: a CEB625 return against its released inventory.

    Every refund line's gnum must exist in the original inventory (-625209) with qty ≤ the
    original qty; the inventory must be released or closed (800/899); the keys of §2.1
    (invtNo, orderNo, logisticsNo, buyer ID) must agree.
    """
    found = _against_inventory(
        "X14",
        "CEB625 InvtRefundHead",
        refund,
        inventory,
        inventory_status=inventory_status,
        allowed=RELEASED,
        action="a return",
        refusal=f"goods can be returned only once the inventory is released (800) or "
        f"closed (899); it is in state {inventory_status}",
    )
    original = _by_gnum(inventory.lines)
    for position, line in enumerate(refund.lines, start=1):
        number = parse_int(line.get("gnum"))
        here = f"CEB625 InvtRefundList[{position}]"
        if number is None or number not in original:
            found.append(
                Mismatch(
                    rule="X14",
                    field="gnum",
                    left=f"{here}/gnum",
                    left_value=line.get("gnum", ABSENT),
                    right="CEB621 InventoryList/gnum",
                    right_value=",".join(map(str, sorted(original))),
                    message=f"refund line gnum {line.get('gnum', ABSENT)} is not a line of the "
                    "original inventory (-625209)",
                )
            )
            continue
        inv_position, inv_line = original[number]
        qty, limit = parse_decimal(line.get("qty")), parse_decimal(inv_line.get("qty"))
        if qty is not None and limit is not None and qty > limit:
            found.append(
                Mismatch(
                    rule="X14",
                    field="qty",
                    left=f"{here}/qty",
                    left_value=line["qty"],
                    right=f"CEB621 InventoryList[{inv_position}]/qty",
                    right_value=inv_line["qty"],
                    message=f"refund line gnum {number} returns {line['qty']} but only "
                    f"{inv_line['qty']} were declared",
                )
            )
    return tuple(found)


def check_cancel(cancel: Doc, inventory: Doc, *, inventory_status: int) -> tuple[Mismatch, ...]:
    """X15: a CEB623 cancellation is allowed only before release (inferred from -623005)."""
    found = _against_inventory(
        "X15",
        "CEB623 InvtCancel",
        cancel,
        inventory,
        inventory_status=inventory_status,
        allowed=CANCELLABLE,
        action="a cancellation",
        refusal=f"the inventory is in state {inventory_status}; it can be cancelled only "
        "before release (-623005)",
    )
    return tuple(found)


def check_export_inventory(
    head: Fields, *, rebate_claimed: bool | None = None
) -> tuple[Mismatch, ...]:
    """X17 (warning): a CEB603 with statisticsFlag A (simplified) carries no licence and claims
    no rebate. Whether the goods claim a rebate (or bear export duty) is outside the message:
    pass `rebate_claimed`; None skips that part. A 4-digit gcode is allowed under A.
    """
    if head.get("statisticsFlag") != "A":
        return ()
    where = "CEB603 InventoryHead"
    found: list[Mismatch] = []
    licence = head.get("licenseNo")
    if licence is not None and licence.strip():
        found.append(
            Mismatch(
                rule="X17",
                field="licenseNo",
                left=f"{where}/statisticsFlag",
                left_value="A",
                right=f"{where}/licenseNo",
                right_value=licence,
                message=f"a simplified declaration (statisticsFlag A) is for goods needing no "
                f"licence, but licenseNo {licence} is given; declare with statisticsFlag B",
                severity="warn",
            )
        )
    if rebate_claimed:
        found.append(
            Mismatch(
                rule="X17",
                field="statisticsFlag",
                left=f"{where}/statisticsFlag",
                left_value="A",
                right="export rebate",
                right_value="claimed",
                message="a simplified declaration (statisticsFlag A) cannot claim an export "
                "rebate; declare with statisticsFlag B",
                severity="warn",
            )
        )
    return tuple(found)


def check_summary_apply(head: Fields) -> tuple[Mismatch, ...]:
    """X18: CEB701 startTime and endTime come as a pair, both real times, end ≥ start."""
    where = "CEB701 SummaryApplyHead"
    start, end = head.get("startTime"), head.get("endTime")
    if start is None and end is None:
        return ()
    left, right = _value(head, "startTime"), _value(head, "endTime")

    def mismatch(name: str, problem: str) -> Mismatch:
        return Mismatch(
            rule="X18",
            field=name,
            left=f"{where}/startTime",
            left_value=left,
            right=f"{where}/endTime",
            right_value=right,
            message=f"summary window {left} .. {right}: {problem}",
        )

    if start is None or end is None:
        missing = "startTime" if start is None else "endTime"
        return (mismatch(missing, "startTime and endTime come together or not at all"),)
    begin, finish = parse_timestamp(start), parse_timestamp(end)
    if begin is None:
        return (mismatch("startTime", "startTime is not a real YYYYMMDDhhmmss time"),)
    if finish is None:
        return (mismatch("endTime", "endTime is not a real YYYYMMDDhhmmss time"),)
    if finish < begin:
        return (mismatch("endTime", "endTime is before startTime"),)
    return ()


def check_split_messages(heads: Sequence[Fields], *, message_type: str) -> tuple[Mismatch, ...]:
    """X19: the parts of a split message (CEB507/509/607/701/792) all carry the same msgCount
    and their msgSeqNo run 1..msgCount exactly once each. Call it once all parts are in.
    """
    counts = {head.get("msgCount", ABSENT) for head in heads}
    seq = [head.get("msgSeqNo", ABSENT) for head in heads]
    numbers = [parse_int(value) for value in seq]
    count = parse_int(next(iter(counts))) if len(counts) == 1 else None
    if count is not None and sorted(numbers, key=lambda n: -1 if n is None else n) == list(
        range(1, count + 1)
    ):
        return ()
    return (
        Mismatch(
            rule="X19",
            field="msgSeqNo",
            left=f"{message_type} msgSeqNo",
            left_value=",".join(seq),
            right=f"{message_type} msgCount",
            right_value=",".join(sorted(counts)),
            message=f"the {len(heads)} parts of the split {message_type} must carry one msgCount "
            f"and msgSeqNo 1..msgCount without gaps or repeats; got msgSeqNo {','.join(seq)} "
            f"for msgCount {','.join(sorted(counts))}",
        ),
    )


# Allowed returnStatus per receipt type (§1.6, S1); a negative code (processing error) is
# allowed on every receipt.
def check_receipt(
    receipt_type: str, return_status: int, *, return_time: str, last_return_time: str | None
) -> tuple[Mismatch, ...]:
    """X20: a receipt carries only the codes its type allows (§1.6) and is not stale.

    A receipt whose returnTime (YYYYMMDDhhmmssSSS) is older than the last one applied to the
    document is stale and must be ignored (the -301014 semantics). `receipt_type` is e.g.
    "CEB622" (a "...Message" suffix is accepted).
    """
    code = receipt_type.removesuffix("Message")
    allowed = allowed_codes(code)
    found: list[Mismatch] = []
    if return_status >= 0 and return_status not in allowed:
        found.append(
            Mismatch(
                rule="X20",
                field="returnStatus",
                left=f"{code} returnStatus",
                left_value=str(return_status),
                right=f"codes allowed on {code}",
                right_value=", ".join(map(str, sorted(allowed))) + ", <0",
                message=f"a {code} receipt cannot carry returnStatus {return_status}",
            )
        )
    if not (len(return_time) == 17 and return_time.isdigit()):
        found.append(
            Mismatch(
                rule="X20",
                field="returnTime",
                left=f"{code} returnTime",
                left_value=return_time,
                right="format",
                right_value="YYYYMMDDhhmmssSSS",
                message=f"returnTime {return_time} is not YYYYMMDDhhmmssSSS",
            )
        )
    elif last_return_time is not None and return_time < last_return_time:
        found.append(
            Mismatch(
                rule="X20",
                field="returnTime",
                left=f"{code} returnTime",
                left_value=return_time,
                right="last applied returnTime",
                right_value=last_return_time,
                message=f"stale receipt: returnTime {return_time} is older than the last one "
                f"applied ({last_return_time}); ignore it (-301014)",
            )
        )
    return tuple(found)
