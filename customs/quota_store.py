"""Buyer quotas in the database: consumed and restored atomically, exactly."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

from sqlalchemy import CursorResult, insert, update
from sqlalchemy.orm import Session
from sqlmodel import col

from clearway.database import insert_or_ignore
from customs.db import BuyerQuota, QuotaUse

UNIT = Decimal("0.00001")
_ENSURE = insert_or_ignore(BuyerQuota.__table__)  # type: ignore[attr-defined]


def to_units(amount: Decimal) -> int:
    """CNY as an integer count of 0.00001 (the precision of N19,5)."""
    units = amount / UNIT
    if units != units.to_integral_value():
        raise ValueError(f"{amount} has more than 5 decimal places")
    return int(units)


def from_units(units: int) -> Decimal:
    """An integer count of 0.00001 CNY as a Decimal amount."""
    return (Decimal(units) * UNIT).quantize(UNIT)


def used(session: Session, *, buyer_key: str, year: int) -> Decimal:
    """What the buyer has used of this year's quota."""
    row = session.get(BuyerQuota, (buyer_key, year))
    return from_units(row.used_units) if row is not None else Decimal("0.00000")


def consume(
    session: Session,
    *,
    declaration_id: str,
    buyer_key: str,
    year: int,
    amount: Decimal,
    annual_limit: Decimal,
) -> bool:
    """Add `amount` to the buyer's year if it stays within the limit; False if it does not.

    One conditional UPDATE does the check and the addition, so two declarations for the same
    buyer committed at the same moment can never both pass the limit (the row lock serialises
    them on PostgreSQL; SQLite has a single writer).
    """
    units, limit = to_units(amount), to_units(annual_limit)
    session.execute(
        _ENSURE[session.get_bind().dialect.name],
        {"buyer_key": buyer_key, "year": year, "used_units": 0},
    )
    taken = cast(
        "CursorResult[Any]",
        session.execute(
            update(BuyerQuota)
            .where(
                col(BuyerQuota.buyer_key) == buyer_key,
                col(BuyerQuota.year) == year,
                col(BuyerQuota.used_units) + units <= limit,
            )
            .values(used_units=col(BuyerQuota.used_units) + units)
        ),
    )
    if taken.rowcount != 1:
        return False
    session.execute(
        insert(QuotaUse).values(
            declaration_id=declaration_id,
            buyer_key=buyer_key,
            year=year,
            amount_units=units,
            restored_units=0,
        )
    )
    return True


def restore(session: Session, *, declaration_id: str, amount: Decimal | None = None) -> Decimal:
    """Give back what a declaration took, all of it (cancellation, rejection) or `amount` of it
    (a partial return); never more than it took in total."""
    use = session.get(QuotaUse, declaration_id, with_for_update=True)
    if use is None:
        return Decimal("0.00000")
    left = use.amount_units - use.restored_units
    units = left if amount is None else min(left, to_units(amount.quantize(UNIT)))
    if units <= 0:
        return Decimal("0.00000")
    session.execute(
        update(BuyerQuota)
        .where(col(BuyerQuota.buyer_key) == use.buyer_key, col(BuyerQuota.year) == use.year)
        .values(used_units=col(BuyerQuota.used_units) - units)
    )
    use.restored_units += units
    return from_units(units)
