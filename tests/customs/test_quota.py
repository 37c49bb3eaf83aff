"""The buyer's annual CBEC quota, as tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal as D

import pytest

from customs.domain.quota import (
    OVER_ANNUAL_LIMIT,
    OVER_SINGLE_LIMIT,
    QuotaLimits,
    QuotaOutcome,
    check_quota,
    quota_year,
    restore_quota,
)

WITHIN = QuotaOutcome.WITHIN_LIMITS
FULL = QuotaOutcome.SINGLE_ITEM_FULL_TAX
SINGLE = QuotaOutcome.OVER_SINGLE_LIMIT
ANNUAL = QuotaOutcome.OVER_ANNUAL_LIMIT


@pytest.mark.parametrize(
    ("used", "amount", "single_item", "outcome", "code"),
    [
        ("0", "210.00", False, WITHIN, None),
        ("0", "5000.00", False, WITHIN, None),
        ("0", "5000.01", False, SINGLE, -621005),
        ("0", "5000.01", True, FULL, None),
        ("25790.00", "210.00", False, WITHIN, None),
        ("25790.01", "210.00", False, ANNUAL, -621018),
        ("20000.00", "6000.00", True, FULL, None),
        ("21000.00", "6000.00", True, ANNUAL, -621018),
        ("21000.00", "6000.00", False, SINGLE, -621005),
        ("0", "26000.01", True, ANNUAL, -621018),
        ("0", "0", False, WITHIN, None),
    ],
    ids=[
        "a small order is within the limits",
        "exactly the single limit is admitted",
        "one fen over the single limit with several items is -621005",
        "one fen over the single limit as one indivisible item is taxed in full",
        "reaching exactly the annual limit is admitted",
        "crossing the annual limit by a fen is -621018",
        "a single item over the single limit within the annual limit is taxed in full",
        "a single item over the single limit crossing the annual limit is -621018",
        "the single limit is decided before the buyer's history",
        "a single item over the annual limit on its own is -621018",
        "a zero amount is admitted",
    ],
)
def test_a_declaration_is_admitted_or_refused_by_the_limits(
    used, amount, single_item, outcome, code
):
    check = check_quota(year=2024, used=D(used), amount=D(amount), single_item=single_item)
    assert check.outcome is outcome
    assert check.return_status == code
    assert check.admitted is (code is None)
    assert check.full_tax is (outcome is FULL)
    if code is not None:
        assert str(code) in check.message


def test_the_codes_are_the_specs():
    assert (OVER_SINGLE_LIMIT, OVER_ANNUAL_LIMIT) == (-621005, -621018)


def test_the_annual_refusal_names_the_year_and_every_amount():
    check = check_quota(year=2024, used=D("25790.01"), amount=D("210.00"), single_item=False)
    for text in ("2024", "25790.01 CNY", "210.00 CNY", "26000.01 CNY", "26000 CNY", "-621018"):
        assert text in check.message


def test_the_single_limit_refusal_names_the_amount_and_the_limit():
    check = check_quota(year=2024, used=D("0"), amount=D("5000.00001"), single_item=False)
    assert "5000.00001 CNY" in check.message
    assert "5000 CNY" in check.message
    assert "-621005" in check.message


@pytest.mark.parametrize(
    ("used", "amount", "single_item", "used_after"),
    [
        ("1000.00", "210.00", False, "1210.00"),
        ("20000.00", "6000.00", True, "26000.00"),
        ("25790.01", "210.00", False, "25790.01"),
        ("0", "5000.01", False, "0"),
    ],
    ids=[
        "an admitted declaration adds its amount",
        "a fully taxed single item adds its amount too",
        "a refusal over the annual limit leaves the total",
        "a refusal over the single limit leaves the total",
    ],
)
def test_the_running_total_grows_only_when_admitted(used, amount, single_item, used_after):
    check = check_quota(year=2024, used=D(used), amount=D(amount), single_item=single_item)
    assert check.used_after == D(used_after)


def test_other_limits_can_be_configured():
    limits = QuotaLimits(single_transaction=D("2000"), annual=D("20000"))
    check = check_quota(
        year=2018, used=D("0"), amount=D("2000.01"), single_item=False, limits=limits
    )
    assert check.return_status == -621005
    assert "2000 CNY" in check.message


@pytest.mark.parametrize(
    ("used", "amount", "restored"),
    [
        ("1000.00", "210.00", "790.00"),
        ("210.00", "210.00", "0.00"),
        ("100.00", "210.00", "0"),
        ("0", "0", "0"),
    ],
    ids=[
        "a cancellation gives the amount back",
        "cancelling the only declaration restores zero",
        "the total never goes below zero",
        "restoring nothing changes nothing",
    ],
)
def test_a_cancellation_or_return_restores_the_quota(used, amount, restored):
    assert restore_quota(used=D(used), amount=D(amount)) == D(restored)


@pytest.mark.parametrize(
    ("declared_at", "year"),
    [
        (datetime(2024, 12, 31, 15, 59, 59, tzinfo=UTC), 2024),
        (datetime(2024, 12, 31, 16, 0, 0, tzinfo=UTC), 2025),
        (datetime(2025, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=8))), 2025),
        (datetime(2024, 12, 31, 12, 0, tzinfo=timezone(timedelta(hours=-5))), 2025),
    ],
    ids=[
        "one second before midnight in China counts in the old year",
        "midnight in China starts the new year although it is still 2024 in UTC",
        "a China-time timestamp counts in its own year",
        "a New York noon on 31 December is already the new year in China",
    ],
)
def test_the_year_is_decided_in_china_time(declared_at, year):
    assert quota_year(declared_at) == year


def test_a_naive_declaration_time_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        quota_year(datetime(2024, 12, 31, 23, 0))  # noqa: DTZ001


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: check_quota(year=2024, used=0.0, amount=D("1"), single_item=False), "used"),
        (lambda: check_quota(year=2024, used=D("0"), amount=210.0, single_item=False), "amount"),
        (lambda: restore_quota(used=D("1"), amount=1.0), "amount"),
        (lambda: QuotaLimits(single_transaction=5000.0), "single_transaction"),
        (lambda: QuotaLimits(annual=26000.0), "annual"),
    ],
    ids=["used", "amount", "restored amount", "single limit", "annual limit"],
)
def test_a_float_is_refused_naming_the_field(call, field):
    with pytest.raises(TypeError, match=rf"^{field} must be a Decimal, not float"):
        call()


def test_a_negative_amount_is_refused():
    with pytest.raises(ValueError, match="amount must not be negative"):
        check_quota(year=2024, used=D("0"), amount=D("-1"), single_item=False)
