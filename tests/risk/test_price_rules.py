"""Undervaluation against a robust reference price per HS code and origin."""

from __future__ import annotations

import random
import statistics
from decimal import Decimal

import pytest

from risk.domain.prices import (
    PriceReference,
    lower_bound,
    reference_keys,
    robust_reference,
    undervalued,
)
from risk.domain.rules import History, RuleSet, assess
from tests.risk.declarations import declaration

D = Decimal


def test_the_reference_keys_go_from_the_full_hs_code_to_the_chapter():
    assert reference_keys("1901101000", "116") == (
        "10:1901101000:116",
        "6:190110:116",
        "4:1901:116",
        "2:19:116",
    )


def test_the_reference_is_the_median_and_the_median_absolute_deviation():
    reference = robust_reference([D("90"), D("100"), D("110"), D("100"), D("95")])
    assert reference == PriceReference(median=D("100"), mad=D("5"), samples=5)


def test_outliers_do_not_move_the_reference():
    usual = [D(p) for p in ("98", "99", "100", "100", "101", "102", "100", "99", "101", "100")]
    absurd = [D("0.01"), D("0.01"), D("99999"), D("250000")]
    clean, polluted = robust_reference(usual), robust_reference(usual + absurd)
    assert clean is not None and polluted is not None
    assert clean.median == polluted.median == D("100")
    assert polluted.mad - clean.mad <= D("1")
    assert sum(usual + absurd) / len(usual + absurd) > D("20000")  # what a mean would say


@pytest.mark.parametrize("seed", range(40))
def test_the_reference_is_what_statistics_computes(seed):
    # samples of every size up to a full reservoir, with repeated prices and prices spread
    # below and above the median, as statistics.median computes the median and the MAD
    rng = random.Random(seed)
    prices = [D(rng.choice((1999, 2000, 2050, 2399)) + rng.randint(-300, 300)) / 100]
    prices += [D(rng.randint(1, 400_000)) / 100 for _ in range(rng.randint(0, 199))]
    prices += rng.sample(prices, k=rng.randint(0, len(prices)))  # repeats
    rng.shuffle(prices)
    middle = statistics.median(prices)
    assert robust_reference(prices) == PriceReference(
        median=middle,
        mad=statistics.median([abs(p - middle) for p in prices]),
        samples=len(prices),
    )


def test_no_prices_no_reference():
    assert robust_reference([]) is None


RULES = RuleSet(undervaluation_min_samples=20)
REFERENCE = {"10:1901101000:116": PriceReference(median=D("100"), mad=D("5"), samples=40)}


@pytest.mark.parametrize(
    ("unit_price", "fires"),
    [("49.99", True), ("50.00", False), ("10.00", True), ("100.00", False)],
)
def test_a_price_under_half_the_median_fires(unit_price, fires):
    # bound: min(100 x 0.5, 100 - 3 x 1.4826 x 5 = 77.76) = 50
    lines = declaration(lines=[{"unit_price": unit_price}]).lines
    assert bool(undervalued(lines, REFERENCE, RULES)) is fires


def test_with_a_wide_spread_the_bound_follows_the_deviation():
    spread = {"10:1901101000:116": PriceReference(median=D("100"), mad=D("15"), samples=40)}
    bound = lower_bound(spread["10:1901101000:116"], RULES)
    assert bound == D("100") - D("3") * D("1.4826") * D("15")  # 33.283 < 50
    assert undervalued(declaration(lines=[{"unit_price": "34.00"}]).lines, spread, RULES) == []
    assert undervalued(declaration(lines=[{"unit_price": "33.28"}]).lines, spread, RULES)


@pytest.mark.parametrize(("samples", "fires"), [(19, False), (20, True)])
def test_the_rule_waits_for_enough_samples(samples, fires):
    few = {"10:1901101000:116": PriceReference(median=D("100"), mad=D("5"), samples=samples)}
    lines = declaration(lines=[{"unit_price": "10.00"}]).lines
    assert bool(undervalued(lines, few, RULES)) is fires


def test_a_thin_hs_code_falls_back_to_its_heading_then_its_chapter():
    references = {
        "10:1901101000:116": PriceReference(median=D("100"), mad=D("0"), samples=3),
        "6:190110:116": PriceReference(median=D("100"), mad=D("0"), samples=5),
        "4:1901:116": PriceReference(median=D("80"), mad=D("2"), samples=25),
        "2:19:116": PriceReference(median=D("60"), mad=D("2"), samples=500),
    }
    (reason,) = undervalued(declaration(lines=[{"unit_price": "30.00"}]).lines, references, RULES)
    assert reason.evidence["referenceHs"] == "1901"
    assert reason.evidence["referenceUnitPrice"] == "80.00"
    del references["4:1901:116"]
    (reason,) = undervalued(declaration(lines=[{"unit_price": "20.00"}]).lines, references, RULES)
    assert reason.evidence["referenceHs"] == "19"


def test_another_origin_has_its_own_reference():
    lines = declaration(lines=[{"unit_price": "10.00", "country": "502"}]).lines
    assert undervalued(lines, REFERENCE, RULES) == []


def test_the_reason_gives_the_reference_the_declared_price_and_the_sample_size():
    result = assess(
        declaration(lines=[{"unit_price": "20.00"}]),
        History(enterprise_declarations=1, platform_declarations=1, prices=REFERENCE),
        RuleSet(random_inspection_rate=D(0)),
    )
    (reason,) = result.reasons
    assert reason.code == "undervaluation"
    assert reason.evidence == {
        "gnum": "1",
        "gcode": "1901101000",
        "country": "116",
        "declaredUnitPrice": "20.00",
        "referenceHs": "1901101000",
        "referenceUnitPrice": "100.00",
        "mad": "5.00",
        "lowerBound": "50.00",
        "samples": "40",
    }
    assert "20.00" in reason.text and "100.00" in reason.text and "40" in reason.text
    assert result.score == RuleSet().undervaluation_points


@pytest.mark.parametrize("seed", range(40))
def test_the_reference_is_the_statistics_median_and_mad(seed):
    """Exactly (digits and exponent) what `statistics.median` gives, odd and even counts, ties,
    prices of every scale the database hands back."""
    import random
    from statistics import median

    draw = random.Random(seed)
    prices = [
        D(draw.choice(["1", "95.5", "100", "100.00", "0.33333", "12345.67891"]))
        * D(draw.randint(1, 400))
        / D(draw.choice([1, 3, 7]))
        for _ in range(draw.randint(1, 21))
    ]
    prices = [p.quantize(D("0.00001")) if draw.random() < 0.7 else p for p in prices]
    middle = D(median(sorted(prices)))
    mad = D(median(sorted(abs(v - middle) for v in sorted(prices))))
    found = robust_reference(prices)
    assert found is not None
    assert (str(found.median), str(found.mad), found.samples) == (
        str(middle),
        str(mad),
        len(prices),
    )
