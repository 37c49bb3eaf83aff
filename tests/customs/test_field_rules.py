"""Layer 3 field rules (dossier §1.3-§1.5, §c.1), one row per rule: a good value passes, a bad
value fails with that rule at that path."""

from __future__ import annotations

import re
from decimal import Decimal, localcontext

import pytest

from customs.domain import field_rules
from customs.domain.field_rules import (
    RULES,
    check_inventory,
    check_order,
    check_payment,
    check_waybill,
    digits,
    parse_decimal,
)
from customs.domain.personal import mask
from tests.customs import builders
from tests.customs.builders import with_head, with_line

DIRECT_PURCHASE = {  # a 9610 inventory: departure country, transport, no bonded fields
    "tradeMode": "9610",
    "country": "116",
    "emsNo": None,
    "areaCode": None,
    "areaName": None,
    "trafMode": "5",
    "trafNo": "CA1234",
    "voyageNo": "CA1234/20240901",
    "billNo": "999-12345678",
}


def errors(kind: str, *, line: dict[str, str | None] | None = None, **head: str | None):
    """The field errors of the §c.3 document of `kind` with head fields and line 1 changed."""
    doc = with_head(getattr(builders, kind)(), **head)
    if line is not None:
        doc = with_line(doc, 1, **line)
    if kind == "order":
        return check_order(doc.head, doc.lines)
    if kind == "payment":
        return check_payment(doc.head)
    if kind == "waybill":
        return check_waybill(doc.head)
    return check_inventory(doc.head, doc.lines)


def case(rule, kind, path, good, bad, *, name):
    """A row: `good` / `bad` are head overrides, with an optional "line" entry for line 1."""
    return pytest.param(rule, kind, path, good, bad, id=f"{rule}: {name}")


# fmt: off
FIELD_CASES = [
    case("guid-format", "order", "OrderHead/guid",
         {"guid": "5923DGGB-1A2B-3C4D-5E6F-7A8B9C0D1E2F"},
         {"guid": "4cde1cfd-eded-46b1-946c-b8022e42fc94"}, name="a lower-case guid"),
    case("guid-format", "waybill", "LogisticsHead/guid",
         {"guid": "4CDE1CFD-EDED-46B1-946C-B8022E42FC94"},
         {"guid": "4CDE1CFD-EDED-46B1-946C-B8022E42FC9"}, name="a 35-char guid"),
    case("app-type", "order", "OrderHead/appType", {"appType": "3"}, {"appType": "4"},
         name="appType 4"),
    case("app-status", "payment", "PaymentHead/appStatus", {"appStatus": "1"},
         {"appStatus": "3"}, name="appStatus 3"),
    case("timestamp-format", "order", "OrderHead/appTime", {"appTime": "20240229235959"},
         {"appTime": "20230229101000"}, name="29 February of a common year"),
    case("timestamp-format", "payment", "PaymentHead/payTime", {"payTime": "20240930235959"},
         {"payTime": "2024093010150"}, name="a 13-digit time"),
    case("timestamp-format", "inventory", "InventoryHead/appTime",
         {"appTime": "20240901000000"}, {"appTime": "20240901240000"}, name="hour 24"),
    case("date-format", "inventory", "InventoryHead/declTime", {"declTime": "20240229"},
         {"declTime": "20240230"}, name="30 February"),
    case("date-format", "inventory", "InventoryHead/ieDate", {"ieDate": "20240902"},
         {"ieDate": "2024-09-02"}, name="an ISO date in ieDate"),
    case("order-type", "order", "OrderHead/orderType", {"orderType": "I"}, {"orderType": "E"},
         name="an export order type on an import order"),
    case("ie-flag", "inventory", "InventoryHead/ieFlag", {"ieFlag": "I"}, {"ieFlag": "E"},
         name="an export flag on an import inventory"),
    case("import-currency", "order", "OrderHead/currency", {"currency": "142"},
         {"currency": "840"}, name="US dollars on an order"),
    case("import-currency", "order", "OrderList[1]/currency", {"line": {"currency": "142"}},
         {"line": {"currency": "CNY"}}, name="a letter code on an order line"),
    case("import-currency", "payment", "PaymentHead/currency", {}, {"currency": "344"},
         name="HK dollars on a payment"),
    case("import-currency", "waybill", "LogisticsHead/currency", {}, {"currency": "840"},
         name="US dollars on a waybill"),
    case("import-currency", "inventory", "InventoryList[1]/currency", {},
         {"line": {"currency": "392"}}, name="yen on an inventory line"),
    case("id-type", "order", "OrderHead/buyerIdType", {"buyerIdType": "1"},
         {"buyerIdType": "2"}, name="a buyer ID that is not a resident ID card"),
    case("id-type", "payment", "PaymentHead/payerIdType", {"payerIdType": "1"},
         {"payerIdType": "2"}, name="a payer ID that is not a resident ID card"),
    case("resident-id-format", "order", "OrderHead/buyerIdNumber",
         {"buyerIdNumber": "11010519491231002X"}, {"buyerIdNumber": "33010619900101123x"},
         name="a lower-case check character"),
    case("resident-id-format", "inventory", "InventoryHead/buyerIdNumber",
         {"buyerIdNumber": "440524188001010014"}, {"buyerIdNumber": "33010619900101123"},
         name="17 characters"),
    case("resident-id-birth-date", "order", "OrderHead/buyerIdNumber", {},
         {"buyerIdNumber": "33010619900230123X"}, name="born on 30 February"),
    case("resident-id-checksum", "order", "OrderHead/buyerIdNumber", {},
         {"buyerIdNumber": "330106199001011234"}, name="the c.3 fixture buyer ID as printed"),
    case("resident-id-checksum", "payment", "PaymentHead/payerIdNumber", {},
         {"payerIdNumber": "330106199001011235"}, name="a payer ID with a wrong check digit"),
    case("trade-mode", "inventory", "InventoryHead/tradeMode", {**DIRECT_PURCHASE},
         {"tradeMode": "0110"}, name="general trade"),
    case("trade-mode-1210-required", "inventory", "InventoryHead/emsNo", {},
         {"emsNo": None}, name="a bonded inventory without emsNo"),
    case("trade-mode-1210-required", "inventory", "InventoryHead/areaName", {},
         {"areaName": " "}, name="a bonded inventory with a blank areaName"),
    case("trade-mode-1210-required", "inventory", "InventoryList[1]/itemRecordNo", {},
         {"line": {"itemRecordNo": None}}, name="a bonded line without itemRecordNo"),
    case("trade-mode-1210-country", "inventory", "InventoryHead/country", {},
         {"country": "116"}, name="a bonded inventory departing from Japan"),
    case("trade-mode-1210-omitted", "inventory", "InventoryHead/trafNo", {},
         {"trafNo": "CA1234"}, name="a bonded inventory with a flight"),
    case("trade-mode-9610-required", "inventory", "InventoryHead/billNo", {**DIRECT_PURCHASE},
         {**DIRECT_PURCHASE, "billNo": None}, name="a direct-purchase inventory without billNo"),
    case("gcode-format", "inventory", "InventoryList[1]/gcode",
         {"line": {"gcode": "0402100000"}}, {"line": {"gcode": "19011010"}},
         name="an 8-digit gcode"),
    case("unit-code", "order", "OrderList[1]/unit", {"line": {"unit": "007"}},
         {"line": {"unit": "7"}}, name="a 1-digit unit"),
    case("unit-code", "inventory", "InventoryList[1]/unit1", {"line": {"unit1": "035"}},
         {"line": {"unit1": "kg"}}, name="a unit name instead of a code"),
    case("country-code", "order", "OrderList[1]/country", {"line": {"country": "142"}},
         {"line": {"country": "JP"}}, name="a 2-letter country"),
    case("country-code", "inventory", "InventoryList[1]/tradeCountry",
         {"line": {"tradeCountry": "116"}}, {"line": {"tradeCountry": "1160"}},
         name="a 4-digit trade country"),
    case("customs-code", "inventory", "InventoryHead/customsCode", {"customsCode": "2992"},
         {"customsCode": "299"}, name="a 3-digit customs district"),
    case("customs-code", "inventory", "InventoryHead/portCode", {"portCode": "2992"},
         {"portCode": "A991"}, name="a letter in the port code"),
    case("district-code", "order", "OrderHead/consigneeDistrict",
         {"consigneeDistrict": "110105"}, {"consigneeDistrict": "33010"},
         name="a 5-digit district"),
    case("enterprise-code", "order", "OrderHead/ebpCode", {"ebpCode": "91330100MA2B3C4D5E"},
         {"ebpCode": "330196000"}, name="a 9-char platform code"),
    case("enterprise-code", "payment", "PaymentHead/payCode", {}, {"payCode": "pay01"},
         name="a lower-case payment enterprise code"),
    case("enterprise-code", "waybill", "LogisticsHead/logisticsCode", {},
         {"logisticsCode": "33019800021"}, name="an 11-char carrier code"),
    case("enterprise-code", "inventory", "InventoryHead/agentCode", {},
         {"agentCode": "AGENT"}, name="a 5-char agent code"),
    case("pre-no-format", "inventory", "InventoryHead/preNo", {"preNo": "B20160512000001882"},
         {"preNo": "C20160512000001882"}, name="a pre-entry number not starting with B"),
    case("invt-no-format", "inventory", "InventoryHead/invtNo", {"invtNo": "29912024I000000001"},
         {"invtNo": "2991-2024-I-1"}, name="an inventory number with dashes"),
    case("decimal-format", "payment", "PaymentHead/amountPaid", {"amountPaid": "224.110000"},
         {"amountPaid": "224.111111"}, name="six decimals"),
    case("decimal-format", "payment", "PaymentHead/amountPaid", {"amountPaid": " 224.11 "},
         {"amountPaid": "2.2411E2"}, name="an exponent"),
    case("decimal-format", "waybill", "LogisticsHead/freight",
         {"freight": "12345678901234.12345"}, {"freight": "123456789012345.12345"},
         name="twenty digits"),
    case("non-negative-amount", "payment", "PaymentHead/amountPaid", {"amountPaid": "0"},
         {"amountPaid": "-224.11"}, name="a negative payment"),
    case("non-negative-amount", "waybill", "LogisticsHead/insuredFee", {"insuredFee": "0.00"},
         {"insuredFee": "-1"}, name="a negative insurance fee"),
    case("positive-quantity", "waybill", "LogisticsHead/weight", {"weight": "0.001"},
         {"weight": "0"}, name="a parcel weighing nothing"),
    case("positive-quantity", "inventory", "InventoryList[1]/qty1", {"line": {"qty1": "1.6"}},
         {"line": {"qty1": "-1.6"}}, name="a negative statutory quantity"),
    case("integer-format", "waybill", "LogisticsHead/packNo", {"packNo": " 1 "},
         {"packNo": "one"}, name="a packNo in words"),
    case("integer-format", "order", "OrderList[1]/gnum", {"line": {"gnum": "1"}},
         {"line": {"gnum": "1.0"}}, name="a decimal gnum"),
    case("pack-no", "inventory", "InventoryHead/packNo", {"packNo": "1"}, {"packNo": "2"},
         name="two packages on an import inventory"),
    case("gnum-sequence", "order", "OrderList[1]/gnum", {}, {"line": {"gnum": "2"}},
         name="an order starting at line 2"),
    case("gnum-sequence", "inventory", "InventoryList[1]/gnum", {}, {"line": {"gnum": "0"}},
         name="an inventory starting at line 0"),
    case("line-total", "order", "OrderList[1]/totalPrice", {"line": {"price": "100"}},
         {"line": {"price": "90.00"}}, name="an order line whose total is not price x qty"),
    case("line-total", "inventory", "InventoryList[1]/totalPrice",
         {"line": {"qty": "2.000", "price": "100.00000"}}, {"line": {"qty": "3"}},
         name="an inventory line whose total is not price x qty"),
    case("goods-value-total", "order", "OrderHead/goodsValue", {},
         {"line": {"price": "95.00", "totalPrice": "190.00"}},
         name="a goods value that is not the sum of the lines"),
    case("actural-paid-formula", "order", "OrderHead/acturalPaid",
         {"discount": "6.00", "acturalPaid": "223.11"}, {"discount": "6.00"},
         name="an actual payment that ignores a changed discount"),
    case("bar-code-none", "inventory", "InventoryList[1]/barCode", {"line": {"barCode": "无"}},
         {"line": {"barCode": ""}}, name="a blank barcode"),
]
# fmt: on


@pytest.mark.parametrize(("kind",), [("order",), ("payment",), ("waybill",), ("inventory",)])
def test_the_consistent_fixture_document_passes_every_field_rule(kind):
    assert errors(kind) == []


@pytest.mark.parametrize(("rule", "kind", "path", "good", "bad"), FIELD_CASES)
def test_a_good_value_passes_the_rule(rule, kind, path, good, bad):
    assert errors(kind, **good) == []


@pytest.mark.parametrize(("rule", "kind", "path", "good", "bad"), FIELD_CASES)
def test_a_bad_value_fails_with_the_rule_at_its_path(rule, kind, path, good, bad):
    found = errors(kind, **bad)
    assert (path, rule) in {(e.path, e.rule) for e in found}, found
    assert {e.path for e in found} == {path}, found
    error = next(e for e in found if e.rule == rule)
    assert path in error.message
    assert rule in error.message


def test_every_rule_has_a_row_in_the_table():
    assert {row.values[0] for row in FIELD_CASES} == set(RULES)


def test_a_bad_resident_id_is_masked_in_the_error():
    (error,) = errors("order", buyerIdNumber="330106199001011234")
    assert error.value == mask("330106199001011234")
    assert "330106199001011234" not in error.message
    assert "GB 11643" in error.message


def test_an_error_names_the_value_the_field_and_the_rule():
    (error,) = errors("order", currency="840")
    assert error.path == "OrderHead/currency"
    assert error.value == "840"
    assert error.message.startswith("OrderHead/currency is '840' but must be 142 (CNY)")


def test_an_absent_optional_field_is_not_checked():
    assert errors("order", consigneeDistrict=None, payCode=None) == []
    assert errors("waybill", freight=None, insuredFee=None) == []


def test_a_gap_in_the_line_numbers_is_reported_on_the_line_after_it():
    order = builders.order(
        lines=[builders.order_line(), builders.order_line(gnum="3")],
        goodsValue="400.00",
        acturalPaid="424.11",
    )
    found = check_order(order.head, order.lines)
    assert [(e.path, e.rule) for e in found] == [("OrderList[2]/gnum", "gnum-sequence")]


def test_a_gift_line_at_price_zero_is_consistent():
    gift = builders.order_line(gnum="2", itemName="赠品勺子", price="0", totalPrice="0.00")
    order = builders.order(lines=[builders.order_line(), gift])
    assert check_order(order.head, order.lines) == []


def test_the_line_total_is_exact_unless_a_tolerance_is_given():
    order = with_line(builders.order(), 1, totalPrice="204.00")  # 2 × 100.00 declared 2% high
    exact = check_order(order.head, order.lines)
    assert ("OrderList[1]/totalPrice", "line-total") in {(e.path, e.rule) for e in exact}
    assert check_order(order.head, order.lines, amount_tolerance=Decimal("0.05")) == []


@pytest.mark.parametrize(("declared", "passes"), [("0.99999", True), ("1.00000", False)])
def test_a_product_beyond_five_decimals_is_rounded_half_up_to_five(declared, passes):
    order = with_line(builders.order(), 1, price="0.333331", qty="3", totalPrice=declared)
    rules = {e.rule for e in check_order(order.head, order.lines)}
    assert ("line-total" not in rules) is passes


@pytest.mark.parametrize(
    ("text", "total", "fraction"),
    [
        ("224.11", 5, 2),
        ("0.00001", 1, 5),
        ("10.01", 4, 2),
        ("100", 3, 0),
        ("1.500000", 2, 1),
        ("007.10", 2, 1),
    ],
)
def test_digits_are_counted_in_the_xsd_value_space(text, total, fraction):
    amount = parse_decimal(text)
    assert amount is not None
    assert digits(amount) == (total, fraction)


@pytest.mark.parametrize("text", ["", "1e3", "1,5", "NaN", "--1", "."])
def test_a_non_decimal_does_not_parse(text):
    assert parse_decimal(text) is None


def test_a_remembered_amount_is_the_exact_value_of_its_text_whatever_the_context():
    """parse_decimal remembers what it parsed (amounts recur): what it returns must not depend
    on the decimal context of the call that parsed a text first."""
    text = "1234567.12345"
    parse_decimal.cache_clear()
    with localcontext() as context:
        context.prec = 3
        first = parse_decimal(text)
    again = parse_decimal(text)
    assert first == again == Decimal(text) and str(again) == text
    assert parse_decimal.cache_info().hits >= 1
    assert parse_decimal(" 2.50 ") == Decimal("2.50") and parse_decimal("x") is None


def test_a_code_remembers_the_values_it_accepted_and_never_a_refused_one():
    code = field_rules._Code("country-code", re.compile(r"\d{3}"), "a 3-digit code")
    assert code.accepts("142") and "142" in code.known
    assert not code.accepts("14A") and "14A" not in code.known
    # a remembered value is not matched again, and what is refused stays refused
    good = builders.order()
    assert not check_order(good.head, good.lines)
    assert not check_order(good.head, good.lines)  # its values remembered now
    bad = with_head(good, currency="14A")
    errors = check_order(bad.head, bad.lines)
    assert [e.rule for e in errors if e.path.endswith("/currency")] == ["import-currency"]
    assert check_order(bad.head, bad.lines) == errors


def test_what_a_code_remembers_is_bounded(monkeypatch):
    monkeypatch.setattr(field_rules, "_KNOWN_VALUES", 3)
    code = field_rules._Code("country-code", re.compile(r"\d{3}"), "a 3-digit code")
    assert all(code.accepts(value) for value in ("101", "102", "103", "104"))
    assert code.known == {"101", "102", "103"}
