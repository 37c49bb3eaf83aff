"""The buyer's CBEC retail-import quota (dossier §3.1, rules X11 and X12).

A declaration enters the CBEC retail channel when its amount (its dutiable value: retail price +
freight + insurance, see `customs.domain.tax`) is within the single-transaction limit
(5,000 CNY) and the buyer's running total for the calendar year plus that amount is within the
annual limit (26,000 CNY). A declaration over the single limit is still admitted, taxed in full,
when it is one indivisible item and the annual limit holds. Otherwise customs answers -621005
(single-transaction limit) or -621018 (annual limit).

Calendar year: the buyer's total runs from 1 January to 31 December, and the declaration time
in China time (UTC+8) decides which year a declaration counts in (`quota_year`; CEB621 `declTime`
is already a China date, so its first four characters are the year). The caller looks up the
buyer's total for that year and passes it here.

These are pure decisions: reading and updating the buyer's running total, atomically (e.g. one
row per buyer and year, updated under a lock or a conditional UPDATE), is the caller's job.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from enum import StrEnum

OVER_SINGLE_LIMIT = -621005  # purchase amount exceeds the single-transaction limit
OVER_ANNUAL_LIMIT = -621018  # buyer's used quota plus this purchase exceeds the annual limit

# China has kept UTC+8 without daylight saving since 1991.
CHINA_TIME = timezone(timedelta(hours=8), "China Standard Time")


def require_decimal(name: str, value: object, *, non_negative: bool = True) -> Decimal:
    """`value` as a finite Decimal, or TypeError/ValueError naming the field.

    Money, quantities and rates are Decimal only: a float (or int, str) is refused, so that no
    binary fraction ever enters a tax amount.
    """
    if not isinstance(value, Decimal):
        raise TypeError(f"{name} must be a Decimal, not {type(value).__name__} ({value!r})")
    if not value.is_finite():
        raise ValueError(f"{name} must be a finite amount, got {value}")
    if non_negative and value < 0:
        raise ValueError(f"{name} must not be negative, got {value}")
    return value


def cny(amount: Decimal) -> str:
    """An amount as plain digits (never exponent notation, never rounded) with its currency."""
    return f"{amount:f} CNY"


@dataclass(frozen=True, slots=True)
class QuotaLimits:
    """The CBEC retail-import limits in CNY (since 2019-01-01)."""

    single_transaction: Decimal = Decimal("5000")
    annual: Decimal = Decimal("26000")

    def __post_init__(self) -> None:
        require_decimal("single_transaction", self.single_transaction)
        require_decimal("annual", self.annual)
        if self.single_transaction <= 0 or self.annual < self.single_transaction:
            raise ValueError(
                f"limits must satisfy 0 < single_transaction <= annual, got "
                f"{self.single_transaction} and {self.annual}"
            )


DEFAULT_LIMITS = QuotaLimits()


class QuotaOutcome(StrEnum):
    WITHIN_LIMITS = "within_limits"  # CBEC channel, reduced tax
    SINGLE_ITEM_FULL_TAX = "single_item_full_tax"  # CBEC channel, taxed in full
    OVER_SINGLE_LIMIT = "over_single_limit"  # -621005
    OVER_ANNUAL_LIMIT = "over_annual_limit"  # -621018


@dataclass(frozen=True, slots=True)
class QuotaCheck:
    """The decision for one declaration against the buyer's year, with its message.

    `return_status` is the spec's code when refused (-621005 / -621018), else None.
    `used_after` is what the buyer's total becomes if the declaration goes ahead.
    """

    outcome: QuotaOutcome
    year: int
    used: Decimal
    amount: Decimal
    limits: QuotaLimits
    message: str

    @property
    def admitted(self) -> bool:
        return self.outcome in (QuotaOutcome.WITHIN_LIMITS, QuotaOutcome.SINGLE_ITEM_FULL_TAX)

    @property
    def full_tax(self) -> bool:
        return self.outcome is QuotaOutcome.SINGLE_ITEM_FULL_TAX

    @property
    def return_status(self) -> int | None:
        if self.outcome is QuotaOutcome.OVER_SINGLE_LIMIT:
            return OVER_SINGLE_LIMIT
        if self.outcome is QuotaOutcome.OVER_ANNUAL_LIMIT:
            return OVER_ANNUAL_LIMIT
        return None

    @property
    def used_after(self) -> Decimal:
        return self.used + self.amount if self.admitted else self.used


def check_quota(
    *,
    year: int,
    used: Decimal,
    amount: Decimal,
    single_item: bool,
    limits: QuotaLimits = DEFAULT_LIMITS,
) -> QuotaCheck:
    """Decide one declaration of `amount` for a buyer who has used `used` in `year`.

    Order of the rules: over the single limit with several items → -621005 (decided without the
    buyer's history); then used + amount over the annual limit → -621018; then a single
    indivisible item over the single limit → admitted, taxed in full; else admitted. Both limits
    are inclusive: exactly 5,000 and a total of exactly 26,000 are admitted.
    """
    if isinstance(year, bool) or not isinstance(year, int):
        raise TypeError(f"year must be an int, not {type(year).__name__}")
    require_decimal("used", used)
    require_decimal("amount", amount)
    if not isinstance(single_item, bool):
        raise TypeError(f"single_item must be a bool, not {type(single_item).__name__}")
    total = used + amount
    over_single = amount > limits.single_transaction
    if over_single and not single_item:
        outcome = QuotaOutcome.OVER_SINGLE_LIMIT
        message = (
            f"订购人购买商品超过单次交易限值 / the declaration's dutiable value {cny(amount)} "
            f"exceeds the single-transaction limit {cny(limits.single_transaction)} and is not "
            f"a single indivisible item ({OVER_SINGLE_LIMIT})"
        )
    elif total > limits.annual:
        outcome = QuotaOutcome.OVER_ANNUAL_LIMIT
        message = (
            f"订购人年度购买超过年度交易限值 / the buyer's {year} total {cny(used)} + this "
            f"declaration {cny(amount)} = {cny(total)} exceeds the annual limit "
            f"{cny(limits.annual)} ({OVER_ANNUAL_LIMIT})"
        )
    elif over_single:
        outcome = QuotaOutcome.SINGLE_ITEM_FULL_TAX
        message = (
            f"single indivisible item of {cny(amount)} over the single-transaction limit "
            f"{cny(limits.single_transaction)}: admitted and taxed in full; the buyer's {year} "
            f"total becomes {cny(total)} of {cny(limits.annual)}"
        )
    else:
        outcome = QuotaOutcome.WITHIN_LIMITS
        message = (
            f"within limits: {cny(amount)} <= {cny(limits.single_transaction)}; the buyer's "
            f"{year} total becomes {cny(total)} of {cny(limits.annual)}"
        )
    return QuotaCheck(outcome, year, used, amount, limits, message)


def restore_quota(*, used: Decimal, amount: Decimal) -> Decimal:
    """The buyer's total after a cancelled (CEB623) or returned (CEB625) declaration.

    `amount` is what that declaration had added (for a partial return, the returned lines'
    share, computed by the caller). The total never goes below zero.
    """
    require_decimal("used", used)
    require_decimal("amount", amount)
    return max(used - amount, Decimal("0"))


def quota_year(declared_at: datetime) -> int:
    """The calendar year a declaration counts in: its declaration time's year in China time."""
    if declared_at.tzinfo is None or declared_at.utcoffset() is None:
        raise ValueError("declared_at must be timezone-aware (the year is decided in China time)")
    return declared_at.astimezone(CHINA_TIME).year
