"""Layer 3: the field rules of the CEB import documents beyond what the XSD enforces.

The XSD (layer 2) has already checked presence, lengths and lexical types. This layer checks
what a value *means*: code lists, real dates, the resident ID checksum, money that must not be
negative, the trade-mode conditions (dossier §1.5 rule 2) and the arithmetic inside one
document (X1-X3, gnum numbering). One function per document kind:

    check_order(head, lines)      CEB311 OrderHead + OrderList
    check_payment(head)           CEB411 PaymentHead
    check_waybill(head)           CEB511 LogisticsHead
    check_inventory(head, lines)  CEB621 InventoryHead + InventoryList

`head` and each line map element local names to the text exactly as sent; an optional element
that was absent is missing from the mapping. Every problem is a `FieldError` with a path such as
`OrderHead/currency` or `OrderList[2]/qty` (lines are numbered by position, from 1, as in XPath),
a kebab-case `rule` id listed in `RULES`, a message naming the field and the rule, and the value
as it may be shown (personal data masked by `personal.shown`).

A required element that is missing is the XSD's business, so most rules skip an absent field;
the exceptions are the conditional requirements of the trade modes, which the XSD cannot express.
The same helpers (`parse_decimal`, `amounts_agree`, `trade_mode_problems`, ...) serve the
cross-document match in `customs.domain.matching`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation, localcontext
from functools import lru_cache

from customs.domain.errors import FieldError
from customs.domain.personal import shown

Fields = Mapping[str, str]

# Rule id -> what it says and where the CBEC domain dossier says it.
RULES: dict[str, str] = {
    "guid-format": "guid is 36 chars, an upper-case UUID 8-4-4-4-12 (§1.3, §c.1)",
    "app-type": "appType is 1 (new), 2 (change) or 3 (delete) (§1.3)",
    "app-status": "appStatus is 1 (temporary save) or 2 (declare) (§1.3)",
    "timestamp-format": "a time is YYYYMMDDhhmmss and a real date and time (§1.3)",
    "date-format": "a date is YYYYMMDD and a real date (§1.3)",
    "order-type": "import orderType is I (§1.5 rule 1)",
    "ie-flag": "import ieFlag is I (§1.5 rule 1)",
    "import-currency": "currency is 142 (CNY) on every import document (§1.3, §1.5 rule 1)",
    "id-type": "buyerIdType / payerIdType is 1 (resident ID card) on imports (§1.5 rule 1)",
    "resident-id-format": "a resident ID number is 17 digits and a check character 0-9 or X",
    "resident-id-birth-date": "digits 7-14 of a resident ID number are a real birth date",
    "resident-id-checksum": "the check character of a resident ID number is GB 11643 mod 11-2",
    "trade-mode": "import tradeMode is 9610 (direct purchase) or 1210 (bonded) (§1.5 rule 2)",
    "trade-mode-1210-required": (
        "tradeMode 1210 needs emsNo, areaCode, areaName and every line's itemRecordNo "
        "(§1.5 rule 2, X9)"
    ),
    "trade-mode-1210-country": "tradeMode 1210 has head country 142 (§1.5 rule 2, X9)",
    "trade-mode-1210-omitted": "tradeMode 1210 omits trafNo, voyageNo and billNo (§1.5 rule 2)",
    "trade-mode-9610-required": "tradeMode 9610 needs trafNo, voyageNo and billNo (§1.5, X10)",
    "gcode-format": "gcode is 10 digits: 8-digit tariff line + 2 supplementary (§1.5 rule 4)",
    "unit-code": "a unit is a 3-digit JGS-20 code (§c.1)",
    "country-code": "a country is a 3-digit JGS-20 code (§c.1)",
    "customs-code": "customsCode / portCode is a 4-digit customs district (§c.1)",
    "district-code": "consigneeDistrict is a 6-digit administrative division code (§c.1)",
    "enterprise-code": (
        "an enterprise code is the 10-char customs code or the 18-char USCC (§1.3, §c.1, inferred)"
    ),
    "pre-no-format": "preNo is B + 17 digits (§c.1, inferred from samples)",
    "invt-no-format": "invtNo is district, year, I/E flag and a serial (§c.1, inferred)",
    "decimal-format": "an amount is N19,5: at most 19 digits, at most 5 after the point (§1.3)",
    "non-negative-amount": "money is not negative (§1.3 N19,5 money fields)",
    "positive-quantity": "a quantity or weight is greater than 0 (inferred)",
    "integer-format": "gnum / packNo is a whole number (XSD int)",
    "pack-no": "import packNo is 1 (§1.5 rule 1)",
    "gnum-sequence": "line gnum runs 1..n in order without gaps (§1.5 rule 6)",
    "line-total": "a line's totalPrice = price × qty (§1.5 rule 7, X1)",
    "goods-value-total": "OrderHead goodsValue = Σ OrderList totalPrice (X2)",
    "actural-paid-formula": "acturalPaid = goodsValue + freight + taxTotal − discount (§1.5, X3)",
    "bar-code-none": "an inventory barCode is 无 when there is none, never blank (§1.5 rule 5)",
}

IMPORT_CURRENCY = "142"
CHINA = "142"
CHINA_TIME = timezone(timedelta(hours=8), "China")
BONDED = "1210"
DIRECT = "9610"
BONDED_HEAD_FIELDS = ("emsNo", "areaCode", "areaName")
DIRECT_HEAD_FIELDS = ("trafNo", "voyageNo", "billNo")

_PLACES = Decimal("0.00001")  # N19,5
_WIDE = Context(prec=80)  # products of two N19,5 values never round inside this context


# How many values a code remembers as matching (`_Code.accepts`).
_KNOWN_VALUES = 4096


@dataclass(frozen=True, slots=True)
class _Code:
    rule: str
    pattern: re.Pattern[str]
    expected: str
    # Values seen to match: most codes take a few values again and again (currencies,
    # countries, units, HS codes), and a set lookup costs a fifth of a regular expression's
    # match. Bounded: unique values (guids) fill it once and then cost one lookup more.
    known: set[str] = field(default_factory=set, compare=False, repr=False)

    def accepts(self, value: str) -> bool:
        """Whether `value` matches the code's pattern (remembered when it does). Callers look
        in `known` first: a hit is then a set lookup, without this call."""
        if self.pattern.fullmatch(value) is None:
            return False
        if len(self.known) < _KNOWN_VALUES:
            self.known.add(value)
        return True


_GUID = _Code(
    "guid-format",
    # Upper-case UUID shape. Official samples carry non-hex letters (5923DGGB-...), so any
    # upper-case letter or digit is accepted in the groups (dossier §c.1).
    re.compile(r"[0-9A-Z]{8}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{12}"),
    "an upper-case UUID (36 chars, 8-4-4-4-12)",
)
_APP_TYPE = _Code("app-type", re.compile(r"[123]"), "1 (new), 2 (change) or 3 (delete)")
_APP_STATUS = _Code("app-status", re.compile(r"[12]"), "1 (temporary save) or 2 (declare)")
_ORDER_TYPE = _Code("order-type", re.compile(r"I"), "I on an import order")
_IE_FLAG = _Code("ie-flag", re.compile(r"I"), "I on an import inventory")
_CURRENCY = _Code("import-currency", re.compile(IMPORT_CURRENCY), "142 (CNY) on import documents")
_ID_TYPE = _Code("id-type", re.compile(r"1"), "1 (resident ID card) on import documents")
_TRADE_MODE = _Code(
    "trade-mode", re.compile(r"9610|1210"), "9610 (direct purchase) or 1210 (bonded)"
)
_GCODE = _Code("gcode-format", re.compile(r"\d{10}"), "10 digits (8-digit tariff line + 2)")
_UNIT = _Code("unit-code", re.compile(r"\d{3}"), "a 3-digit JGS-20 unit code")
_COUNTRY = _Code("country-code", re.compile(r"\d{3}"), "a 3-digit JGS-20 country code")
_CUSTOMS = _Code("customs-code", re.compile(r"\d{4}"), "a 4-digit customs district code")
_DISTRICT = _Code("district-code", re.compile(r"\d{6}"), "a 6-digit administrative division")
_ENTERPRISE = _Code(
    "enterprise-code",
    re.compile(r"[0-9A-Z]{10}|[0-9A-Z]{18}"),
    "a 10-char customs code or an 18-char unified social credit code",
)
_PRE_NO = _Code("pre-no-format", re.compile(r"B\d{17}"), "B followed by 17 digits")
_INVT_NO = _Code(
    "invt-no-format",
    re.compile(r"\d{4}\d{4}[IE0-9]\d{9,11}"),
    "4-digit district + 4-digit year + I/E flag + 9-11 digit serial",
)

_COMMON_HEAD: dict[str, _Code] = {
    "guid": _GUID,
    "appType": _APP_TYPE,
    "appStatus": _APP_STATUS,
    "currency": _CURRENCY,
}


@dataclass(frozen=True, slots=True)
class _Spec:
    """What to check on one element (a head or a line)."""

    element: str
    codes: Mapping[str, _Code] = field(default_factory=dict)
    timestamps: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()
    money: tuple[str, ...] = ()
    quantities: tuple[str, ...] = ()
    pack_no: bool = False
    amounts: tuple[str, ...] = field(init=False)  # money, then quantities

    def __post_init__(self) -> None:
        object.__setattr__(self, "amounts", self.money + self.quantities)


_ORDER_HEAD = _Spec(
    "OrderHead",
    codes={
        **_COMMON_HEAD,
        "orderType": _ORDER_TYPE,
        "buyerIdType": _ID_TYPE,
        "ebpCode": _ENTERPRISE,
        "ebcCode": _ENTERPRISE,
        "payCode": _ENTERPRISE,
        "consigneeDistrict": _DISTRICT,
    },
    timestamps=("appTime",),
    money=("goodsValue", "freight", "discount", "taxTotal", "acturalPaid"),
)
_ORDER_LINE = _Spec(
    "OrderList",
    codes={"unit": _UNIT, "currency": _CURRENCY, "country": _COUNTRY},
    money=("price", "totalPrice"),
    quantities=("qty",),
)
_PAYMENT_HEAD = _Spec(
    "PaymentHead",
    codes={
        **_COMMON_HEAD,
        "payerIdType": _ID_TYPE,
        "payCode": _ENTERPRISE,
        "ebpCode": _ENTERPRISE,
    },
    timestamps=("appTime", "payTime"),
    money=("amountPaid",),
)
_WAYBILL_HEAD = _Spec(
    "LogisticsHead",
    codes={**_COMMON_HEAD, "logisticsCode": _ENTERPRISE},
    timestamps=("appTime",),
    money=("freight", "insuredFee"),
    quantities=("weight",),
    pack_no=True,
)
_INVENTORY_HEAD = _Spec(
    "InventoryHead",
    codes={
        **_COMMON_HEAD,
        "ieFlag": _IE_FLAG,
        "buyerIdType": _ID_TYPE,
        "tradeMode": _TRADE_MODE,
        "customsCode": _CUSTOMS,
        "portCode": _CUSTOMS,
        "country": _COUNTRY,
        "ebpCode": _ENTERPRISE,
        "ebcCode": _ENTERPRISE,
        "logisticsCode": _ENTERPRISE,
        "agentCode": _ENTERPRISE,
        "preNo": _PRE_NO,
        "invtNo": _INVT_NO,
    },
    timestamps=("appTime",),
    dates=("declTime", "ieDate"),
    money=("freight", "insuredFee"),
    quantities=("grossWeight", "netWeight"),
    pack_no=True,
)
_INVENTORY_LINE = _Spec(
    "InventoryList",
    codes={
        "gcode": _GCODE,
        "unit": _UNIT,
        "unit1": _UNIT,
        "unit2": _UNIT,
        "country": _COUNTRY,
        "tradeCountry": _COUNTRY,
        "currency": _CURRENCY,
    },
    money=("price", "totalPrice"),
    quantities=("qty", "qty1", "qty2"),
)


# --- public helpers (also used by the cross-document match) --------------------------------

_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_INT = re.compile(r"[+-]?\d+")
_DIGITS_14 = re.compile(r"\d{14}")
_DIGITS_8 = re.compile(r"\d{8}")


# Amounts recur: a declaration's are read by the field rules, the four documents' match and the
# tax, about 32 reads of a dozen values, and the traffic's prices and quantities repeat across
# declarations. A Decimal is immutable and made exactly from its text, whatever the context.
_DECIMALS_REMEMBERED = 4096


@lru_cache(maxsize=_DECIMALS_REMEMBERED)
def parse_decimal(value: str | None) -> Decimal | None:
    """An xs:decimal as sent (surrounding whitespace collapsed, as the XSD does), or None."""
    if value is None:
        return None
    text = value.strip()
    if not _DECIMAL.fullmatch(text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        return None


def parse_int(value: str | None) -> int | None:
    """An xs:int as sent (surrounding whitespace collapsed), or None."""
    if value is None or not _INT.fullmatch(value.strip()):
        return None
    return int(value.strip())


def digits(amount: Decimal) -> tuple[int, int]:
    """(total digits, fraction digits) in the XSD value space: no leading or trailing zeros."""
    _, figures, exponent = amount.as_tuple()
    assert isinstance(exponent, int)  # finite: parse_decimal never yields NaN or Infinity
    text = "".join(map(str, figures))
    if exponent >= 0:
        whole, fraction = text + "0" * exponent, ""
    else:
        text = text.rjust(-exponent, "0")
        whole, fraction = text[:exponent], text[exponent:]
    fraction = fraction.rstrip("0")
    # the value is i × 10^-len(fraction); totalDigits counts the digits of i
    return len((whole + fraction).lstrip("0")), len(fraction)


def plain(amount: Decimal) -> str:
    """A decimal as an officer reads it: no exponent."""
    return format(amount, "f")


def product(price: Decimal, qty: Decimal) -> Decimal:
    """price × qty, exact."""
    with localcontext(_WIDE):
        return price * qty


def amounts_agree(declared: Decimal, computed: Decimal, tolerance: Decimal = Decimal(0)) -> bool:
    """Whether a declared amount matches a computed one.

    With tolerance 0 the declared value must equal the computed one at the N19,5 precision the
    message can carry (the computed value rounded half-up to 5 places). A tolerance of 0.05
    allows a deviation of 5% of the computed value (the practitioner tolerance of §2.2).
    """
    with localcontext(_WIDE):
        rounded = computed.quantize(_PLACES, rounding=ROUND_HALF_UP)
        return abs(declared - rounded) <= tolerance * abs(computed)


def actural_paid_expected(head: Fields) -> Decimal | None:
    """goodsValue + freight + taxTotal − discount of an OrderHead, or None if any is unusable."""
    parts = [parse_decimal(head.get(name)) for name in ("goodsValue", "freight", "taxTotal")]
    discount = parse_decimal(head.get("discount"))
    if discount is None or any(part is None for part in parts):
        return None
    with localcontext(_WIDE):
        return sum((part for part in parts if part is not None), Decimal(0)) - discount


def line_sum(lines: Sequence[Fields]) -> Decimal | None:
    """Σ totalPrice of the lines, or None if any line's totalPrice is unusable."""
    amounts = [parse_decimal(line.get("totalPrice")) for line in lines]
    if any(amount is None for amount in amounts):
        return None
    with localcontext(_WIDE):
        return sum((amount for amount in amounts if amount is not None), Decimal(0))


def resident_id_problem(number: str) -> tuple[str, str] | None:
    """(rule, problem) if `number` is not a valid GB 11643 resident ID number, else None."""
    if not re.fullmatch(r"\d{17}[0-9X]", number):
        return "resident-id-format", "is not 17 digits followed by a check character 0-9 or X"
    if _real_date(number[6:14]) is None:
        return "resident-id-birth-date", f"has no real birth date in digits 7-14 ({number[6:14]})"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    check = "10X98765432"[sum(int(d) * w for d, w in zip(number, weights, strict=False)) % 11]
    if number[17] != check:
        return "resident-id-checksum", "fails the GB 11643 mod 11-2 check character"
    return None


def parse_timestamp(value: str) -> datetime | None:
    """A YYYYMMDDhhmmss time that is a real date and time (China time, UTC+8), else None."""
    if not _DIGITS_14.fullmatch(value):
        return None
    try:
        return datetime(
            int(value[0:4]),
            int(value[4:6]),
            int(value[6:8]),
            int(value[8:10]),
            int(value[10:12]),
            int(value[12:14]),
            tzinfo=CHINA_TIME,
        )
    except ValueError:
        return None


def _real_date(value: str) -> date | None:
    if not _DIGITS_8.fullmatch(value):
        return None
    try:
        return date(int(value[0:4]), int(value[4:6]), int(value[6:8]))
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class TradeModeProblem:
    """A trade-mode condition (§1.5 rule 2) that an inventory does not meet."""

    rule: str  # a RULES id
    element: str  # "InventoryHead" or "InventoryList[n]"
    field: str
    value: str | None  # as sent, None when absent
    problem: str


def trade_mode_problems(head: Fields, lines: Sequence[Fields]) -> list[TradeModeProblem]:
    """The conditional fields of tradeMode 1210 (bonded) and 9610 (direct purchase)."""
    mode = head.get("tradeMode")
    found: list[TradeModeProblem] = []
    if mode == BONDED:
        for name in BONDED_HEAD_FIELDS:
            if _blank(head.get(name)):
                found.append(
                    TradeModeProblem(
                        "trade-mode-1210-required",
                        "InventoryHead",
                        name,
                        head.get(name),
                        "is required when tradeMode is 1210 (bonded import)",
                    )
                )
        for position, line in enumerate(lines, start=1):
            if _blank(line.get("itemRecordNo")):
                found.append(
                    TradeModeProblem(
                        "trade-mode-1210-required",
                        f"InventoryList[{position}]",
                        "itemRecordNo",
                        line.get("itemRecordNo"),
                        "is required on every line when tradeMode is 1210 (bonded import)",
                    )
                )
        if "country" in head and head["country"] != CHINA:
            found.append(
                TradeModeProblem(
                    "trade-mode-1210-country",
                    "InventoryHead",
                    "country",
                    head.get("country"),
                    "must be 142 (China) when tradeMode is 1210 (bonded import)",
                )
            )
        for name in DIRECT_HEAD_FIELDS:
            if not _blank(head.get(name)):
                found.append(
                    TradeModeProblem(
                        "trade-mode-1210-omitted",
                        "InventoryHead",
                        name,
                        head.get(name),
                        "must be omitted when tradeMode is 1210 (bonded import)",
                    )
                )
    elif mode == DIRECT:
        for name in DIRECT_HEAD_FIELDS:
            if _blank(head.get(name)):
                found.append(
                    TradeModeProblem(
                        "trade-mode-9610-required",
                        "InventoryHead",
                        name,
                        head.get(name),
                        "is required when tradeMode is 9610 (direct purchase import)",
                    )
                )
    return found


# --- the four checks ------------------------------------------------------------------------


def check_order(
    head: Fields, lines: Sequence[Fields], *, amount_tolerance: Decimal = Decimal(0)
) -> list[FieldError]:
    """CEB311 OrderHead + OrderList: field rules, X1 line totals, X2 goodsValue, X3 acturalPaid.

    `amount_tolerance` is the relative deviation allowed on the computed amounts (0 = exact at
    N19,5; the dossier's 5% is a low-confidence practitioner figure, see §2.2).
    """
    errors = _check(_ORDER_HEAD, head)
    errors += _identity(_ORDER_HEAD.element, head, "buyerIdType", "buyerIdNumber")
    for position, line in enumerate(lines, start=1):
        errors += _check(_ORDER_LINE, line, position)
        errors += _line_total(f"OrderList[{position}]", line, amount_tolerance)
    errors += _gnum_sequence("OrderList", lines)

    total = line_sum(lines)
    goods_value = parse_decimal(head.get("goodsValue"))
    if (
        total is not None
        and goods_value is not None
        and lines
        and not amounts_agree(goods_value, total, amount_tolerance)
    ):
        errors.append(
            _error(
                "OrderHead",
                "goodsValue",
                "goods-value-total",
                f"is {head['goodsValue']} but the OrderList totalPrice sum to {plain(total)}",
                head["goodsValue"],
            )
        )
    expected = actural_paid_expected(head)
    paid = parse_decimal(head.get("acturalPaid"))
    if (
        expected is not None
        and paid is not None
        and not amounts_agree(paid, expected, amount_tolerance)
    ):
        errors.append(
            _error(
                "OrderHead",
                "acturalPaid",
                "actural-paid-formula",
                f"is {head['acturalPaid']} but goodsValue + freight + taxTotal − discount = "
                f"{head['goodsValue']} + {head['freight']} + {head['taxTotal']} − "
                f"{head['discount']} = {plain(expected)}",
                head["acturalPaid"],
            )
        )
    return errors


def check_payment(head: Fields) -> list[FieldError]:
    """CEB411 PaymentHead: codes, times, amountPaid, the payer's resident ID."""
    errors = _check(_PAYMENT_HEAD, head)
    errors += _identity(_PAYMENT_HEAD.element, head, "payerIdType", "payerIdNumber")
    return errors


def check_waybill(head: Fields) -> list[FieldError]:
    """CEB511 LogisticsHead: codes, times, freight and insuredFee, weight, packNo = 1."""
    return _check(_WAYBILL_HEAD, head)


def check_inventory(
    head: Fields, lines: Sequence[Fields], *, amount_tolerance: Decimal = Decimal(0)
) -> list[FieldError]:
    """CEB621 InventoryHead + InventoryList: codes, dates, trade-mode conditions, gnum, totals."""
    errors = _check(_INVENTORY_HEAD, head)
    errors += _identity(_INVENTORY_HEAD.element, head, "buyerIdType", "buyerIdNumber")
    for problem in trade_mode_problems(head, lines):
        errors.append(
            _error(problem.element, problem.field, problem.rule, problem.problem, problem.value)
        )
    for position, line in enumerate(lines, start=1):
        errors += _check(_INVENTORY_LINE, line, position)
        errors += _line_total(f"InventoryList[{position}]", line, amount_tolerance)
        bar_code = line.get("barCode")
        if bar_code is not None and not bar_code.strip():
            errors.append(
                _error(
                    f"InventoryList[{position}]",
                    "barCode",
                    "bar-code-none",
                    "is blank; write 无 when the goods have no barcode",
                    bar_code,
                )
            )
    errors += _gnum_sequence("InventoryList", lines)
    return errors


# What the four checks look at field by field, by message type: the head's and the lines' specs.
_FIELD_SPECS: dict[str, tuple[_Spec, _Spec | None]] = {
    "CEB311Message": (_ORDER_HEAD, _ORDER_LINE),
    "CEB411Message": (_PAYMENT_HEAD, None),
    "CEB511Message": (_WAYBILL_HEAD, None),
    "CEB621Message": (_INVENTORY_HEAD, _INVENTORY_LINE),
}


def checks_fields_of(message_type: str) -> bool:
    """Whether `field_errors` (and one of the four checks) applies to this message type."""
    return message_type in _FIELD_SPECS


def field_errors(message_type: str, head: Fields, lines: Sequence[Fields]) -> list[FieldError]:
    """The errors of the four checks that look at one field at a time (codes, times, dates,
    numbers, gnum numbering), in the order they report them, without the rules that relate
    fields (resident ID, trade-mode conditions, line and head arithmetic, barcode): what a
    submission is refused for at once costs less to find this way."""
    head_spec, line_spec = _FIELD_SPECS[message_type]
    errors = _check(head_spec, head)
    if line_spec is not None:
        for position, line in enumerate(lines, start=1):
            errors += _check(line_spec, line, position)
        errors += _gnum_sequence(line_spec.element, lines)
    return errors


# --- internals ------------------------------------------------------------------------------


def _blank(value: str | None) -> bool:
    return value is None or not value.strip()


def _error(element: str, name: str, rule: str, problem: str, value: str | None) -> FieldError:
    path = f"{element}/{name}"
    return FieldError(
        path=path,
        rule=rule,
        message=f"{path} {problem} [{rule}: {RULES[rule]}]",
        value=None if value is None else shown(name, value),
    )


def _quoted(name: str, value: str) -> str:
    return f"'{shown(name, value)}'"


def _check(spec: _Spec, values: Fields, position: int | None = None) -> list[FieldError]:
    element = spec.element if position is None else f"{spec.element}[{position}]"
    errors: list[FieldError] = []
    for name, code in spec.codes.items():
        value = values.get(name)
        if value is not None and value not in code.known and not code.accepts(value):
            errors.append(
                _error(
                    element,
                    name,
                    code.rule,
                    f"is {_quoted(name, value)} but must be {code.expected}",
                    value,
                )
            )
    for name in spec.timestamps:
        value = values.get(name)
        if value is not None and parse_timestamp(value) is None:
            errors.append(
                _error(
                    element,
                    name,
                    "timestamp-format",
                    f"is {_quoted(name, value)}, not a real YYYYMMDDhhmmss time",
                    value,
                )
            )
    for name in spec.dates:
        value = values.get(name)
        if value is not None and _real_date(value) is None:
            errors.append(
                _error(
                    element,
                    name,
                    "date-format",
                    f"is {_quoted(name, value)}, not a real YYYYMMDD date",
                    value,
                )
            )
    money = spec.money
    for name in spec.amounts:
        value = values.get(name)
        if value is None:
            continue
        # plain figures meet every decimal rule at sight: told here, not in a call a field
        # (about twenty-five a declaration); a money amount only has to be non-negative, a
        # quantity above 0: a non-zero digit
        if _plain_amount(value) and (name in money or value.strip("0.")):
            continue
        errors += _decimal_exact(element, name, value, money=name in money)
    if spec.pack_no and "packNo" in values:
        value = values["packNo"]
        count = parse_int(value)
        if count is None:
            errors.append(
                _error(
                    element,
                    "packNo",
                    "integer-format",
                    f"is {_quoted('packNo', value)}, not an integer",
                    value,
                )
            )
        elif count != 1:
            errors.append(
                _error(element, "packNo", "pack-no", f"is {value} but must be 1 on imports", value)
            )
    return errors


# Plain figures that meet every decimal rule at sight: no sign, at most 14 + 5 digits (N19,5).
_plain_amount = re.compile(r"[0-9]{1,14}(\.[0-9]{0,5})?").fullmatch


def _decimal_exact(element: str, name: str, value: str, *, money: bool) -> list[FieldError]:
    amount = parse_decimal(value)
    if amount is None:
        return [
            _error(
                element, name, "decimal-format", f"is {_quoted(name, value)}, not a number", value
            )
        ]
    total, fraction = digits(amount)
    if total > 19 or fraction > 5:
        return [
            _error(
                element,
                name,
                "decimal-format",
                f"is {value}: {total} digits with {fraction} after the point (at most 19 and 5)",
                value,
            )
        ]
    if money and amount < 0:
        return [
            _error(element, name, "non-negative-amount", f"is {value}, a negative amount", value)
        ]
    if not money and amount <= 0:
        return [
            _error(element, name, "positive-quantity", f"is {value}; it must be above 0", value)
        ]
    return []


def _identity(element: str, head: Fields, type_field: str, number_field: str) -> list[FieldError]:
    number = head.get(number_field)
    if head.get(type_field) != "1" or number is None:
        return []
    problem = resident_id_problem(number)
    if problem is None:
        return []
    rule, text = problem
    return [_error(element, number_field, rule, f"{text} ({type_field} is 1)", number)]


def _gnum_sequence(element: str, lines: Sequence[Fields]) -> list[FieldError]:
    errors: list[FieldError] = []
    for position, line in enumerate(lines, start=1):
        value = line.get("gnum")
        if value is None:
            continue
        number = parse_int(value)
        if number is None:
            errors.append(
                _error(
                    f"{element}[{position}]",
                    "gnum",
                    "integer-format",
                    f"is {_quoted('gnum', value)}, not an integer",
                    value,
                )
            )
        elif number != position:
            errors.append(
                _error(
                    f"{element}[{position}]",
                    "gnum",
                    "gnum-sequence",
                    f"is {value} but line {position} must have gnum {position} "
                    "(lines are numbered 1..n in order without gaps)",
                    value,
                )
            )
    return errors


def _line_total(element: str, line: Fields, tolerance: Decimal) -> list[FieldError]:
    price = parse_decimal(line.get("price"))
    qty = parse_decimal(line.get("qty"))
    total = parse_decimal(line.get("totalPrice"))
    if price is None or qty is None or total is None:
        return []
    expected = product(price, qty)
    if amounts_agree(total, expected, tolerance):
        return []
    return [
        _error(
            element,
            "totalPrice",
            "line-total",
            f"is {line['totalPrice']} but price × qty = {line['price']} × {line['qty']} = "
            f"{plain(expected)}",
            line["totalPrice"],
        )
    ]
