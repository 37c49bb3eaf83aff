"""Layer 4: the four-document match (dossier §2) and the business rules X1-X20 (§c.2)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest

from customs.domain.matching import (
    ABSENT,
    PRACTITIONER_TOLERANCE,
    Doc,
    MatchFacts,
    MatchSettings,
    Mismatch,
    PriorUse,
    SignatureFacts,
    check_cancel,
    check_export_inventory,
    check_receipt,
    check_refund,
    check_split_messages,
    check_summary_apply,
    join_keys,
    match_declaration,
    sibling_keys,
)
from customs.domain.personal import mask
from tests.customs.builders import (
    BUYER_ID,
    BUYER_PHONE,
    EBC_CODE,
    INVT_NO,
    LOGISTICS_NO,
    ORDER_NO,
    DeclarationSet,
    cancel,
    declaration_set,
    export_inventory_head,
    inventory,
    refund,
    summary_apply_head,
    with_head,
    with_line,
)

CONSISTENT = declaration_set()
NINE_SIX_TEN = {  # a direct-purchase (9610) inventory: departure country, flight, master bill
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
SIGNED = SignatureFacts(present=True, verified=True, signer_code=EBC_CODE, cop_code=EBC_CODE)
RELEASED_INVENTORY = with_head(CONSISTENT.inventory, invtNo=INVT_NO)


def match(
    declaration: DeclarationSet = CONSISTENT,
    *,
    settings: MatchSettings | None = None,
    facts: MatchFacts | None = None,
) -> tuple[Mismatch, ...]:
    result = match_declaration(
        *declaration.documents(),
        settings=settings or MatchSettings(),
        facts=facts or MatchFacts(),
    )
    return result.mismatches


def with_order(**head: str | None) -> DeclarationSet:
    return CONSISTENT.but(order=with_head(CONSISTENT.order, **head))


def with_order_line(**line: str | None) -> DeclarationSet:
    return CONSISTENT.but(order=with_line(CONSISTENT.order, 1, **line))


def with_inventory(**head: str | None) -> DeclarationSet:
    return CONSISTENT.but(inventory=with_head(CONSISTENT.inventory, **head))


@dataclass(frozen=True)
class RuleCase:
    """The consistent variant passes; the negative one yields this rule's mismatch only."""

    rule: str
    good: Callable[[], tuple[Mismatch, ...]]
    bad: Callable[[], tuple[Mismatch, ...]]
    field: str
    left_value: str
    right_value: str


def row(rule, summary, good, bad, field, left_value, right_value):
    return pytest.param(
        RuleCase(rule, good, bad, field, left_value, right_value), id=f"{rule} {summary}"
    )


RULE_CASES = [
    row(
        "X1",
        "order line total is price x qty",
        match,
        lambda: match(with_order_line(price="90.00")),
        "totalPrice",
        "200.00",
        "180.00",
    ),
    row(
        "X2",
        "goodsValue is the sum of the order lines",
        lambda: match(with_order_line(price="100", totalPrice="200")),
        lambda: match(with_order_line(price="95.00", totalPrice="190.00")),
        "goodsValue",
        "200.00",
        "190.00",
    ),
    row(
        "X3",
        "acturalPaid is goodsValue + freight + taxTotal - discount",
        lambda: match(declaration_set(discount="6.00")),
        lambda: match(with_order(discount="6.00")),
        "acturalPaid",
        "224.11",
        "223.11",
    ),
    row(
        "X4",
        "the order's acturalPaid is the payment's amountPaid",
        lambda: match(CONSISTENT.but(payment=with_head(CONSISTENT.payment, amountPaid="224.110"))),
        lambda: match(declaration_set(payment={"amountPaid": "224.00"})),
        "acturalPaid",
        "224.11",
        "224.00",
    ),
    row(
        "X5",
        "the order's consignee is the waybill's",
        match,
        lambda: match(declaration_set(waybill={"consigneeTelephone": "13900000000"})),
        "consigneeTelephone",
        mask(BUYER_PHONE),
        mask("13900000000"),
    ),
    row(
        "X6",
        "the four documents join on the keys of section 2.1",
        lambda: match(
            facts=MatchFacts(
                found={"CEB311": 1, "CEB411": 1, "CEB511": 1},
                counterpart_status={"CEB311": 120, "CEB411": 120, "CEB511": 120},
            )
        ),
        lambda: match(declaration_set(waybill={"orderNo": "ORD20240901000002"})),
        "orderNo",
        "ORD20240901000002",
        ORDER_NO,
    ),
    row(
        "X7",
        "inventory lines map one to one to the order lines with the same goods name",
        match,
        lambda: match(CONSISTENT.but(inventory=with_line(CONSISTENT.inventory, 1, gname="奶瓶"))),
        "gname",
        "奶瓶",
        "婴儿奶粉",
    ),
    row(
        "X8",
        "the declared buyer is the order's buyer",
        lambda: match(facts=MatchFacts(identity_verified=True)),
        lambda: match(with_inventory(buyerTelephone="13900000000")),
        "buyerTelephone",
        mask("13900000000"),
        mask(BUYER_PHONE),
    ),
    row(
        "X9",
        "a bonded inventory carries emsNo, areaCode, areaName and itemRecordNo",
        match,
        lambda: match(with_inventory(emsNo=None)),
        "emsNo",
        "1210",
        ABSENT,
    ),
    row(
        "X10",
        "a direct-purchase inventory carries trafNo, voyageNo and billNo",
        lambda: match(with_inventory(**NINE_SIX_TEN)),
        lambda: match(with_inventory(**{**NINE_SIX_TEN, "billNo": None})),
        "billNo",
        "9610",
        ABSENT,
    ),
    row(
        "X11",
        "an order of several items stays within the 5000 single limit",
        lambda: match(declaration_set(items=[{"qty": "1", "price": "2495.00"}] * 2)),
        lambda: match(
            declaration_set(
                items=[{"qty": "1", "price": "2495.00"}, {"qty": "1", "price": "2495.01"}]
            )
        ),
        "goodsValue",
        "5000.01",
        "5000",
    ),
    row(
        "X12",
        "the buyer's annual total stays within the 26000 annual limit",
        lambda: match(facts=MatchFacts(annual_used=Decimal("25790.00"))),
        lambda: match(facts=MatchFacts(annual_used=Decimal("25900.00"))),
        "buyerIdNumber",
        "26110.00",
        "26000",
    ),
    row(
        "X13",
        "a declared document carries a signature that verifies, by its own enterprise",
        lambda: match(facts=MatchFacts(signatures={"CEB621": SIGNED, "CEB311": SIGNED})),
        lambda: match(
            facts=MatchFacts(
                signatures={
                    "CEB621": SignatureFacts(
                        present=True, verified=False, signer_code=EBC_CODE, cop_code=EBC_CODE
                    )
                }
            )
        ),
        "ds:Signature",
        "2",
        "does not verify",
    ),
    row(
        "X14",
        "a return names lines of the released inventory within their quantity",
        lambda: check_refund(refund(), RELEASED_INVENTORY, inventory_status=800),
        lambda: check_refund(
            with_line(refund(), 1, qty="3"), RELEASED_INVENTORY, inventory_status=800
        ),
        "qty",
        "3",
        "2",
    ),
    row(
        "X15",
        "a cancellation comes before release",
        lambda: check_cancel(cancel(), RELEASED_INVENTORY, inventory_status=120),
        lambda: check_cancel(cancel(), RELEASED_INVENTORY, inventory_status=800),
        "returnStatus",
        "800",
        "1, 2, 3, 120, 300, 399",
    ),
    row(
        "X16",
        "a carrier does not reuse a waybill number within 6 months",
        lambda: match(
            facts=MatchFacts(waybill_history=(PriorUse("ORD20240101000009", "20240229120000"),))
        ),
        lambda: match(
            facts=MatchFacts(waybill_history=(PriorUse("ORD20240101000009", "20240301120001"),))
        ),
        "logisticsNo",
        LOGISTICS_NO,
        "ORD20240101000009, 20240301120001",
    ),
    row(
        "X17",
        "a simplified export declaration carries no licence",
        lambda: check_export_inventory(export_inventory_head(), rebate_claimed=False),
        lambda: check_export_inventory(export_inventory_head(licenseNo="24-AB-000001")),
        "licenseNo",
        "A",
        "24-AB-000001",
    ),
    row(
        "X18",
        "a summary window has both ends, the end not before the start",
        lambda: check_summary_apply(summary_apply_head()),
        lambda: check_summary_apply(summary_apply_head(endTime=None)),
        "endTime",
        "20240901000000",
        ABSENT,
    ),
    row(
        "X19",
        "split messages are numbered 1..msgCount without gaps",
        lambda: check_split_messages(
            [summary_apply_head(msgCount="3", msgSeqNo=str(n)) for n in (2, 1, 3)],
            message_type="CEB701Message",
        ),
        lambda: check_split_messages(
            [summary_apply_head(msgCount="3", msgSeqNo=str(n)) for n in (1, 3)],
            message_type="CEB701Message",
        ),
        "msgSeqNo",
        "1,3",
        "3",
    ),
    row(
        "X20",
        "a receipt carries only the codes its type allows",
        lambda: check_receipt(
            "CEB312", 120, return_time="20240901101700123", last_return_time="20240901101600000"
        ),
        lambda: check_receipt(
            "CEB312", 800, return_time="20240901101700123", last_return_time=None
        ),
        "returnStatus",
        "800",
        "2, 3, 4, 100, 120, 399, <0",
    ),
]


def test_the_consistent_set_of_the_dossier_matches():
    result = match_declaration(*CONSISTENT.documents())
    assert result.ok
    assert result.mismatches == ()
    assert result.full_tax is False


@pytest.mark.parametrize("case", RULE_CASES)
def test_the_consistent_variant_passes_the_rule(case):
    assert case.good() == ()


@pytest.mark.parametrize("case", RULE_CASES)
def test_the_negative_variant_yields_exactly_that_rules_mismatch(case):
    (mismatch,) = case.bad()
    assert mismatch.rule == case.rule
    assert mismatch.field == case.field
    assert (mismatch.left_value, mismatch.right_value) == (case.left_value, case.right_value)
    assert mismatch.message


def test_every_rule_of_the_dossier_has_a_row():
    assert [p.values[0].rule for p in RULE_CASES] == [f"X{n}" for n in range(1, 21)]


# --- the mismatch reads as a field-level diff -------------------------------------------------


def test_a_payment_mismatch_names_both_documents_and_fields():
    (mismatch,) = match(declaration_set(payment={"amountPaid": "224.00"}))
    assert mismatch.left == "CEB311 OrderHead/acturalPaid"
    assert mismatch.right == "CEB411 PaymentHead/amountPaid"
    assert "224.11" in mismatch.message
    assert "224.00" in mismatch.message


def test_a_mismatch_of_personal_data_shows_only_masked_values():
    (mismatch,) = match(with_inventory(buyerIdNumber="11010519491231002X"))
    assert mismatch.rule == "X8"
    assert (mismatch.left_value, mismatch.right_value) == (
        mask("11010519491231002X"),
        mask(BUYER_ID),
    )
    assert "11010519491231002X" not in mismatch.message
    assert BUYER_ID not in mismatch.message


def test_the_result_is_not_ok_when_a_mismatch_is_an_error():
    result = match_declaration(*declaration_set(payment={"amountPaid": "224.00"}).documents())
    assert not result.ok
    assert result.rules == ("X4",)


# --- amounts and tolerance ------------------------------------------------------------------


def test_amounts_compare_as_numbers_not_as_text():
    assert match(declaration_set(payment={"amountPaid": "224.11000"})) == ()


def test_the_practitioner_tolerance_accepts_a_computed_amount_a_little_off():
    off = with_order_line(totalPrice="204.00")  # 2 × 100.00 declared 2% high: X1 and X2
    assert {m.rule for m in match(off)} == {"X1", "X2"}
    tolerant = MatchSettings(amount_tolerance=PRACTITIONER_TOLERANCE)
    assert match(off, settings=tolerant) == ()


def test_the_payment_must_equal_the_order_even_with_a_tolerance():
    tolerant = MatchSettings(amount_tolerance=PRACTITIONER_TOLERANCE)
    short = declaration_set(payment={"amountPaid": "224.00"})
    assert [m.rule for m in match(short, settings=tolerant)] == ["X4"]


def test_a_tolerance_is_a_fraction_below_one():
    with pytest.raises(ValueError, match="amount_tolerance"):
        MatchSettings(amount_tolerance=Decimal("1.5"))


# --- X6 counterparts ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("found", "kind", "count", "fields"),
    [
        # the order and the waybill are found from the inventory, the payment from the order
        ({"CEB311": 0}, "CEB311", "0", ("inventory", ("orderNo", "ebpCode", "ebcCode"))),
        ({"CEB411": 2}, "CEB411", "2", ("order", ("orderNo", "ebpCode"))),
        ({"CEB511": 0}, "CEB511", "0", ("inventory", ("logisticsCode", "logisticsNo"))),
    ],
)
def test_the_inventory_keys_must_resolve_to_exactly_one_counterpart(found, kind, count, fields):
    docs = declaration_set()
    (mismatch,) = match(docs, facts=MatchFacts(found=found))
    assert (mismatch.rule, mismatch.right, mismatch.right_value) == (
        "X6",
        f"{kind} documents found",
        count,
    )
    role, names = fields
    head = getattr(docs, role).head
    assert mismatch.field == " + ".join(names)
    assert mismatch.left_value == " + ".join(f"{name}={head[name]}" for name in names)


def test_a_counterpart_not_yet_accepted_by_customs_fails_the_match():
    (mismatch,) = match(facts=MatchFacts(counterpart_status={"CEB411": 2}))
    assert (mismatch.rule, mismatch.field, mismatch.left_value) == ("X6", "returnStatus", "2")


def test_the_payment_transaction_on_the_order_must_be_the_payments():
    (mismatch,) = match(with_order(payTransactionId="PAY202409019999"))
    assert (mismatch.rule, mismatch.field) == ("X6", "payTransactionId")


def test_an_order_without_payment_fields_joins_its_payment_by_order_number_alone():
    assert match(with_order(payCode=None, payName=None, payTransactionId=None)) == ()


def test_an_inventory_for_another_waybill_fails_the_match():
    (mismatch,) = match(with_inventory(logisticsNo="YT0000000000"))
    assert (mismatch.rule, mismatch.left, mismatch.right) == (
        "X6",
        "CEB621 InventoryHead/logisticsNo",
        "CEB511 LogisticsHead/logisticsNo",
    )


# --- X7 lines -------------------------------------------------------------------------------


def test_an_inventory_with_an_extra_line_fails_the_line_mapping():
    two_lines = declaration_set(items=[{}, {}])
    short_order = two_lines.but(order=declaration_set().order)
    rules = [(m.rule, m.field) for m in match(short_order)]
    assert ("X7", "gnum") in rules


# --- X8 buyer -------------------------------------------------------------------------------


def test_the_payer_must_be_the_buyer():
    (mismatch,) = match(declaration_set(payment={"payerName": "李四"}))
    assert (mismatch.rule, mismatch.left, mismatch.right) == (
        "X8",
        "CEB411 PaymentHead/payerName",
        "CEB311 OrderHead/buyerName",
    )


def test_a_failed_real_name_check_fails_the_match():
    (mismatch,) = match(facts=MatchFacts(identity_verified=False))
    assert (mismatch.rule, mismatch.right_value) == ("X8", "not passed")
    assert BUYER_ID not in mismatch.left_value


# --- X9 / X10 trade mode --------------------------------------------------------------------


def test_a_bonded_line_without_item_record_fails_x9():
    (mismatch,) = match(
        CONSISTENT.but(inventory=with_line(CONSISTENT.inventory, 1, itemRecordNo=None))
    )
    assert (mismatch.rule, mismatch.right) == ("X9", "CEB621 InventoryList[1]/itemRecordNo")


def test_a_bonded_inventory_departs_from_china():
    (mismatch,) = match(with_inventory(country="116"))
    assert (mismatch.rule, mismatch.field, mismatch.right_value) == ("X9", "country", "116")


def test_a_direct_purchase_inventory_without_transport_lists_each_missing_field():
    bare = {**NINE_SIX_TEN, "trafNo": None, "voyageNo": None, "billNo": None}
    assert [(m.rule, m.field) for m in match(with_inventory(**bare))] == [
        ("X10", "trafNo"),
        ("X10", "voyageNo"),
        ("X10", "billNo"),
    ]


# --- X11 / X12 limits -----------------------------------------------------------------------


def test_a_single_indivisible_item_over_the_limit_is_routed_to_full_tax():
    one_item = declaration_set(items=[{"qty": "1", "price": "5990.00"}])
    result = match_declaration(*one_item.documents())
    assert result.ok
    assert result.full_tax


def test_one_line_of_two_items_over_the_limit_is_not_indivisible():
    two_items = declaration_set(items=[{"qty": "2", "price": "2500.00"}])
    assert [m.rule for m in match(two_items)] == ["X11"]


def test_a_deductible_discount_lowers_the_dutiable_value():
    at_limit = declaration_set(
        items=[{"qty": "1", "price": "2497.50"}, {"qty": "1", "price": "2497.50"}]
    )  # 4995.00 + 10.00 freight = 5005.00, less the 5.00 discount = 5000.00
    assert [m.rule for m in match(at_limit)] == ["X11"]
    assert match(at_limit, settings=MatchSettings(discount_deductible=True)) == ()


def test_a_single_order_over_the_annual_limit_fails_even_without_history():
    over = declaration_set(items=[{"qty": "1", "price": "26000.00"}])
    result = match_declaration(*over.documents())
    assert result.rules == ("X12",)
    assert result.full_tax


# --- X13 signatures -------------------------------------------------------------------------


def test_a_declared_inventory_without_signature_fails_x13():
    absent = SignatureFacts(present=False, verified=False, signer_code=None, cop_code=EBC_CODE)
    (mismatch,) = match(facts=MatchFacts(signatures={"CEB621": absent}))
    assert (mismatch.rule, mismatch.right_value) == ("X13", ABSENT)


def test_an_inventory_signed_by_another_enterprise_fails_x13():
    other = SignatureFacts(present=True, verified=True, signer_code="9999999999", cop_code=EBC_CODE)
    (mismatch,) = match(facts=MatchFacts(signatures={"CEB621": other}))
    assert (mismatch.rule, mismatch.right_value) == ("X13", "9999999999")


def test_a_temporarily_saved_document_needs_no_signature():
    absent = SignatureFacts(present=False, verified=False, signer_code=None, cop_code=EBC_CODE)
    saved = with_inventory(appStatus="1")
    assert match(saved, facts=MatchFacts(signatures={"CEB621": absent})) == ()


# --- X16 uniqueness -------------------------------------------------------------------------


def test_a_waybill_number_reused_for_the_same_order_is_not_a_reuse():
    same = MatchFacts(waybill_history=(PriorUse(ORDER_NO, "20240801120000"),))
    assert match(facts=same) == ()


def test_an_order_number_used_by_another_order_of_the_platform_fails_x16():
    (mismatch,) = match(facts=MatchFacts(other_orders_with_same_no=1))
    assert (mismatch.rule, mismatch.field, mismatch.left_value) == ("X16", "orderNo", ORDER_NO)


# --- §2.2 agreements without an X number ----------------------------------------------------


def test_the_declared_freight_is_what_the_carrier_charged():
    (mismatch,) = match(declaration_set(waybill={"freight": "12.00"}))
    assert (mismatch.rule, mismatch.field, mismatch.left_value, mismatch.right_value) == (
        "§2.2",
        "freight",
        "10.00",
        "12.00",
    )


def test_the_platform_and_the_seller_must_be_registered():
    (mismatch,) = match(facts=MatchFacts(registered=frozenset({EBC_CODE})))
    assert (mismatch.rule, mismatch.field) == ("§2.2", "ebpCode")


# --- X14 / X15 returns and cancellations ----------------------------------------------------


def test_a_return_before_release_fails_x14():
    (mismatch,) = check_refund(refund(), RELEASED_INVENTORY, inventory_status=120)
    assert (mismatch.rule, mismatch.field, mismatch.left_value) == ("X14", "returnStatus", "120")


def test_a_return_of_a_line_not_in_the_inventory_fails_x14():
    (mismatch,) = check_refund(
        with_line(refund(), 1, gnum="2"), RELEASED_INVENTORY, inventory_status=899
    )
    assert (mismatch.rule, mismatch.field, mismatch.left_value) == ("X14", "gnum", "2")


def test_a_return_for_another_inventory_number_fails_x14():
    other = with_head(refund(), invtNo="29912024I000000002")
    (mismatch,) = check_refund(other, RELEASED_INVENTORY, inventory_status=800)
    assert (mismatch.rule, mismatch.field) == ("X14", "invtNo")


@pytest.mark.parametrize(
    ("status", "allowed"), [(2, True), (399, True), (500, False), (899, False), (100, False)]
)
def test_a_cancellation_is_allowed_only_before_release(status, allowed):
    found = check_cancel(cancel(), RELEASED_INVENTORY, inventory_status=status)
    assert (found == ()) is allowed


# --- X17-X20 --------------------------------------------------------------------------------


def test_a_simplified_export_mismatch_is_a_warning_only():
    (mismatch,) = check_export_inventory(export_inventory_head(), rebate_claimed=True)
    assert (mismatch.rule, mismatch.severity) == ("X17", "warn")


def test_a_summary_declaration_is_not_checked_for_x17():
    assert (
        check_export_inventory(export_inventory_head(statisticsFlag="B", licenseNo="24-AB-000001"))
        == ()
    )


def test_a_summary_window_without_times_uses_the_list_and_passes():
    assert check_summary_apply(summary_apply_head(startTime=None, endTime=None)) == ()


def test_a_summary_window_ending_before_it_starts_fails_x18():
    (mismatch,) = check_summary_apply(summary_apply_head(endTime="20240831235959"))
    assert (mismatch.rule, mismatch.field) == ("X18", "endTime")


def test_split_parts_with_a_repeated_sequence_number_fail_x19():
    parts = [summary_apply_head(msgCount="2", msgSeqNo="1")] * 2
    assert [m.rule for m in check_split_messages(parts, message_type="CEB701Message")] == ["X19"]


def test_split_parts_disagreeing_on_the_count_fail_x19():
    parts = [
        summary_apply_head(msgCount="2", msgSeqNo="1"),
        summary_apply_head(msgCount="3", msgSeqNo="2"),
    ]
    assert [m.rule for m in check_split_messages(parts, message_type="CEB607Message")] == ["X19"]


def test_a_stale_receipt_fails_x20():
    (mismatch,) = check_receipt(
        "CEB622Message", 120, return_time="20240901101600000", last_return_time="20240901101700000"
    )
    assert (mismatch.rule, mismatch.field) == ("X20", "returnTime")


def test_a_negative_processing_code_is_allowed_on_every_receipt():
    assert (
        check_receipt("CEB514", -505012, return_time="20240901101600000", last_return_time=None)
        == ()
    )


@pytest.mark.parametrize(
    ("receipt", "code"), [("CEB622", 800), ("CEB604", 899), ("CEB214", 505), ("CEB712", 120)]
)
def test_each_receipt_type_allows_its_own_codes(receipt, code):
    assert (
        check_receipt(receipt, code, return_time="20240901101600000", last_return_time=None) == ()
    )


def test_an_unknown_receipt_type_is_a_programming_error():
    with pytest.raises(ValueError, match="CEB999"):
        check_receipt("CEB999", 2, return_time="20240901101600000", last_return_time=None)


# --- join keys (§2.1) -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "doc", "keys"),
    [
        (
            "CEB311",
            CONSISTENT.order,
            {"orderNo", "ebpCode", "ebcCode", "payCode", "payTransactionId"},
        ),
        ("CEB411", CONSISTENT.payment, {"orderNo", "ebpCode", "payCode", "payTransactionId"}),
        ("CEB511", CONSISTENT.waybill, {"orderNo", "logisticsCode", "logisticsNo"}),
        (
            "CEB621Message",
            CONSISTENT.inventory,
            {"orderNo", "ebpCode", "ebcCode", "logisticsCode", "logisticsNo"},
        ),
    ],
)
def test_each_document_kind_exposes_its_join_keys(kind, doc, keys):
    found = join_keys(kind, doc.head)
    assert set(found) == keys
    assert all(found[name] == doc.head[name] for name in keys)


def test_join_keys_leave_out_absent_optional_keys():
    order = with_head(CONSISTENT.order, payCode=None, payTransactionId=None)
    assert set(join_keys("CEB311", order.head)) == {"orderNo", "ebpCode", "ebcCode"}


@pytest.mark.parametrize(
    ("kind", "doc", "sibling", "keys"),
    [
        ("CEB621", CONSISTENT.inventory, "CEB311", ("orderNo", "ebpCode", "ebcCode")),
        ("CEB621", CONSISTENT.inventory, "CEB511", ("logisticsCode", "logisticsNo")),
        ("CEB621", CONSISTENT.inventory, "CEB411", ("orderNo", "ebpCode")),
        ("CEB311", CONSISTENT.order, "CEB511", ("orderNo",)),
        ("CEB411", CONSISTENT.payment, "CEB311", ("orderNo", "ebpCode")),
    ],
)
def test_a_document_finds_its_siblings_by_the_keys_they_share(kind, doc, sibling, keys):
    assert tuple(sibling_keys(kind, doc.head, sibling)) == keys


def test_join_keys_refuse_an_unknown_kind():
    with pytest.raises(ValueError, match="CEB303"):
        join_keys("CEB303", {"orderNo": ORDER_NO})


def test_a_doc_is_a_head_and_lines():
    doc = Doc(head={"orderNo": ORDER_NO})
    assert doc.lines == ()
    assert inventory().lines[0]["gnum"] == "1"
