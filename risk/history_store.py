"""Risk's own history of the declarations it assessed: what the rules count, and the samples the
reference unit prices are learned from.

Counts go by event time (the `occurred_at` of the customs event), never the wall clock, so a
replay scores as the first run did. Unit prices are kept per reference key (HS level, code,
origin) in a bounded uniform sample (reservoir sampling, Algorithm R): the first
`RESERVOIR_SIZE` prices fill it, each later one replaces a slot with probability size/seen. The
draw is a hash of the declaration, line and key, so a redelivery or a replay draws the same.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, distinct, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlmodel import col

from risk.db import DeclarationRecord, PriceReservoir, PriceSample
from risk.domain.history import History
from risk.domain.prices import PriceReference, reference_keys, robust_reference
from risk.domain.ruleset import RuleSet
from schemas.events import DeclarationReadyV1

RESERVOIR_SIZE = 200


def history_of(
    session: Session, declaration: DeclarationReadyV1, *, at: datetime, rules: RuleSet
) -> History:
    """What risk's records say about a declaration's parties and goods, up to `at`."""
    record = DeclarationRecord
    buyer = col(record.buyer_key) == declaration.buyer_key
    since = _between(at - timedelta(days=rules.shared_contact_window_days), at)
    return History(
        enterprise_declarations=_any(session, col(record.ebc_code) == declaration.ebc_code),
        platform_declarations=_any(session, col(record.ebp_code) == declaration.ebp_code),
        buyer_last_day=_count(session, buyer, _between(at - timedelta(days=1), at)),
        buyer_last_week=_count(session, buyer, _between(at - timedelta(days=7), at)),
        phone_other_buyers=_other_buyers(
            session, col(record.phone_key), declaration.phone_key, declaration.buyer_key, since
        ),
        address_other_buyers=_other_buyers(
            session, col(record.address_key), declaration.address_key, declaration.buyer_key, since
        ),
        prices=references(session, declaration),
    )


def remember(session: Session, declaration: DeclarationReadyV1, *, at: datetime) -> None:
    """Add an assessed declaration to the history: its parties and its lines' unit prices."""
    session.add(
        DeclarationRecord(
            declaration_id=str(declaration.declaration_id),
            ebp_code=declaration.ebp_code,
            ebc_code=declaration.ebc_code,
            buyer_key=declaration.buyer_key,
            phone_key=declaration.phone_key,
            address_key=declaration.address_key,
            declared_at=at,
        )
    )
    offers = sorted(
        (key, line.gnum, line.unit_price)
        for line in declaration.lines
        for key in reference_keys(line.gcode, line.country)
    )
    # in key order, so two workers offering to the same keys lock their rows in the same order
    for key, gnum, price in offers:
        offer_price(session, key, price, declaration_id=str(declaration.declaration_id), gnum=gnum)


def references(session: Session, declaration: DeclarationReadyV1) -> dict[str, PriceReference]:
    """The reference unit price of every key the declaration's lines may be compared with."""
    keys = {key for line in declaration.lines for key in reference_keys(line.gcode, line.country)}
    prices: dict[str, list[Decimal]] = defaultdict(list)
    rows = session.execute(
        select(col(PriceSample.key), col(PriceSample.unit_price)).where(
            col(PriceSample.key).in_(sorted(keys))
        )
    )
    for key, price in rows:
        prices[key].append(price)
    found = {key: robust_reference(values) for key, values in prices.items()}
    return {key: reference for key, reference in found.items() if reference is not None}


def _between(start: datetime, end: datetime) -> ColumnElement[bool]:
    # (start, end]: a declaration exactly one day earlier is out of the last 24 hours
    declared_at = col(DeclarationRecord.declared_at)
    return (declared_at > start) & (declared_at <= end)


def _any(session: Session, condition: ColumnElement[bool]) -> int:
    """1 when some record meets the condition, else 0 (a seller is new or it is not)."""
    found = session.execute(
        select(col(DeclarationRecord.declaration_id)).where(condition).limit(1)
    ).first()
    return 0 if found is None else 1


def _count(session: Session, *conditions: ColumnElement[bool]) -> int:
    return session.execute(
        select(func.count()).select_from(DeclarationRecord).where(*conditions)
    ).scalar_one()


def _other_buyers(
    session: Session, column: Any, key: str | None, buyer_key: str, window: ColumnElement[bool]
) -> int:
    """Buyers other than this one seen with the same phone or address key in the window."""
    if key is None:
        return 0
    return session.execute(
        select(func.count(distinct(col(DeclarationRecord.buyer_key)))).where(
            column == key, col(DeclarationRecord.buyer_key) != buyer_key, window
        )
    ).scalar_one()


def offer_price(
    session: Session,
    key: str,
    price: Decimal,
    *,
    declaration_id: str,
    gnum: int,
    size: int = RESERVOIR_SIZE,
) -> None:
    """Offer one line's unit price to a key's bounded sample (kept with probability size/seen)."""
    dialect = session.get_bind().dialect.name
    ensure = (pg_insert if dialect == "postgresql" else sqlite_insert)(PriceReservoir).values(
        key=key, seen=0
    )
    session.execute(ensure.on_conflict_do_nothing())
    # One UPDATE counts the offer and returns the count, so two workers never share a slot.
    seen = session.execute(
        update(PriceReservoir)
        .where(col(PriceReservoir.key) == key)
        .values(seen=col(PriceReservoir.seen) + 1)
        .returning(col(PriceReservoir.seen))
    ).scalar_one()
    if seen <= size:
        session.execute(
            insert(PriceSample).values(
                key=key, slot=seen - 1, unit_price=price, declaration_id=declaration_id
            )
        )
        return
    slot = _draw(f"{declaration_id}:{gnum}:{key}") % seen
    if slot < size:
        session.execute(
            update(PriceSample)
            .where(col(PriceSample.key) == key, col(PriceSample.slot) == slot)
            .values(unit_price=price, declaration_id=declaration_id)
        )


def _draw(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
