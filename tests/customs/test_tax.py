"""CBEC retail-import tax and the tariff it reads, as tables."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import pytest

from customs.domain.tariff import Tariff, TariffError, UnknownHsCode
from customs.domain.tax import (
    HeadAmounts,
    TaxAssessment,
    TaxLine,
    TaxRefusal,
    TaxRegime,
    TaxSettings,
    allocate,
    assess_tax,
)

DEFAULT_TARIFF_TEXT = (
    Path(__file__).resolve().parents[2] / "customs" / "tariff" / "default-tariff.csv"
).read_text(encoding="utf-8")
DEFAULT_TARIFF = Tariff.from_csv(DEFAULT_TARIFF_TEXT)

# A small controlled tariff: every case below reads its rates from here.
TARIFF = Tariff.from_csv(
    """\
# test rates
hs_code,description,duty_rate,vat_rate,consumption_rate,ct_min_price_per_ml_g,ct_min_price_per_piece
1901101000,Infant formula,0.15,0.13,0,,
0402210000,Whole milk powder,0.10,0.09,0,,
2204210000,Wine,0.14,0.13,0.10,,
3304990000,"Skin care, high-end at or above the threshold",0.01,0.13,0.15,10,15
3304990099,"Skin care, always high-end",0.01,0.13,0.15,,
4202210000,Leather handbag,0.06,0.13,0,,
9102,Watches,0.08,0.13,0.20,,10000
9503,Toys,0,0.13,0,,
"""
)


def line(
    gcode: str = "1901101000",
    total: str = "200.00",
    qty: str = "1",
    *,
    gnum: int = 1,
    indivisible: bool = False,
    net_content: str | None = None,
    pieces: str | None = None,
) -> TaxLine:
    quantity = D(qty)
    return TaxLine(
        gnum=gnum,
        gcode=gcode,
        item_name="goods",
        qty=quantity,
        unit_price=D(total) / quantity,
        total_price=D(total),
        indivisible=indivisible,
        net_content=None if net_content is None else D(net_content),
        pieces=None if pieces is None else D(pieces),
    )


def assess(
    lines: list[TaxLine],
    freight: str = "0",
    insured: str = "0",
    discount: str = "0",
    *,
    used: str = "0",
    tariff: Tariff = TARIFF,
    settings: TaxSettings | None = None,
) -> TaxAssessment | TaxRefusal:
    return assess_tax(
        lines,
        HeadAmounts(freight=D(freight), insured_fee=D(insured), discount=D(discount)),
        tariff=tariff,
        year=2024,
        used_this_year=D(used),
        settings=settings or TaxSettings(),
    )


def admitted(result: TaxAssessment | TaxRefusal) -> TaxAssessment:
    assert isinstance(result, TaxAssessment), result
    return result


def refused(result: TaxAssessment | TaxRefusal) -> TaxRefusal:
    assert isinstance(result, TaxRefusal), result
    return result


# -- the dossier's worked example (§c.3) -------------------------------------------------------


@pytest.mark.parametrize(
    ("discount_lowers", "dutiable_value", "tax"),
    [(False, "210.00", "19.11"), (True, "205.00", "18.66")],
    ids=[
        "by default the discount is not deducted: 9.1% of 210.00 is 19.11",
        "when the discount is deductible: 9.1% of 205.00 is 18.655, rounded half up to 18.66",
    ],
)
def test_the_dossier_example_is_taxed_at_9_1_percent(discount_lowers, dutiable_value, tax):
    example = TaxLine(
        gnum=1,
        gcode="1901101000",
        item_name="婴儿奶粉",
        qty=D("2"),
        unit_price=D("100.00"),
        total_price=D("200.00"),
    )
    result = admitted(
        assess(
            [example],
            freight="10.00",
            insured="0",
            discount="5.00",
            tariff=DEFAULT_TARIFF,
            settings=TaxSettings(discount_lowers_dutiable_value=discount_lowers),
        )
    )
    assert result.regime is TaxRegime.CBEC
    assert result.dutiable_value == result.quota_amount == D(dutiable_value)
    assert (result.duty, result.vat, result.consumption_tax) == (D("0"), D(tax), D("0"))
    assert result.total_tax == D(tax)
    assert result.lines[0].dutiable_value == D(dutiable_value)
    assert result.quota.used_after == D(dutiable_value)


# -- CBEC regime: the comprehensive rate ------------------------------------------------------


@pytest.mark.parametrize(
    ("gcode", "vat", "ct", "total"),
    [
        ("1901101000", "9.10", "0.00", "9.10"),
        ("0402210000", "6.30", "0.00", "6.30"),
        ("3304990099", "10.71", "12.35", "23.06"),
        ("2204210000", "10.11", "7.78", "17.89"),
    ],
    ids=[
        "VAT 13% without consumption tax is 9.1%",
        "dairy at VAT 9% is 6.3%",
        "cosmetics at VAT 13% and CT 15% is (0.15+0.13)/(1-0.15)x0.7 = 23.06%",
        "wine at VAT 13% and CT 10% is (0.10+0.13)/(1-0.10)x0.7 = 17.89%",
    ],
)
def test_within_the_limits_duty_is_zero_and_vat_and_ct_are_70_percent(gcode, vat, ct, total):
    result = admitted(assess([line(gcode, "100.00")]))
    taxed = result.lines[0]
    assert result.regime is TaxRegime.CBEC
    assert taxed.duty_rate == 0
    assert (taxed.duty, taxed.vat, taxed.consumption_tax) == (D("0"), D(vat), D(ct))
    assert taxed.total == result.total_tax == D(total)


@pytest.mark.parametrize(
    ("total", "freight", "net_content", "pieces", "qty", "ct_applies"),
    [
        ("800.00", "0", "50", None, "1", True),
        ("200.00", "0", "50", None, "1", False),
        ("500.00", "0", "50", None, "1", True),
        ("499.99", "0", "50", None, "1", False),
        ("495.00", "5.00", "50", None, "1", True),
        ("100.00", "0", None, "10", "1", False),
        ("150.00", "0", None, "10", "1", True),
        ("30.00", "0", None, None, "2", True),
        ("28.00", "0", None, None, "2", False),
    ],
    ids=[
        "a cream at 16 CNY per ml is high-end",
        "a cream at 4 CNY per ml is not",
        "exactly 10 CNY per ml is high-end (at or above)",
        "a fen under 10 CNY per ml is not",
        "freight counts toward the dutiable price per ml",
        "sheet masks at 10 CNY per sheet are not high-end",
        "sheet masks at 15 CNY per sheet are high-end",
        "without a net content the price per piece (qty) decides: 15 CNY is high-end",
        "14 CNY per piece is not high-end",
    ],
)
def test_the_cosmetics_consumption_tax_follows_the_high_end_threshold(
    total, freight, net_content, pieces, qty, ct_applies
):
    cosmetic = line("3304990000", total, qty, net_content=net_content, pieces=pieces)
    taxed = admitted(assess([cosmetic], freight=freight)).lines[0]
    assert taxed.consumption_rate == (D("0.15") if ct_applies else D("0"))
    assert (taxed.consumption_tax > 0) is ct_applies


def test_a_consumption_tax_line_without_threshold_always_applies():
    taxed = admitted(assess([line("3304990099", "1.00", net_content="100")])).lines[0]
    assert taxed.consumption_rate == D("0.15")


# -- allocation of freight and insurance ------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "weights", "shares"),
    [
        ("10.00", ["1", "1", "1"], ["3.33", "3.33", "3.34"]),
        ("10.00", ["100", "0", "200"], ["3.33", "0", "6.67"]),
        ("10.00", ["100", "200", "0"], ["3.33", "6.67", "0"]),
        ("0.01", ["0", "0"], ["0", "0.01"]),
        ("7.00", ["50.00"], ["7.00"]),
        ("-5.00", ["100", "300"], ["-1.25", "-3.75"]),
        ("10.12345", ["1", "2"], ["3.37", "6.75345"]),
    ],
    ids=[
        "equal lines: the last takes the rounding remainder",
        "a zero-price gift line takes no share",
        "the remainder goes to the last line that takes part, not to a trailing gift",
        "when every line is free the last line takes it all",
        "a single line takes everything",
        "a deductible discount is allocated the same way",
        "sub-fen freight stays exact on the last line",
    ],
)
def test_head_amounts_are_allocated_pro_rata_and_add_up_exactly(amount, weights, shares):
    result = allocate(D(amount), [D(w) for w in weights])
    assert result == tuple(D(s) for s in shares)
    assert sum(result, D(0)) == D(amount)


def test_a_zero_price_gift_line_carries_no_freight_and_no_tax():
    result = admitted(
        assess(
            [line("1901101000", "200.00", "2"), line("9503000000", "0.00", gnum=2)],
            freight="10.00",
        )
    )
    main, gift = result.lines
    assert (main.allocated, main.dutiable_value, main.vat) == (D("10.00"), D("210.00"), D("19.11"))
    assert (gift.allocated, gift.dutiable_value, gift.total) == (D("0"), D("0.00"), D("0"))
    assert result.total_tax == D("19.11")


def test_line_shares_of_freight_and_insurance_add_up_to_the_head():
    lines = [line("1901101000", "100.00", gnum=n) for n in (1, 2, 3)]
    result = admitted(assess(lines, freight="7.00", insured="3.00"))
    assert [t.allocated for t in result.lines] == [D("3.33"), D("3.33"), D("3.34")]
    assert result.dutiable_value == D("310.00")
    assert sum((t.dutiable_value for t in result.lines), D(0)) == D("310.00")


@pytest.mark.parametrize(
    ("discount_lowers", "dutiable_values"),
    [(False, ["105.00", "315.00"]), (True, ["102.50", "307.50"])],
    ids=["the discount is ignored by default", "a deductible discount lowers every line"],
)
def test_the_discount_setting_decides_whether_the_discount_is_allocated(
    discount_lowers, dutiable_values
):
    lines = [line("1901101000", "100.00"), line("1901101000", "300.00", gnum=2)]
    result = admitted(
        assess(
            lines,
            freight="20.00",
            discount="10.00",
            settings=TaxSettings(discount_lowers_dutiable_value=discount_lowers),
        )
    )
    assert [t.dutiable_value for t in result.lines] == [D(v) for v in dutiable_values]


def test_a_discount_larger_than_goods_and_charges_is_refused():
    with pytest.raises(ValueError, match="negative"):
        assess(
            [line("1901101000", "10.00")],
            discount="20.00",
            settings=TaxSettings(discount_lowers_dutiable_value=True),
        )


# -- rounding ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("totals", "line_vats", "vat"),
    [
        (["15.00"], ["1.37"], "1.37"),
        (["15.00", "15.00"], ["1.37", "1.37"], "2.74"),
        (["5.00"], ["0.46"], "0.46"),
        (["0.05"], ["0.00"], "0.00"),
        (["0.06"], ["0.01"], "0.01"),
    ],
    ids=[
        "1.365 rounds half up to 1.37 (half even would give 1.36)",
        "the total is the sum of rounded lines, 2.74, not 9.1% of 30.00 = 2.73",
        "0.455 rounds up to 0.46",
        "0.00455 rounds down to 0.00",
        "0.00546 rounds up to 0.01",
    ],
)
def test_each_tax_is_rounded_half_up_to_the_fen_per_line(totals, line_vats, vat):
    lines = [line("1901101000", t, gnum=n) for n, t in enumerate(totals, start=1)]
    result = admitted(assess(lines))
    assert [t.vat for t in result.lines] == [D(v) for v in line_vats]
    assert result.vat == D(vat)
    assert all(t.vat.as_tuple().exponent == -2 for t in result.lines)


def test_totals_are_the_sums_of_the_rounded_line_amounts():
    lines = [
        line("3304990099", "33.33", gnum=1),
        line("2204210000", "66.67", gnum=2),
        line("0402210000", "12.34", gnum=3),
        line("9503000000", "0.00", gnum=4),
    ]
    result = admitted(assess(lines, freight="9.99", insured="1.11"))
    assert result.duty == sum((t.duty for t in result.lines), D(0))
    assert result.vat == sum((t.vat for t in result.lines), D(0))
    assert result.consumption_tax == sum((t.consumption_tax for t in result.lines), D(0))
    assert result.total_tax == sum((t.total for t in result.lines), D(0))
    assert result.dutiable_value == D("33.33") + D("66.67") + D("12.34") + D("11.10")


# -- over the single-transaction limit --------------------------------------------------------


@pytest.mark.parametrize(
    ("gcode", "total", "duty", "vat", "ct"),
    [
        ("4202210000", "6000.00", "360.00", "826.80", "0.00"),
        ("9102110000", "12000.00", "960.00", "2106.00", "3240.00"),
        ("9102110000", "8000.00", "640.00", "1123.20", "0.00"),
    ],
    ids=[
        "a 6000 CNY handbag pays duty 6% and VAT on value plus duty",
        "a 12000 CNY watch is high-end: duty, CT 20% on (value+duty)/(1-CT), VAT on all",
        "an 8000 CNY watch is below the 10000 CNY threshold: no CT",
    ],
)
def test_a_single_indivisible_item_over_5000_is_taxed_in_full(gcode, total, duty, vat, ct):
    item = line(gcode, total, indivisible=True)
    result = admitted(assess([item], used="1000.00"))
    assert result.regime is TaxRegime.FULL
    assert (result.duty, result.vat, result.consumption_tax) == (D(duty), D(vat), D(ct))
    assert result.quota_amount == D(total)
    assert result.quota.used_after == D("1000.00") + D(total)
    rate = result.lines[0]
    expected = (
        D(total)
        * (rate.duty_rate + rate.vat_rate + rate.consumption_rate + rate.duty_rate * rate.vat_rate)
        / (1 - rate.consumption_rate)
    )
    assert abs(result.total_tax - expected) <= D("0.01")


def test_exactly_5000_stays_in_the_reduced_regime():
    result = admitted(assess([line("4202210000", "5000.00", indivisible=True)]))
    assert result.regime is TaxRegime.CBEC
    assert result.duty == 0
    assert result.vat == D("455.00")


@pytest.mark.parametrize(
    "lines",
    [
        [line("4202210000", "2600.00"), line("4202210000", "2400.01", gnum=2)],
        [line("4202210000", "5000.01", "2", indivisible=True)],
        [line("4202210000", "5000.01")],
        [line("4202210000", "6000.00", indivisible=True), line("9503000000", "0.00", gnum=2)],
    ],
    ids=[
        "two items together over 5000",
        "one line of two pieces over 5000",
        "one piece not flagged indivisible",
        "an indivisible item with a free gift is two items",
    ],
)
def test_several_items_over_5000_are_refused_with_621005(lines):
    result = refused(assess(lines))
    assert result.return_status == -621005
    assert "-621005" in result.message
    assert "5000 CNY" in result.message


def test_freight_can_push_a_declaration_over_the_single_limit():
    lines = [line("4202210000", "2500.00"), line("4202210000", "2490.00", gnum=2)]
    result = refused(assess(lines, freight="10.01"))
    assert result.dutiable_value == D("5000.01")
    assert "5000.01 CNY" in result.message


# -- the annual limit -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("used", "lines", "admitted_"),
    [
        ("25790.00", [line("1901101000", "200.00", "2")], True),
        ("25790.01", [line("1901101000", "200.00", "2")], False),
        ("19990.00", [line("4202210000", "6000.00", indivisible=True)], True),
        ("19990.01", [line("4202210000", "6000.00", indivisible=True)], False),
    ],
    ids=[
        "reaching exactly 26000 with freight is admitted",
        "crossing 26000 by a fen is refused with -621018",
        "a full-tax single item reaching exactly 26000 is admitted",
        "a full-tax single item crossing 26000 is refused with -621018",
    ],
)
def test_the_annual_limit_includes_this_declaration(used, lines, admitted_):
    result = assess(lines, freight="10.00", used=used)
    assert result.admitted is admitted_
    if not admitted_:
        refusal = refused(result)
        assert refusal.return_status == -621018
        for text in ("2024", used, "26000 CNY", "-621018"):
            assert text in refusal.message


# -- the tariff -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gcode", "entry"),
    [
        ("3304990099", "3304990099"),
        ("3304990011", "33049900"),
        ("9102190000", "9102"),
        ("6109100021", "61"),
    ],
    ids=[
        "the full 10-digit code wins over its 8-digit line",
        "else its 8-digit line",
        "else a shorter heading",
        "else the chapter",
    ],
)
def test_a_code_is_looked_up_by_its_longest_listed_prefix(gcode, entry):
    tariff = Tariff.from_csv(
        "hs_code,description,duty_rate,vat_rate,consumption_rate\n"
        "3304990099,exact,0,0.13,0.15\n"
        "33049900,line,0,0.13,0\n"
        "9102,heading,0,0.13,0\n"
        "61,chapter,0,0.13,0\n"
    )
    assert tariff.lookup(gcode).hs_code == entry


def test_an_unknown_hs_code_is_an_error_naming_the_code():
    with pytest.raises(UnknownHsCode, match="8703231900") as raised:
        assess([line("8703231900", "100.00")])
    assert raised.value.hs_code == "8703231900"
    assert "87032319" in str(raised.value)


def test_a_gcode_must_have_ten_digits():
    with pytest.raises(ValueError, match="gcode must be 10 digits"):
        line("33049900", "100.00")
    with pytest.raises(ValueError, match="gcode must be 10 digits"):
        TARIFF.lookup("33049900")


@pytest.mark.parametrize(
    ("gcode", "vat", "ct"),
    [
        ("0402210000", "0.09", "0"),
        ("0402990000", "0.09", "0"),
        ("1901101000", "0.13", "0"),
        ("2106909090", "0.13", "0"),
        ("2204210000", "0.13", "0.10"),
        ("3303000000", "0.13", "0.15"),
        ("3304990000", "0.13", "0.15"),
        ("3304910000", "0.13", "0.15"),
        ("4202210000", "0.13", "0"),
        ("6403990000", "0.13", "0"),
        ("6404110000", "0.13", "0"),
        ("6109100021", "0.13", "0"),
        ("6203420000", "0.13", "0"),
        ("8471300000", "0.13", "0"),
        ("8517130000", "0.13", "0"),
        ("9102110000", "0.13", "0.20"),
        ("9503008900", "0.13", "0"),
    ],
)
def test_the_default_tariff_covers_common_cbec_goods(gcode, vat, ct):
    entry = DEFAULT_TARIFF.lookup(gcode)
    assert (entry.vat_rate, entry.consumption_rate) == (D(vat), D(ct))


def test_the_default_tariff_says_its_rates_are_illustrative():
    first = DEFAULT_TARIFF_TEXT.splitlines()[0]
    assert first.startswith("#")
    assert "illustrative" in first.lower()
    assert "official" in first.lower()


def test_the_default_tariff_sets_the_high_end_cosmetics_threshold():
    entry = DEFAULT_TARIFF.lookup("3304990000")
    assert (entry.ct_min_price_per_ml_g, entry.ct_min_price_per_piece) == (D("10"), D("15"))


HEADER = "hs_code,description,duty_rate,vat_rate,consumption_rate\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (HEADER + "1901101000,formula,0.15,13,0\n", r"line 2: HS code 1901101000: vat_rate 13"),
        (HEADER + "1901101000,formula,0.15,0.13,1\n", r"consumption_rate 1 is outside \[0, 1\)"),
        (HEADER + "1901101000,formula,x,0.13,0\n", r"duty_rate 'x' is not a decimal"),
        (HEADER + "19011,formula,0,0.13,0\n", r"hs_code '19011' is not 2/4/6/8/10 digits"),
        (HEADER + "1901,a,0,0.13,0\n# c\n1901,b,0,0.13,0\n", r"line 4: .*already given on line 2"),
        (HEADER + "1901,a,0,0.13\n", r"line 2: 4 fields, the header has 5"),
        (HEADER + "1901,,0,0.13,0\n", r"no description"),
        ("hs_code,description,duty_rate,vat_rate\n", r"missing \['consumption_rate'\]"),
        (HEADER.replace("vat_rate", "vat rate"), r"unknown \['vat rate'\]"),
        ("# only a comment\n", r"no header row"),
        (
            HEADER.rstrip() + ",ct_min_price_per_ml_g\n3304,x,0,0.13,0,10\n",
            r"threshold but no consumption_rate",
        ),
    ],
    ids=[
        "a percentage instead of a fraction",
        "a consumption tax of 100%",
        "a rate that is not a number",
        "an HS code of odd length",
        "a duplicate HS code",
        "a short row",
        "an empty description",
        "a missing column",
        "a misspelt column",
        "no header",
        "a threshold without a consumption tax",
    ],
)
def test_a_malformed_tariff_is_refused_naming_line_and_column(text, message):
    with pytest.raises(TariffError, match=message):
        Tariff.from_csv(text)


def test_a_tariff_may_start_with_a_byte_order_mark_and_reorder_columns():
    tariff = Tariff.from_csv(
        "\ufeffvat_rate,hs_code,consumption_rate,description,duty_rate\n0.13,9503,0,Toys,0\n"
    )
    assert tariff.lookup("9503008900").vat_rate == D("0.13")


# -- Decimal only -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: TaxLine(1, "1901101000", "x", D("1"), D("1"), 1.0), "total_price"),
        (lambda: TaxLine(1, "1901101000", "x", 2.0, D("1"), D("2")), "qty"),
        (lambda: TaxLine(1, "1901101000", "x", D("1"), 1.0, D("1")), "unit_price"),
        (lambda: HeadAmounts(freight=10.0), "freight"),
        (lambda: HeadAmounts(insured_fee=0.5), "insured_fee"),
        (lambda: HeadAmounts(discount=5.0), "discount"),
        (lambda: TaxSettings(cbec_factor=0.7), "cbec_factor"),
        (lambda: TaxSettings(annual_limit=26000.0), "annual_limit"),
        (
            lambda: assess_tax(
                [line()], HeadAmounts(), tariff=TARIFF, year=2024, used_this_year=0.0
            ),
            "used_this_year",
        ),
    ],
    ids=[
        "line total",
        "quantity",
        "unit price",
        "freight",
        "insurance",
        "discount",
        "reduction factor",
        "annual limit",
        "used quota",
    ],
)
def test_a_float_is_refused_with_a_type_error_naming_the_field(build, field):
    with pytest.raises(TypeError, match=rf"^{field} must be a Decimal, not float"):
        build()


def test_every_amount_in_an_assessment_is_a_decimal():
    result = admitted(assess([line("3304990099", "123.45")], freight="6.78"))
    taxed = result.lines[0]
    amounts = [
        result.dutiable_value,
        result.duty,
        result.vat,
        result.consumption_tax,
        result.total_tax,
        result.quota_amount,
        taxed.allocated,
        taxed.dutiable_value,
        taxed.duty,
        taxed.vat,
        taxed.consumption_tax,
        taxed.total,
    ]
    assert all(type(a) is D for a in amounts)
